"""Atomic file writes: temp file in the same folder, flush and fsync, then rename.

A timing program polling the output never sees a half-written file: it sees the old file or the new one.
On Windows a program holding the target open makes the rename fail with PermissionError; we retry with
backoff, then fail loudly, leaving the previous file in place (and the temp file removed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from .errors import TimersyncError

RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb", backup: bool = False,
                  encoding: str | None = None, newline: str | None = None, private: bool = False) -> Iterator[IO]:
    """Open a temp file beside ``path``; on clean exit it replaces ``path``, on error it is removed.

    ``backup=True`` keeps the previous version as ``path + ".bak"``. The file gets the usual permissions
    (0666 less the umask), or 0600 from the start with ``private=True`` (credentials).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise TimersyncError(f"{target}: folder {folder} does not exist; create it or choose another output")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise TimersyncError(f"{target}: cannot write in {folder} ({exc.strerror}); check the folder's permissions")
    ok = False
    try:
        if os.name != "nt":
            # mkstemp makes 0600 files; a timing file must be as readable as any file the user saves
            # (another account, a file share). Only credentials are private (state.save_credentials).
            os.fchmod(fd, 0o600 if private else 0o666 & ~_umask())
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if backup and target.exists():
            shutil.copy2(target, str(target) + ".bak")
        _replace(tmp, target)
        ok = True
    finally:
        if not ok:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(tmp: str, target: Path, sleep: Callable[[float], None] = time.sleep) -> None:
    for delay in RETRY_DELAYS + (None,):
        try:
            os.replace(tmp, target)
            return
        except PermissionError as exc:
            if delay is None:
                raise TimersyncError(f"{target}: could not replace the file ({exc.strerror}); close it in the "
                                     f"program holding it open and run again (the previous version is untouched)")
            sleep(delay)


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read a megabyte at a time."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_bytes(path: str | os.PathLike, data: bytes, backup: bool = False, private: bool = False) -> None:
    """Write ``data`` to ``path`` atomically (:func:`write_pieces`: a temporary file beside it, then a rename)."""
    write_pieces(path, (data,), backup=backup, private=private)


def write_pieces(path: str | os.PathLike, pieces: Iterable[bytes], backup: bool = False,
                 private: bool = False) -> None:
    """Write ``pieces`` one after the other, atomically (a streamed answer: never all in memory at once)."""
    with atomic_writer(path, "wb", backup=backup, private=private) as fh:
        for piece in pieces:
            fh.write(piece)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", backup: bool = False) -> None:
    """Write ``text`` to ``path`` atomically, encoded as ``encoding``."""
    write_bytes(path, text.encode(encoding), backup=backup)
