"""The drop folder's files: which ones in ``in/`` are inputs, when one has settled (complete, and its size
and mtime unchanged for ``settle_seconds``), the processed-journal that makes every input count once, the
names a file may take, and its move to ``done/`` or ``failed/`` (with ``<name>.error.txt`` beside it)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import orjson

from ..atomic import write_bytes, write_text
from ..errors import CutShort, TimersyncError
from ..files.reader import check_complete
from .watch_config import WatchConfig

LOG = logging.getLogger("timersync.watch")

JOURNAL = ".timersync-watch.jsonl"
WORK = ".timersync-work"  # FOLDER/.timersync-work/: a dropped file under a name every step can use
NAME_ROOM = 255  # bytes a file name may have (ext4, NTFS, APFS)
MOVE_ROOM = NAME_ROOM - 45  # a name in done/ or failed/ leaves room for a time stamp, .error.txt and a temp name
_IGNORED_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".lock", "~")
_IGNORED_NAMES = {"thumbs.db", "desktop.ini"}
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


# ----------------------------------------------------------------------------------------- journal

class Journal:
    """``.timersync-watch.jsonl``: one JSON object per processed input, keyed by name+size+mtime+sha256.
    Rewritten atomically on every entry (readers never see a torn line; a torn line is skipped anyway)."""

    def __init__(self, path: Path):
        self.path = path
        self.lines: list[bytes] = []
        self.entries: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_bytes().splitlines():
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and entry.get("key"):
                    self.lines.append(line)
                    self.entries[entry["key"]] = entry

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry of an input processed before (name|size|mtime_ns|sha256), or None."""
        return self.entries.get(key)

    def add(self, entry: dict[str, Any]) -> None:
        """Record an input's outcome (before the input is moved)."""
        line = orjson.dumps(entry)
        write_bytes(self.path, b"\n".join(self.lines + [line]) + b"\n")
        self.lines.append(line)
        self.entries[entry["key"]] = entry


# ------------------------------------------------------------------------------------------- names

def is_ignored(name: str) -> bool:
    """Hidden files, Office lock files (~$x) and temp/partial files are never inputs."""
    low = name.lower()
    return (name.startswith(".") or name.startswith("~") or low in _IGNORED_NAMES
            or low.endswith(_IGNORED_SUFFIXES))


def free_name(folder: Path, name: str, stamp: float | None = None) -> Path:
    """``folder/name``, or ``name`` with a timestamp suffix (and a counter) when that is taken."""
    target = folder / name
    if not target.exists() and not (folder / f"{name}.error.txt").exists():
        return target
    p = Path(name)
    ts = time.strftime("%Y%m%d-%H%M%S", time.localtime(stamp or time.time()))
    n = 1
    while True:
        candidate = folder / f"{p.stem}.{ts}{'-' + str(n) if n > 1 else ''}{p.suffix}"
        if not candidate.exists():
            return candidate
        n += 1


def shown(name: str) -> str:
    """A file name as text that prints, logs and goes into JSON: bytes that are not UTF-8 as ``\\xNN``,
    control characters as ``?``."""
    return _UNPRINTABLE.sub("?", os.fsencode(name).decode("utf-8", "backslashreplace"))


def usable_name(name: str, room: int) -> str:
    """``name`` as a name every step can use: UTF-8 without control characters (others become ``_``) and at
    most ``room`` bytes (a cut name keeps its extension and gets ``~`` and 8 hex digits of the whole name,
    so two long names never become one)."""
    raw = os.fsencode(name)
    text = _UNPRINTABLE.sub("_", raw.decode("utf-8", "replace").replace("\ufffd", "_"))
    if len(text.encode()) <= room:
        return text
    suffix = Path(text).suffix if len(Path(text).suffix.encode()) <= 16 else ""
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    stem = text[: len(text) - len(suffix)].encode()[: room - len(tag) - len(suffix.encode())]
    return stem.decode("utf-8", "ignore") + tag + suffix


# ------------------------------------------------------------------------------------ in and out

