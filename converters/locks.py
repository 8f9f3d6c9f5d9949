"""Cross-process locks: one push per server and race at a time, one watcher per drop folder.

``filelock`` gives an OS lock (fcntl/msvcrt) that dies with its process: a push killed with ``kill -9``
never leaves a stale lock behind. Beside each lock a small JSON file says who holds it (pid, since when,
what), so the one who waits is told exactly that.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator

import orjson
from filelock import FileLock, Timeout

from . import state
from .errors import TimersyncError

PUSH_WAIT = 60.0  # seconds a second push waits for the first before refusing


class Busy(TimersyncError):
    """Someone else holds the lock."""


def _holder(info: Path) -> str:
    try:
        data = orjson.loads(info.read_bytes())
        since = time.strftime("%H:%M", time.localtime(float(data["since"])))
        return f"pid {data['pid']} since {since}"
    except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return "another process"


@contextlib.contextmanager
def hold(path: Path, wait: float, busy: str, what: str) -> Iterator[None]:
    """Hold the lock at ``path``, waiting up to ``wait`` seconds; ``busy`` is the refusal, formatted with
    ``{holder}`` ("pid 123 since 10:42")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = path.with_name(path.name + ".json")
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=max(0.0, wait))
    except Timeout:
        raise Busy(busy.format(holder=_holder(info))) from None
    try:
        info.write_bytes(orjson.dumps({"pid": os.getpid(), "since": time.time(), "what": what}))
        yield
    finally:
        with contextlib.suppress(OSError):
            info.unlink()
        lock.release()


def push_lock(base_url: str, race_id: int, wait: float = PUSH_WAIT) -> contextlib.AbstractContextManager[None]:
    """One push per server and race: a second waits up to ``wait`` seconds, then refuses."""
    path = state.subdir("locks") / f"push-{state.server_slug(base_url)}-race-{race_id}.lock"
    return hold(path, wait, f"race {race_id} is being pushed by {{holder}}; nothing was sent: wait for that "
                            f"push to finish and run this one again", f"push race {race_id}")


def watch_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """One watcher per drop folder (refused at once)."""
    return hold(folder / ".timersync-watch.lock", 0, f"{folder} is already watched by {{holder}}; stop that "
                                                     f"watcher first (one watcher per folder)", "watch")
