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
from typing import Callable, Iterator

import orjson
from filelock import FileLock, Timeout

from . import state
from .errors import TimersyncError

PUSH_WAIT = 60.0  # seconds a second push waits for the first before refusing


class Busy(TimersyncError):
    """Someone else holds the lock."""


def _holder_info(info: Path) -> tuple[str, str | None]:
    """(who holds the lock: "pid 4242", when they took it: "10:42" or None)."""
    try:
        data = orjson.loads(info.read_bytes())
        return f"pid {data['pid']}", time.strftime("%H:%M", time.localtime(float(data["since"])))
    except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return "another process", None


def _holder(info: Path) -> str:
    who, since = _holder_info(info)
    return f"{who} since {since}" if since else who


WAIT_POLL = 0.5  # seconds between tries while waiting for a lock (and redraws of the waiting line)


@contextlib.contextmanager
def hold(path: Path, wait: float, busy: str, what: str,
         waiting: Callable[[str, str | None, float], None] | None = None) -> Iterator[None]:
    """Hold the lock at ``path``, waiting up to ``wait`` seconds; ``busy`` is the refusal, formatted with
    ``{holder}`` ("pid 123 since 10:42"). While it waits, ``waiting(holder, since, seconds_left)`` is
    called at once and then every WAIT_POLL seconds ("pid 123", "10:42" or None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    info = path.with_name(path.name + ".json")
    lock = FileLock(str(path))
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        try:
            lock.acquire(timeout=0 if waiting is not None else max(0.0, wait))
            break
        except Timeout:
            left = deadline - time.monotonic()
            if left <= 0 or waiting is None:
                raise Busy(busy.format(holder=_holder(info))) from None
            waiting(*_holder_info(info), left)
            with contextlib.suppress(Timeout):
                lock.acquire(timeout=min(WAIT_POLL, left))
                break
    try:
        info.write_bytes(orjson.dumps({"pid": os.getpid(), "since": time.time(), "what": what}))
        yield
    finally:
        with contextlib.suppress(OSError):
            info.unlink()
        lock.release()


def push_lock(base_url: str, race_id: int, wait: float = PUSH_WAIT,
              say: Callable[[str], None] | None = None) -> contextlib.AbstractContextManager[None]:
    """One push per server and race: a second waits up to ``wait`` seconds, then refuses. ``say`` is told
    at once that it waits, and for whom ("waiting for the push by pid 4242 (since 10:42), up to 60 s");
    a live line on the terminal then counts down."""
    from . import progress

    told: list[bool] = []

    def waiting(who: str, since: str | None, left: float) -> None:
        holder = f"the push by {who}{f' (since {since})' if since else ''}"
        if not told:
            told.append(True)
            if say is not None:
                say(f"waiting for {holder}, up to {wait:.0f} s")
        progress.say(f"waiting for {holder}: {left:.0f} s left (Ctrl-C stops; nothing sent)", force=True)

    path = state.subdir("locks") / f"push-{state.server_slug(base_url)}-race-{race_id}.lock"
    return hold(path, wait, f"race {race_id} is being pushed by {{holder}}; nothing was sent: wait for that "
                            f"push to finish and run this one again", f"push race {race_id}", waiting)


def watch_lock(folder: Path) -> contextlib.AbstractContextManager[None]:
    """One watcher per drop folder (refused at once)."""
    return hold(folder / ".timersync-watch.lock", 0, f"{folder} is already watched by {{holder}}; stop that "
                                                     f"watcher first (one watcher per folder)", "watch")
