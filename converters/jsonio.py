"""JSON in and out (orjson: about 5x faster than the standard library on 50,000-participant responses)."""

from __future__ import annotations

import os
from typing import Any

import orjson

from .atomic import write_bytes
from .errors import InputError


def loads(data: bytes | str, source: str = "JSON") -> Any:
    """JSON from ``data``; a one-line InputError naming ``source``, the line and the column when it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        line = text.count("\n", 0, exc.pos) + 1
        col = exc.pos - (text.rfind("\n", 0, exc.pos) + 1) + 1
        reason = exc.msg.split(":")[0] if exc.msg else "invalid JSON"
        raise InputError(f"line {line}, column {col}: malformed JSON ({reason}); fix the file or re-download it",
                         file=source) from None


def load_bytes(path: str | os.PathLike, data: bytes | None = None) -> bytes:
    """A JSON file's bytes (``data``: already read, e.g. decompressed), without a BOM; refuses an empty
    or unreadable file with a one-line error."""
    if data is None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise InputError("file not found", file=str(path)) from None
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", file=str(path)) from None
    if not data.strip():
        raise InputError("the file is empty; expected RaceEntry JSON", file=str(path))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data


def load_file(path: str | os.PathLike) -> Any:
    """The JSON in the file at ``path`` (:func:`loads`)."""
    return loads(load_bytes(path), str(path))


def dumps(obj: Any, pretty: bool = True) -> bytes:
    """``obj`` as JSON bytes (indented, with a final newline, unless ``pretty`` is false)."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if pretty else 0) + (b"\n" if pretty else b"")


def save_file(path: str | os.PathLike, obj: Any, pretty: bool = True) -> None:
    """``obj`` written as JSON to ``path``, atomically."""
    write_bytes(path, dumps(obj, pretty))
