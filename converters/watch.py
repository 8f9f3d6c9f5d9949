"""The drop folder (race-day mode).

Layout of a watched folder::

    FOLDER/timersync.toml          the config (race_id, api_url, push, sync_every, poll, encoding, [[outputs]])
    FOLDER/in/                     drop files here
    FOLDER/out/                    results: converted files, <stem>.plan/ folders, synced files
    FOLDER/done/                   inputs processed (a timestamp suffix when the name is taken)
    FOLDER/failed/                 inputs that could not be processed, with <name>.error.txt beside them
    FOLDER/.timersync-watch.jsonl  the processed-journal

Rules:

* A participants ``.json`` becomes every configured output in ``out/``, named ``<json stem>.<file>``
  (``race.json`` with ``file = "raceresult.xlsx"`` gives ``out/race.raceresult.xlsx``), with its
  binding in ``out/.timersync/``. The synced files (``sync_every``) keep the plain
  configured names, so a dropped JSON never overwrites them.
* A ``.csv``/``.txt``/``.xlsx`` is read with a profile chosen by, in order: a ``<profile>__name.ext``
  prefix (``runscore__edits.csv``), the ``[[outputs]]`` entry with the same file name, the only entry with
  the same extension. It is diffed against RaceEntry (three-way against the binding of the output of that
  name, ``out/.timersync/<file>/``) and the plan written to ``out/<stem>.plan/``; with ``push = true`` it
  is pushed too, with push's lock: one push per race at a time.
* A file is taken only when it is complete (:func:`converters.convert.check_complete`: no row short of
  cells, a line ending after the last row, a whole .xlsx) and its size and mtime have not changed for
  ``settle_seconds`` (2 s): a file still being copied is never read half-written. One still incomplete
  after ``incomplete_timeout`` (120 s) fails with the reason. Hidden (``.x``), Office lock (``~$x``) and temp/partial
  download files are ignored.
* Every input is processed once, also across restarts: the journal records name+size+mtime+sha256 and the
  outcome before the file is moved, so a crash between processing and moving only moves it later.
* Nothing is deleted. A bad file goes to ``failed/`` and the watcher carries on. When RaceEntry cannot be
  reached the file stays in ``in/`` and is tried again.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import threading
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from . import planfolder, planning, progress, push, racestate
from .answers import Answer, decode_participants, parse_participants, parse_teams
from .atomic import file_sha256, write_bytes, write_text
from .binding import bind, profile_ref
from .client import resolve_base_url
from .errors import (ApiError, ConnectionFailed, CutShort, InputError, ProfileError, SchemaError, ShapeError,
                     TimersyncError)
from .jsonio import load_bytes, loads
from .notices import group
from .planfolder import write_receipt
from .preview import Where
from .profiles import load_profile
from .races import with_events
from .reader import check_complete
from .summary import plural, summary_text
from .sync import Syncer, SyncOutput
from .writer import write_file

LOG = logging.getLogger("timersync.watch")

JOURNAL = ".timersync-watch.jsonl"
CONFIG = "timersync.toml"
SETTLE = 2.0
INCOMPLETE_TIMEOUT = 120.0  # seconds a file may stay incomplete (a slow copy) before it fails
TABLE_KINDS = ("csv", "txt", "xlsx")
_IGNORED_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".lock", "~")
_IGNORED_NAMES = {"thumbs.db", "desktop.ini"}
RETRY_UNREACHABLE = 30.0  # seconds before a file deferred because RaceEntry was unreachable is tried again


class ConfigError(TimersyncError):
    """A watch config that cannot be used; names the file and the key."""


# -------------------------------------------------------------------------------------------- config

@dataclass
class OutputSpec:
    profile_name: str
    file: str
    profile: Any

    @property
    def kind(self) -> str:
        return Path(self.file).suffix.lower().lstrip(".")


@dataclass
class WatchConfig:
    folder: Path
    path: Path
    race_id: int
    api_url: str
    outputs: list[OutputSpec]
    push: bool = False
    sync_every: float | None = None
    poll: bool = False
    settle: float = SETTLE
    scan_every: float = 1.0
    incomplete_timeout: float = INCOMPLETE_TIMEOUT
    lock_wait: float = 60.0  # seconds a push waits for another push of the race
    encoding: str | None = None  # of dropped CSV/TXT files (`encoding = "cp1253"`); None: detected
    two_way: bool = False  # a dropped file of unknown origin sends its edits too (as `push --two-way`)

    @property
    def inbox(self) -> Path:
        return self.folder / "in"

    @property
    def outbox(self) -> Path:
        return self.folder / "out"

    @property
    def done(self) -> Path:
        return self.folder / "done"

    @property
    def failed(self) -> Path:
        return self.folder / "failed"


def load_config(folder: str | os.PathLike, config_file: str | os.PathLike | None = None,
                poll: bool = False) -> WatchConfig:
    """Read and check the config, create ``in/ out/ done/ failed/`` and make sure the folder is writable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder; create it (with a {CONFIG}) or choose another")
    path = Path(config_file) if config_file else folder / CONFIG
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config not found; create it with at least race_id = ... and one "
                          f"[[outputs]] entry (profile, file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None
    known = {"race_id", "api_url", "push", "sync_every", "poll", "settle_seconds", "incomplete_timeout", "outputs",
             "encoding", "two_way"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(sorted(known))}")
    race_id = raw.get("race_id")
    if isinstance(race_id, str) and race_id.strip().isdigit():
        race_id = int(race_id)
    if not isinstance(race_id, int) or isinstance(race_id, bool):
        raise ConfigError(f"{path}: race_id must be the RaceEntry race id (a number), e.g. race_id = 2026")
    for key in ("push", "poll", "two_way"):
        if key in raw and not isinstance(raw[key], bool):
            raise ConfigError(f"{path}: {key} must be true or false")
    sync_every = raw.get("sync_every")
    if sync_every is not None and (not isinstance(sync_every, (int, float)) or isinstance(sync_every, bool)
                                   or sync_every < 1):
        raise ConfigError(f"{path}: sync_every must be a number of seconds (at least 1)")
    settle = raw.get("settle_seconds", SETTLE)
    if not isinstance(settle, (int, float)) or isinstance(settle, bool) or settle <= 0:
        raise ConfigError(f"{path}: settle_seconds must be a positive number of seconds")
    incomplete = raw.get("incomplete_timeout", INCOMPLETE_TIMEOUT)
    if not isinstance(incomplete, (int, float)) or isinstance(incomplete, bool) or incomplete < 0:
        raise ConfigError(f"{path}: incomplete_timeout must be a number of seconds (0 or more)")
    encoding = raw.get("encoding")
    if encoding is not None:
        if not isinstance(encoding, str) or not encoding.strip():
            raise ConfigError(f"{path}: encoding must be the name of a character set, e.g. encoding = \"cp1253\"")
        encoding = encoding.strip()
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"{path}: encoding {encoding!r} is not a character set Python knows; use e.g. "
                              f"\"utf-8\", \"cp1252\", \"shift_jis\", \"cp1253\" (Greek), or leave it out to "
                              f"detect it") from None
    entries = raw.get("outputs")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[outputs]]; add at least one with profile = \"...\" and file = \"...\"")
    outputs = []
    for i, entry in enumerate(entries, 1):
        where = f"{path}: [[outputs]] #{i}"
        if not isinstance(entry, dict) or not entry.get("profile") or not entry.get("file"):
            raise ConfigError(f"{where}: needs profile = \"...\" and file = \"...\"")
        name, file = str(entry["profile"]), str(entry["file"])
        if Path(file).name != file or file.startswith("."):
            raise ConfigError(f"{where}: file must be a plain file name (it goes in out/), not {file!r}")
        prof_ref: str | Path = name
        if name.endswith(".toml") and not Path(name).is_absolute():
            prof_ref = path.parent / name  # a user's profile next to the config
        try:
            profile = load_profile(prof_ref)
        except ProfileError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        kind = Path(file).suffix.lower().lstrip(".")
        if kind not in profile.kinds:
            raise ConfigError(f"{where}: profile {profile.name} writes {', '.join(profile.kinds)}, not "
                              f"{kind or 'a file without extension'} ({file})")
        outputs.append(OutputSpec(name, file, profile))
    api_url = resolve_base_url(raw.get("api_url"))
    config = WatchConfig(folder=folder, path=path, race_id=race_id, api_url=api_url, outputs=outputs,
                         push=bool(raw.get("push", False)), sync_every=float(sync_every) if sync_every else None,
                         poll=poll or bool(raw.get("poll", False)), settle=float(settle),
                         incomplete_timeout=float(incomplete), encoding=encoding,
                         two_way=bool(raw.get("two_way", False)))
    for sub in (config.inbox, config.outbox, config.done, config.failed):
        try:
            sub.mkdir(exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{sub}: cannot create the folder ({exc.strerror}); check permissions") from None
        probe = sub / f".timersync-probe-{os.getpid()}"
        try:
            write_bytes(probe, b"")
            probe.unlink()
        except (OSError, TimersyncError):
            raise ConfigError(f"{sub}: the folder is not writable; the watcher needs to write and move files "
                              f"there (check permissions or choose another folder)") from None
    return config


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
        return self.entries.get(key)

    def add(self, entry: dict[str, Any]) -> None:
        line = orjson.dumps(entry)
        write_bytes(self.path, b"\n".join(self.lines + [line]) + b"\n")
        self.lines.append(line)
        self.entries[entry["key"]] = entry


# ------------------------------------------------------------------------------------------ outcome

@dataclass
class Outcome:
    name: str
    status: str  # done, failed, deferred, skipped (already processed: only moved)
    message: str = ""
    outputs: list[str] = field(default_factory=list)
    moved_to: Path | None = None


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    synced: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def line(self) -> str:
        return (f"{self.count('done')} processed, {self.count('failed')} failed, "
                f"{self.count('skipped')} already processed, {self.count('deferred')} waiting for RaceEntry")


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


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
WORK = ".timersync-work"  # FOLDER/.timersync-work/: a dropped file under a name every step can use
NAME_ROOM = 255  # bytes a file name may have (ext4, NTFS, APFS)
MOVE_ROOM = NAME_ROOM - 45  # a name in done/ or failed/ leaves room for a time stamp, .error.txt and a temp name


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


# ------------------------------------------------------------------------------------------ watcher

class Watcher:
    """Processes the drop folder. ``run_once`` for scripts and tests; ``run_forever`` for race day."""

    def __init__(self, config: WatchConfig, client: Any = None, report: Callable[[str], None] = lambda s: None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        if client is None:
            from .client import RaceEntryClient

            client = RaceEntryClient(config.api_url)
        self.client = client
        self.report = report
        self.clock = clock
        self.sleep = sleep
        self.journal = Journal(config.folder / JOURNAL)
        self._seen: dict[str, tuple[int, int, float]] = {}
        self._deferred: dict[str, float] = {}
        self._incomplete: dict[str, float] = {}  # name -> when it was first found incomplete
        self._tally: dict[str, int] = {}  # outcome status -> files, for the live status line
        self._last = ""
        self._unsent: str | None = None  # the profile of a plan just written that push = false kept back
        self._context: dict[str, Any] | None = None
        self._syncer: Any = None
        self._next_sync = 0.0
        self._wake = threading.Event()
        self._observer: Any = None
        self._stopping = False

    # --------------------------------------------------------------------------------- start-up
    def start_checks(self) -> None:
        """The race must exist (an unknown race stops the watcher here). Unreachable: warn and go on."""
        try:
            self.context()
        except ConnectionFailed as exc:
            self.report(f"warning: RaceEntry not reachable now ({exc}); will retry when files arrive")
        except ApiError as exc:
            raise ConfigError(f"{self.config.path}: race_id = {self.config.race_id}: {exc}") from None

    def context(self) -> dict[str, Any]:
        """The race, teams and team types (fetched once)."""
        if self._context is None:
            race = self.client.race(self.config.race_id)
            teams = self.client.teams(self.config.race_id)
            team_types = racestate.optional_team_types(self.client, self.config.race_id)
            self._context = {"race": race, "teams": teams, "team_types": team_types}
        return self._context

    # ---------------------------------------------------------------------------------- scanning
    def candidates(self) -> list[Path]:
        try:
            entries = sorted(os.scandir(self.config.inbox), key=lambda e: e.name)
        except OSError as exc:
            LOG.warning("cannot list %s: %s", self.config.inbox, exc)
            return []
        return [Path(e.path) for e in entries if not is_ignored(e.name) and e.is_file(follow_symlinks=False)]

    def step(self) -> Summary:
        """One scan: note sizes and mtimes; process every file that has settled; return what happened."""
        summary = Summary()
        now = self.clock()
        present = set()
        for path in self.candidates():
            name = path.name
            present.add(name)
            if name in self._deferred and now < self._deferred[name]:
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            seen = self._seen.get(name)
            if seen is None or seen[:2] != sig:
                self._seen[name] = (sig[0], sig[1], now)
                self._incomplete.pop(name, None)  # still growing: the copy is under way
                continue
            if now - seen[2] < self.config.settle:
                continue
            if self._still_incomplete(path, now):
                continue
            try:
                outcome = self.process(path)
            except Exception as exc:  # noqa: BLE001 - e.g. failed/ not writable: say so, go on, retry later
                LOG.exception("%s", shown(name))
                outcome = Outcome(shown(name), "deferred", f"cannot process or move it ({type(exc).__name__}: "
                                  f"{shown(str(exc))}); trying again in {RETRY_UNREACHABLE:.0f} s")
                self.report(f"{outcome.name}: {outcome.message}")
            summary.outcomes.append(outcome)
            if outcome.status == "deferred":
                self._deferred[name] = now + RETRY_UNREACHABLE
            else:
                self._seen.pop(name, None)
                self._deferred.pop(name, None)
        for name in list(self._seen):
            if name not in present:
                del self._seen[name]
        return summary

    def _still_incomplete(self, path: Path, now: float) -> bool:
        """True while a settled file still looks cut short (a copy paused, not finished) and has not been
        so for ``incomplete_timeout``; after that it is processed, and fails saying it looks cut short."""
        try:
            check_complete(path)
        except CutShort as exc:
            first = self._incomplete.setdefault(path.name, now)
            if now - first < self.config.incomplete_timeout:
                if first == now:
                    self.report(f"{shown(path.name)}: waiting, {str(exc).replace(str(path), shown(path.name))}")
                return True
        except (TimersyncError, OSError):
            pass  # other problems are reported when the file is processed
        self._incomplete.pop(path.name, None)
        return False

    def pending(self) -> int:
        """Files in in/ not yet processed (deferred ones excluded)."""
        return sum(1 for p in self.candidates() if p.name not in self._deferred)

    def run_once(self, max_wait: float = 600.0) -> Summary:
        """Process everything in ``in/`` (waiting for files still being written), run one sync round when
        ``sync_every`` is set, then return."""
        total = Summary()
        start = self.clock()
        while True:
            s = self.step()
            total.outcomes += s.outcomes
            if not self.pending() or self.clock() - start > max_wait:
                break
            self.sleep(min(0.25, self.config.settle / 2))
        if self.config.sync_every:
            self._sync()
            total.synced += 1
        return total

    def run_forever(self) -> None:
        """Watch until KeyboardInterrupt: file-system events wake the scan; a periodic scan catches
        anything an event missed (and is all there is in poll mode)."""
        if not self.config.poll:
            self._start_observer()
        try:
            while not self._stopping:
                self.step()
                progress.say(self.status_line())
                if self.config.sync_every and self.clock() >= self._next_sync:
                    self._sync()
                # Files seen but not settled need another look soon; otherwise wait for an event.
                timeout = self.config.settle / 2 if self._seen else self.config.scan_every * (
                    1 if self.config.poll else 5)
                self._wake.wait(timeout)
                self._wake.clear()
        finally:
            self.stop()

    def status_line(self) -> str:
        """The live line: what was processed, what failed, and the last file."""
        waiting = len(self._seen) + len(self._incomplete)
        return (f"watching {self.config.inbox.name}/: {self._tally.get('done', 0)} done, "
                f"{self._tally.get('failed', 0)} failed" + (f", {waiting} arriving" if waiting else "")
                + f"; last: {self._last or 'nothing yet'} (Ctrl-C stops)")

    def request_stop(self) -> None:
        """Make ``run_forever`` return after the current step (from another thread or a signal handler)."""
        self._stopping = True
        self._wake.set()

    @property
    def observing(self) -> bool:
        """True when file-system events (watchdog) drive the scans."""
        return self._observer is not None

    def _start_observer(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            wake = self._wake

            class _Handler(FileSystemEventHandler):
                def on_any_event(self, event: Any) -> None:
                    wake.set()

            observer = Observer()
            observer.schedule(_Handler(), str(self.config.inbox), recursive=False)
            observer.start()
            self._observer = observer
        except Exception as exc:  # inotify limits, unsupported network file systems, ...
            LOG.warning("file-system events unavailable (%s); polling instead", exc)
            self.report(f"warning: file-system events unavailable ({exc}); polling {self.config.inbox} instead")
            self.config.poll = True

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._syncer is not None:
            self._syncer.close()
            self._syncer = None

    def _sync(self) -> None:
        self._next_sync = self.clock() + (self.config.sync_every or 0)
        try:
            if self._syncer is None:
                self._syncer = Syncer(self.client, self.config.race_id,
                                      [SyncOutput(o.profile, self.config.outbox / o.file) for o in self.config.outputs])
            result = self._syncer.run()
            self.report(f"sync: {result.status_line()}")
            for line in result.story():
                self.report(line)
        except TimersyncError as exc:
            self.report(f"sync: {exc}")
            LOG.warning("sync: %s", exc)

    # -------------------------------------------------------------------------------- processing
    def process(self, path: Path) -> Outcome:
        """Process one settled input exactly once and move it to done/ or failed/."""
        name = shown(path.name)  # as printed, logged and journaled (the file keeps its own bytes)
        try:
            st = path.stat()
            digest = file_sha256(path)
        except FileNotFoundError:
            return Outcome(name, "skipped", "vanished before it could be read")
        key = f"{name}|{st.st_size}|{st.st_mtime_ns}|{digest}"
        entry = self.journal.get(key)
        if entry is not None:
            # Processed before a crash or restart, but not moved: move it now, never process it again.
            outcome = Outcome(name, "skipped", f"already processed ({entry.get('status')}) at {entry.get('time')}")
            outcome.moved_to = self._move(path, entry.get("status") == "done", entry.get("message", ""),
                                          entry.get("details", ""))
            self.report(f"{name}: {outcome.message}; moved to {outcome.moved_to.parent.name}/")
            return outcome
        details = ""
        work = path
        self._unsent = None
        try:
            work = self._work_path(path)
            outputs = self._handle(work)
            status, message = "done", f"wrote {', '.join(outputs)}"
        except ConnectionFailed as exc:
            msg = f"RaceEntry not reachable ({exc}); left in in/, trying again in {RETRY_UNREACHABLE:.0f} s"
            self.report(f"{name}: {msg}")
            LOG.warning("%s: %s", name, msg)
            return Outcome(name, "deferred", msg)
        except TimersyncError as exc:
            status, message, outputs = "failed", str(exc), []
        except Exception as exc:  # the watcher must survive anything a file can do to it
            status, message, outputs = "failed", f"unexpected error: {type(exc).__name__}: {exc}", []
            details = traceback.format_exc()
        finally:
            if work != path:
                work.unlink(missing_ok=True)
        if work != path:  # messages name the file as it was dropped
            message, details = (m.replace(str(work), f"in/{name}").replace(work.name, name) for m in (message, details))
        message, details = shown(message), "\n".join(map(shown, details.split("\n")))
        self.journal.add({"key": key, "name": name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                          "sha256": digest, "status": status, "message": message, "details": details,
                          "outputs": outputs, "time": time.strftime("%Y-%m-%d %H:%M:%S")})
        outcome = Outcome(name, status, message, outputs)
        outcome.moved_to = self._move(path, status == "done", message, details)
        self._tally[status] = self._tally.get(status, 0) + 1
        self._last = f"{time.strftime('%H:%M:%S')} {name} {'ok' if status == 'done' else 'FAILED'}"
        LOG.info("%s: %s: %s", name, status, message)
        self.report(f"{name}: {'ok' if status == 'done' else 'FAILED'}: {message}")
        if status == "done" and self._unsent:
            self.report(self._how_to_send(outcome.moved_to))
        elif status == "failed":
            self.report(f"  nothing sent; {outcome.moved_to.parent.name}/{outcome.moved_to.name}.error.txt "
                        f"says what to fix; then drop it in in/ again")
        return outcome

    def _work_path(self, path: Path) -> Path:
        """The dropped file under a name every step can use (``usable_name``, room left for the outputs'
        names made from it): ``path`` itself, or a link to it (a copy where links fail) in ``.timersync-work/``."""
        longest = max([len(o.file.encode()) for o in self.config.outputs] + [len("plan")])
        name = usable_name(path.name, min(MOVE_ROOM, NAME_ROOM - 16 - longest))
        if name == path.name:
            return path
        work = self.config.folder / WORK
        work.mkdir(exist_ok=True)
        target = work / name
        target.unlink(missing_ok=True)
        try:
            os.link(path, target)
        except OSError:
            import shutil

            shutil.copy2(path, target)
        return target

    def _move(self, path: Path, ok: bool, message: str, details: str) -> Path:
        folder = self.config.done if ok else self.config.failed
        target = free_name(folder, usable_name(path.name, MOVE_ROOM)
                           if len(os.fsencode(path.name)) > MOVE_ROOM else path.name)
        if not ok:
            text = (f"{shown(message)}\n\n"
                    f"File: {shown(path.name)}\nWhat to do: fix the file and drop it into in/ again.\n"
                    f"Config: {self.config.path}\n")
            if details:
                text += f"\nDetails:\n{details}"
            write_text(folder / f"{target.name}.error.txt", text)
        os.replace(path, target)
        return target

    def _handle(self, path: Path) -> list[str]:
        kind = path.suffix.lower().lstrip(".")
        if kind == "json":
            return self._convert_json(path)
        if kind == "xlsx":
            from .xlsx import read_isolated

            read_isolated(path)  # a workbook that crashes a native reader crashes a child, not the watcher
        if kind in TABLE_KINDS:
            return self._plan_table(path)
        raise InputError(f"unsupported file type {path.suffix or '(no extension)'!r}; drop a participants "
                         f".json, or a .csv/.txt/.xlsx timing file", file=path.name)

    def _convert_json(self, path: Path) -> list[str]:
        raw = load_bytes(path)
        try:
            data: Any = decode_participants(raw, path.name)
            participants = data.participants
        except (SchemaError, ShapeError):  # not RaceEntry's exact shape: read it leniently, or say why not
            data = loads(raw, path.name)
            participants = None
        try:
            if participants is None:
                participants = parse_participants(data, path.name)
        except ShapeError as exc:
            raise ShapeError(f"{exc}; expected RaceEntry's participants response (a list of events with "
                             f"participants, as `timersync participants RACE --json` prints)") from None
        if not participants and not (data.groups if isinstance(data, Answer) else isinstance(data, list) and data):
            raise ShapeError(f"{path.name}: no participants in it; expected RaceEntry's participants response")
        try:
            context = self.context()
        except ConnectionFailed:
            context = {}  # convert offline: event names stay blank (reported as a warning by write_file)

        race, note = with_events(context.get("race"), data, self.config.race_id)
        if note:
            self.report(f"{path.name}: warning: {note}")
        teams_raw = context.get("teams")
        teams = parse_teams(teams_raw) if teams_raw is not None else None
        written = []
        for spec in self.config.outputs:
            out = self.config.outbox / f"{path.stem}.{spec.file}"
            for w in group(write_file(out, participants, spec.profile, race=race, teams=teams)):
                LOG.info("%s -> %s: %s", path.name, out.name, w)
                self.report(f"{path.name} -> out/{out.name}: warning: {w}")
            bind(out, server=self.client.base_url, race_id=self.config.race_id, profile=spec.profile, base=data,
                 race=race, teams=teams_raw, team_types=context.get("team_types"))
            written.append(f"out/{out.name}")
        return written

    def profile_for(self, path: Path) -> tuple[Any, OutputSpec | None]:
        """The profile of a dropped table: ``<profile>__name.ext`` prefix, then the entry with the same file
        name, then the only entry with the same extension."""
        name = path.name
        if "__" in name:
            prefix = name.split("__", 1)[0]
            for spec in self.config.outputs:
                if prefix in (spec.profile_name, spec.profile.name):
                    return spec.profile, spec
            try:
                return load_profile(prefix), None
            except ProfileError as exc:
                raise ProfileError(f"{name}: the prefix before '__' names the profile: {exc}") from None
        for spec in self.config.outputs:
            if spec.file.lower() == name.lower():
                return spec.profile, spec
        kind = path.suffix.lower().lstrip(".")
        same = [s for s in self.config.outputs if s.kind == kind]
        if len(same) == 1:
            return same[0].profile, same[0]
        names = ", ".join(s.profile_name for s in self.config.outputs)
        raise ProfileError(f"{name}: cannot tell which profile this .{kind} file uses; name it "
                           f"<profile>__{name} (one of: {names})")

    def _plan_table(self, path: Path) -> list[str]:
        """Diff a timing file against RaceEntry into ``out/<stem>.plan/`` (and push it when configured).

        The dropped file is bound as ``out/<the output's file name>``: the synced file's binding (its base,
        and the ledger of what pushes of such files confirmed), so the same edits dropped twice are never
        added twice."""
        profile, spec = self.profile_for(path)
        bind_as = self.config.outbox / (spec.file if spec is not None else path.name)
        cfg = self.config
        planned = planning.make(path, client=self.client, race_id=cfg.race_id, profile=profile_name(profile),
                                server=self.client.base_url, bind_as=bind_as, encoding=cfg.encoding,
                                two_way=cfg.two_way)
        plan = planned.plan
        folder = cfg.outbox / f"{path.stem}.plan"
        folder.mkdir(exist_ok=True)
        summary = plan.summary()
        summary["source"] = path.name
        summary["profile"] = getattr(profile, "name", str(profile))
        text = f"{path.name} against RaceEntry race {cfg.race_id}:\n{summary_text(plan)}"
        # The same files as `timersync diff -o`: the exact request bodies, each checked against its schema.

        planfolder.write_plan(plan, folder, summary, text, f"{path.name}: plan for RaceEntry race {cfg.race_id}",
                            Where.of_planned(planned))
        c = plan.counts()
        what = ", ".join(plural(c[key], one) for key, one in (("teams", "new team"), ("adds", "add"),
                         ("modifies", "modify"), ("switches", "switch"), ("deletes", "delete")) if c[key])
        written = [f"out/{folder.name}/ ({what})" if what else f"out/{folder.name}/"]
        if plan.is_empty():
            written.append("nothing to send (the file agrees with RaceEntry)")
        elif cfg.push:
            outcome = self._push(path, profile, bind_as, folder)
            write_text(folder / "summary.txt", f"{text}\n{outcome}\n")
            written.append(outcome)
        else:
            written.append(f"nothing sent (push = false in {cfg.path.name})")
            self._unsent = profile_name(profile)
        return written

    def _how_to_send(self, moved_to: Path) -> str:
        """How to send a plan the config did not push: the command for the file where it now lies."""
        url = self.client.base_url
        server = "" if resolve_base_url(None, None) == url else f" --api-url {url}"
        cfg = self.config
        server += (" --two-way" if cfg.two_way else "") + (f" --encoding {cfg.encoding}" if cfg.encoding else "")
        return (f"  to send it, set push = true in {self.config.path.name} and drop it again, or run:\n"
                f"  timersync push {self.config.race_id} {quoted(moved_to)} -p {self._unsent}{server}")

    def _push(self, path: Path, profile: Any, bind_as: Path, folder: Path) -> str:
        """Push with push's own guards and lock: it plans again inside the race's push lock, reconciles
        interrupted batches first, reports and skips conflicts, and refuses invalid rows and oversized
        deletes with a PlanError."""
        result = push.push(self.client, path, race_id=self.config.race_id, profile=profile_name(profile),
                           bind_as=bind_as, lock_wait=self.config.lock_wait, encoding=self.config.encoding,
                           two_way=self.config.two_way)
        if result.sent:
            write_receipt(folder, result)
        errors = f", {len(result.errors)} row errors" if result.errors else ""
        return (f"pushed: {len(result.added)} added, {result.modified} modified, {len(result.switched)} switched, "
                f"{len(result.deleted)} deleted{errors}")


def quoted(path: Path) -> str:
    """A path to paste into a command: in double quotes when it holds a space (every shell takes them)."""
    return f'"{path}"' if " " in str(path) else str(path)


def profile_name(profile: Any) -> str:
    return profile_ref(profile) or str(profile)
