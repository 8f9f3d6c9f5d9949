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
* A file is taken only when it is complete (:func:`converters.plan.convert.check_complete`: no row short of
  cells, a line ending after the last row, a whole .xlsx) and its size and mtime have not changed for
  ``settle_seconds`` (2 s): a file still being copied is never read half-written. One still incomplete
  after ``incomplete_timeout`` (120 s) fails with the reason. Hidden (``.x``), Office lock (``~$x``) and temp/partial
  download files are ignored.
* Every input is processed once, also across restarts: the journal records name+size+mtime+sha256 and the
  outcome before the file is moved, so a crash between processing and moving only moves it later.
* Nothing is deleted. A bad file goes to ``failed/`` and the watcher carries on. When RaceEntry cannot be
  reached the file stays in ``in/`` and is tried again.

This module is the watcher's loop: scan, process each settled input once, sync, report. The config is read
in :mod:`watch_config`, the folder's files (settling, the journal, names, moves) are :mod:`inbox`'s, the work
on one input is :mod:`dropped`'s, and what is reported is :mod:`outcomes`'.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from .. import progress
from ..plan import racestate
from ..atomic import file_sha256
from ..client import RaceEntryClient
from .dropped import DropHandler
from ..errors import ApiError, ConnectionFailed, TimersyncError
from .inbox import JOURNAL, Arrivals, Journal, candidates, move_input, shown, work_path
from .outcomes import Outcome, Summary, how_to_send
from .sync import Syncer
from .sync_outputs import SyncOutput
from .watch_config import ConfigError, WatchConfig

LOG = logging.getLogger("timersync.watch")

RETRY_UNREACHABLE = 30.0  # seconds before a file deferred because RaceEntry was unreachable is tried again


# ------------------------------------------------------------------------------------------ watcher

class Watcher:
    """Processes the drop folder. ``run_once`` for scripts and tests; ``run_forever`` for race day."""

    def __init__(self, config: WatchConfig, client: Any = None, report: Callable[[str], None] = lambda s: None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        if client is None:
            client = RaceEntryClient(config.api_url)
        self.client = client
        self.report = report
        self.clock = clock
        self.sleep = sleep
        self.journal = Journal(config.folder / JOURNAL)
        self.arrivals = Arrivals(config, lambda line: self.report(line))
        self.handler = DropHandler(config, client, lambda line: self.report(line), self.context)
        self._deferred: dict[str, float] = {}
        self._tally: dict[str, int] = {}  # outcome status -> files, for the live status line
        self._last = ""
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
            race, teams, team_types = racestate.race_context(self.client, self.config.race_id)
            self._context = {"race": race, "teams": teams, "team_types": team_types}
        return self._context

    # ---------------------------------------------------------------------------------- scanning
    def candidates(self) -> list[Path]:
        """The inputs now in ``in/``, by name."""
        return candidates(self.config.inbox)

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
            if not self.arrivals.settled(path, now):
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
                self.arrivals.forget(name)
                self._deferred.pop(name, None)
        self.arrivals.keep_only(present)
        return summary

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
                timeout = self.config.settle / 2 if self.arrivals.seen else self.config.scan_every * (
                    1 if self.config.poll else 5)
                self._wake.wait(timeout)
                self._wake.clear()
        finally:
            self.stop()

    def status_line(self) -> str:
        """The live line: what was processed, what failed, and the last file."""
        waiting = self.arrivals.waiting()
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
        """Stop the file-system observer and close the syncer (both started again when needed)."""
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
            outcome.moved_to = move_input(self.config, path, entry.get("status") == "done", entry.get("message", ""),
                                          entry.get("details", ""))
            self.report(f"{name}: {outcome.message}; moved to {outcome.moved_to.parent.name}/")
            return outcome
        details = ""
        work = path
        self.handler.unsent = None
        try:
            work = work_path(self.config, path)
            outputs = self.handler.handle(work)
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
        outcome.moved_to = move_input(self.config, path, status == "done", message, details)
        self._tally[status] = self._tally.get(status, 0) + 1
        self._last = f"{time.strftime('%H:%M:%S')} {name} {'ok' if status == 'done' else 'FAILED'}"
        LOG.info("%s: %s: %s", name, status, message)
        self.report(f"{name}: {'ok' if status == 'done' else 'FAILED'}: {message}")
        if status == "done" and self.handler.unsent:
            self.report(how_to_send(self.config, self.client.base_url, self.handler.unsent, outcome.moved_to))
        elif status == "failed":
            self.report(f"  nothing sent; {outcome.moved_to.parent.name}/{outcome.moved_to.name}.error.txt "
                        f"says what to fix; then drop it in in/ again")
        return outcome