def candidates(inbox: Path) -> list[Path]:
    """The inputs in ``inbox``, by name: plain files that are not ignored (:func:`is_ignored`)."""
    try:
        entries = sorted(os.scandir(inbox), key=lambda e: e.name)
    except OSError as exc:
        LOG.warning("cannot list %s: %s", inbox, exc)
        return []
    return [Path(e.path) for e in entries if not is_ignored(e.name) and e.is_file(follow_symlinks=False)]


def work_path(config: WatchConfig, path: Path) -> Path:
    """The dropped file under a name every step can use (``usable_name``, room left for the outputs'
    names made from it): ``path`` itself, or a link to it (a copy where links fail) in ``.timersync-work/``."""
    longest = max([len(o.file.encode()) for o in config.outputs] + [len("plan")])
    name = usable_name(path.name, min(MOVE_ROOM, NAME_ROOM - 16 - longest))
    if name == path.name:
        return path
    work = config.folder / WORK
    work.mkdir(exist_ok=True)
    target = work / name
    target.unlink(missing_ok=True)
    try:
        os.link(path, target)
    except OSError:
        shutil.copy2(path, target)
    return target


def move_input(config: WatchConfig, path: Path, ok: bool, message: str, details: str) -> Path:
    """Move a processed input to ``done/`` (``ok``) or ``failed/``, under a free name; a failed one gets
    ``<name>.error.txt`` saying why and what to do. Returns where it now lies."""
    folder = config.done if ok else config.failed
    target = free_name(folder, usable_name(path.name, MOVE_ROOM)
                       if len(os.fsencode(path.name)) > MOVE_ROOM else path.name)
    if not ok:
        text = (f"{shown(message)}\n\n"
                f"File: {shown(path.name)}\nWhat to do: fix the file and drop it into in/ again.\n"
                f"Config: {config.path}\n")
        if details:
            text += f"\nDetails:\n{details}"
        write_text(folder / f"{target.name}.error.txt", text)
    os.replace(path, target)
    return target


# -------------------------------------------------------------------------------------- settling

class Arrivals:
    """Files arriving in ``in/``: each one's size and mtime when last seen changing, and those that still
    look cut short, so a file is taken only when it has settled and is complete."""

    def __init__(self, config: WatchConfig, report: Callable[[str], None]):
        self.config = config
        self.report = report
        self.seen: dict[str, tuple[int, int, float]] = {}
        self.incomplete: dict[str, float] = {}  # name -> when it was first found incomplete

    def settled(self, path: Path, now: float) -> bool:
        """True when ``path`` has kept its size and mtime for ``settle`` seconds and does not look cut
        short (or has looked so for ``incomplete_timeout``); a file that vanished is not settled."""
        name = path.name
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        sig = (st.st_size, st.st_mtime_ns)
        seen = self.seen.get(name)
        if seen is None or seen[:2] != sig:
            self.seen[name] = (sig[0], sig[1], now)
            self.incomplete.pop(name, None)  # still growing: the copy is under way
            return False
        if now - seen[2] < self.config.settle:
            return False
        return not self.still_incomplete(path, now)

    def still_incomplete(self, path: Path, now: float) -> bool:
        """True while a settled file still looks cut short (a copy paused, not finished) and has not been
        so for ``incomplete_timeout``; after that it is processed, and fails saying it looks cut short."""
        try:
            check_complete(path)
        except CutShort as exc:
            first = self.incomplete.setdefault(path.name, now)
            if now - first < self.config.incomplete_timeout:
                if first == now:
                    self.report(f"{shown(path.name)}: waiting, {str(exc).replace(str(path), shown(path.name))}")
                return True
        except (TimersyncError, OSError):
            pass  # other problems are reported when the file is processed
        self.incomplete.pop(path.name, None)
        return False

    def forget(self, name: str) -> None:
        """``name`` was processed: a file of that name dropped later starts settling afresh."""
        self.seen.pop(name, None)

    def keep_only(self, present: Iterable[str]) -> None:
        """Forget files no longer in ``in/``."""
        here = set(present)
        for name in list(self.seen):
            if name not in here:
                del self.seen[name]

    def waiting(self) -> int:
        """Files seen but not yet taken: settling, or still incomplete."""
        return len(self.seen) + len(self.incomplete)
