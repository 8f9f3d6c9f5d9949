"""A base on disk: the participants answer a file was written from, kept as JSON (gzip) beside the file
(:mod:`converters.plan.binding`) and among the race's written versions (:mod:`converters.plan.versions`). Written
in pieces, so the base of a 50,000-runner race is never one 55 MB string; read back as bytes for the
typed decoder.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, Iterable

import orjson

from ..errors import InputError
from ..jsonio import load_bytes
from ..model.answers import Answer

GZIP_LEVEL = 3  # 55 MB of JSON: level 3 is ~2x faster than the default 9 for ~10% more bytes


def json_pieces(data: Any, rows_per_piece: int = 1000) -> Iterable[bytes]:
    """``data`` as JSON in pieces: a participants answer (groups of rows) a thousand rows at a time, so
    the base of a 50,000-runner race is never one 55 MB string; anything else in one piece. A typed
    :class:`~converters.model.answers.Answer` gives its rows' exact bytes; bytes are written as they are."""
    if isinstance(data, Answer):
        yield from data.pieces(rows_per_piece)
        return
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield data
        return
    if not isinstance(data, list) or not all(isinstance(g, dict) for g in data):
        yield orjson.dumps(data)
        return
    yield b"["
    for i, group in enumerate(data):
        rows = group.get("participants")
        head = {k: v for k, v in group.items() if k != "participants"}
        if not isinstance(rows, list):
            yield (b"," if i else b"") + orjson.dumps(group)
            continue
        yield (b"," if i else b"") + orjson.dumps(head)[:-1] + (b',' if head else b"") + b'"participants":['
        for start in range(0, len(rows), rows_per_piece):
            chunk = rows[start:start + rows_per_piece]
            yield (b"," if start else b"") + b",".join(orjson.dumps(r) for r in chunk)
        yield b"]}"
    yield b"]"


def load_base_file(path: str | Path) -> bytes:
    """A base's JSON bytes: ``base.json.gz`` or any saved participants answer (``.json``, as earlier
    snapshots). The typed decoder (:func:`converters.model.answers.decode_participants`) reads them."""
    path = Path(path)
    if path.suffix != ".gz":
        return load_bytes(path)
    try:
        data = gzip.decompress(load_bytes(path))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"the copy of RaceEntry kept from the pull is damaged ({exc}); pull the file again",
                         file=str(path)) from None
    return load_bytes(path, data)
