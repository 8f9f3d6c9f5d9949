"""Incremental sync: keep timing files current with RaceEntry, fetching only what changed.

Each race has a local roster in the state folder (SQLite, ``sync/race-<id>-<server_slug(base_url)>.sqlite``):
the participants as last seen (the last full read plus every change since), a ``changes`` table (time,
registration_id, kind add/change/remove, the row before and after) and two watermarks, one for the
participants feed and one for the removed feed.

Watermarks are the server's own ``last_modified`` values, never the local clock: the race laptop's clock is
wrong more often than not. ``modified_after_timestamp`` is queried ``OVERLAP`` seconds before the
watermark, because RaceEntry compares "on or after" with whole seconds (a change made in the watermark's
own second would otherwise be missed); rows re-read from the overlap are de-duplicated by registration id
(newest ``last_modified`` wins) and are only a change when their content differs.

The removed feed is authoritative for removals (a switch of event gives a NEW registration id; the old one
arrives there). A full reconcile (every ``full_every`` runs, and on request) re-reads everything and drops
rows the server no longer has, which also repairs a removed feed that lagged behind its own watermark.

An output is rewritten only when something it shows changed. Before rewriting, edits the timer made in
the file since the last write are looked for (the planning pipeline, offline: the file against the base
in its binding, the content last written); if there are any, the timer's file is kept and the fresh data goes to ``<stem>.incoming.<ext>``.

This module keeps the roster current (the :class:`Syncer`'s rounds) and runs the loop; the files it keeps
are :mod:`sync_outputs`' job, and a round's words (status line, who changed) are :mod:`sync_report`'s.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import orjson

from ..plan import binding, racestate
from ..client import readcheck
from .. import state
from ..errors import ApiError, ShortRead, TimersyncError
from ..model.answers import Answer, as_answer, by_event, participant_from_json
from ..model import Participant
from ..files.profiles import load_profile
from ..model.races import race_events, with_events
from ..client.roster import OVERLAP, Roster, Row, merge, roster_path, rows_of
from .sync_outputs import OutputFiles, SyncOutput
from .sync_report import OutputResult, SyncResult, name_changes

LOG = logging.getLogger("timersync.sync")

FULL_EVERY = 30  # runs between full reconciles


def _digest(obj: Any) -> str:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()


# -------------------------------------------------------------------------------------------- syncer

class Syncer:
    """Keeps ``outputs`` in step with race ``race_id``. One instance per process; call :meth:`run`
    once per round (it keeps the roster in memory between rounds, so a round costs what changed)."""

    def __init__(self, client: Any, race_id: int, outputs: Iterable[SyncOutput], full_every: int = FULL_EVERY,
                 overlap: int = OVERLAP, overwrite_edits: bool = False, roster: str | os.PathLike | None = None):
        self.client = client
        self.race_id = int(race_id)
        self.outputs = [SyncOutput(_load_profile(o.profile), Path(o.path)) for o in outputs]
        self.full_every = max(1, int(full_every))
        self.overlap = int(overlap)
        self.overwrite_edits = overwrite_edits
        self.roster = Roster(roster or roster_path(self.race_id, client.base_url))
        self.files = OutputFiles(client, self.race_id, self.roster, overwrite_edits)
        self._rows: dict[str, Row] | None = None
        self._sort_keys: dict[str, tuple] = {}

    def close(self) -> None:
        """Close the roster's database."""
        self.roster.close()

    # ------------------------------------------------------------------------------------- a round
    def run(self, full: bool = False) -> SyncResult:
        """One round: read what changed (everything when ``full`` or due), merge, rewrite what changed.

        RaceEntry errors (unreachable, busy, refusing) come back in ``SyncResult.error`` with nothing
        changed; file errors come back per output. Neither is raised, so a loop keeps going."""
        result = SyncResult(when=time.time())
        roster = self.roster
        if self._rows is None:
            self._rows = roster.load()
        if not self._rows and roster.get("watermark") is None:
            self._start_from_binding(result)
        runs = int(roster.get("runs_since_full", 0))
        full = full or roster.get("watermark") is None or runs + 1 >= self.full_every
        result.full = full
        try:
            fetched = self._fetch(full)
        except ApiError as exc:
            LOG.warning("sync race %s: %s", self.race_id, exc)
            result.error = str(exc)
            result.cut_short = isinstance(exc, ShortRead)
            result.total = len(self._rows)
            result.outputs = [OutputResult(o.path) for o in self.outputs]
            return result
        self._merge(fetched, full, result)
        for out in self.outputs:
            try:
                result.outputs.append(self.files.update(out, self.participants, self._response))
            except TimersyncError as exc:
                LOG.warning("sync race %s: %s: %s", self.race_id, out.path, exc)
                result.outputs.append(OutputResult(out.path, error=str(exc)))
            except OSError as exc:
                msg = f"cannot write ({exc.strerror or exc})"
                LOG.warning("sync race %s: %s: %s", self.race_id, out.path, msg)
                result.outputs.append(OutputResult(out.path, error=msg))
        LOG.info("sync race %s: %s", self.race_id, result.status_line())
        return result

    def _fetch(self, full: bool) -> dict[str, Any]:
        roster = self.roster
        wm = roster.get("watermark")
        rwm = roster.get("removed_watermark")
        since = 0 if full or wm is None else max(0, int(wm) - self.overlap)
        # The removed feed's own watermark. Before the first removal is seen, start from the participants
        # watermark: anything removed before the full read is already absent from it. Known beforehand
        # (every round but a first full read), both feeds are read side by side: one round trip, not two.
        if full and rwm is None:
            data = self.client.participants_answer(self.race_id, since)
            newest = max((p.last_modified or 0 for p in data.participants), default=0)
            rsince = max(0, newest - self.overlap)
            gone = self.client.participants_answer(self.race_id, rsince, removed=True)
        else:
            rsince = max(0, int((rwm if rwm is not None else wm) or 0) - self.overlap)
            data, gone = racestate.together(
                self.client, lambda: self.client.participants_answer(self.race_id, since),
                lambda: self.client.participants_answer(self.race_id, rsince, removed=True))
        rows, removed = rows_of(data), rows_of(gone)
        if full and self._rows:
            # A full read lacking many of the roster's runners, with no removals to account for them, is
            # an answer cut short: refused (ShortRead, an ApiError: the round changes nothing).
            readcheck.check(self.client, self.race_id, (r.p.registration_id for r in rows),
                            {rid: r.lm for rid, r in self._rows.items()},
                            roster.get("read_at", roster.get("full_at")), (r.p.registration_id for r in removed),
                            "the roster and files are unchanged",
                            f"ask RaceEntry's support why its answer lacks them (if RaceEntry really lost them, "
                            f"move {roster.path} aside and sync again)")
        out = {"rows": rows, "removed": removed, "since": since, "rsince": rsince, "event_ids": data.event_ids()}
        if full:
            race, out["teams"], out["team_types"] = racestate.race_context(self.client, self.race_id)
            out["race"], note = with_events(race, data, self.race_id)
            if note:
                LOG.warning("%s", note)
        return out

    def _merge(self, fetched: dict[str, Any], full: bool, result: SyncResult) -> None:
        rows = self._rows
        assert rows is not None
        merged = merge(rows, fetched["rows"], fetched["removed"], full)
        incoming, upserts, gone = merged.incoming, merged.upserts, merged.gone
        removals = [(rid, rows[rid]) for rid in sorted(gone) if rid in rows]
        meta: dict[str, Any] = {}
        wm = max((r.lm for r in incoming.values()), default=None)
        old_wm = self.roster.get("watermark")
        if full:
            meta["watermark"] = wm if wm is not None else 0
        elif wm is not None and (old_wm is None or wm > old_wm):
            meta["watermark"] = wm
        rwm = max((r.lm for r in fetched["removed"]), default=None)
        old_rwm = self.roster.get("removed_watermark")
        if rwm is not None and (old_rwm is None or rwm > old_rwm):
            meta["removed_watermark"] = rwm
        elif old_rwm is None and full:
            meta["removed_watermark"] = meta["watermark"]
        meta["runs_since_full"] = 0 if full else int(self.roster.get("runs_since_full", 0)) + 1
        meta["read_at"] = time.time()  # the last read, named when a later full read looks cut short
        if full:
            meta["full_at"] = time.time()
            context = {"race": fetched["race"], "teams": fetched["teams"], "team_types": fetched["team_types"]}
            if _digest(context) != self.roster.get("context_digest"):
                meta["context"] = context
                meta["context_digest"] = _digest(context)
        if fetched["event_ids"]:
            meta["event_ids"] = [e for e in fetched["event_ids"] if e is not None]
        self.roster.commit(upserts, removals, meta, full)
        self._tell(upserts, removals, result, fetched.get("race"))
        for rid, r, old in upserts:
            rows[rid] = r
            self.files.forget_row(rid)
            if old is None:
                result.added += 1
            else:
                result.changed += 1
        for rid, _ in removals:
            rows.pop(rid, None)
            self.files.forget_row(rid)
            result.removed += 1
        result.total = len(rows)

    def _tell(self, upserts: Sequence[tuple[str, Row, "Row | None"]], removals: Sequence[tuple[str, Row]],
              result: SyncResult, race: Any) -> None:
        """Name the first SHOW runners added, changed (with the fields that changed) and removed."""
        try:
            events = race_events(race if race is not None else (self.roster.get("context") or {}).get("race"))
        except TimersyncError:  # a race answer of another shape: events by id
            events = {}
        name_changes(result, upserts, removals, events)

    def _start_from_binding(self, result: SyncResult) -> None:
        """A first round for a file timersync pulled starts from what the pull wrote (its binding's base,
        the same server and race), so the round shows what changed since the pull, not every runner."""
        for out in self.outputs:
            b = binding.load(out.path)
            if (b is None or b.legacy or b.race_id is None or int(b.race_id) != self.race_id
                    or state.server_key(b.server or "") != state.server_key(self.client.base_url)
                    or not b.has_base or not out.path.exists()):
                continue
            answer = as_answer(b.base_raw(), str(b.base_path))
            rows = rows_of(answer)
            self._rows = {str(r.p.registration_id): r for r in rows}
            self.roster.seed(self._rows)  # the pull's runners: where the roster starts, not news
            ctx = b.context or {}
            context = {"race": ctx.get("race"), "teams": ctx.get("teams"), "team_types": ctx.get("team_types")}
            self.roster.set("context", context)
            self.roster.set("context_digest", _digest(context))
            if answer.event_ids():
                self.roster.set("event_ids", [e for e in answer.event_ids() if e is not None])
            # The file as pulled is this output's last write: the timer's edits since are found as usual.
            self.roster.set(f"output:{out.path.resolve()}", {"version": self.roster.version(),
                                                             "profile": out.profile.name,
                                                             "context_digest": _digest(context)})
            self.roster.db.commit()
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.pulled_at)) if b.pulled_at else "earlier"
            result.started_from = f"{out.path.name} as timersync wrote it at {when}"
            return

    # ------------------------------------------------------------------------------------- outputs
    def participants(self) -> list[Participant]:
        """The roster as Participants, grouped by event (the race's order), then by registration id."""
        rows = self._rows or {}
        keys = self._sort_keys
        for rid, row in rows.items():
            if row.p is None:  # a row read from the roster: decoded once, then kept on the row
                row.p = participant_from_json(row.doc, f"registration {rid}", row.event_id)
            if rid not in keys:
                keys[rid] = _rid_key(rid)
        order = {e: i for i, e in enumerate(self._event_order())}
        n = len(order)
        return sorted((row.p for row in rows.values()),
                      key=lambda p: (order.get(p.event_id, n), keys[p.registration_id]))

    def _event_order(self) -> list[int]:
        ids = list(self.roster.get("event_ids") or [])
        race = (self.roster.get("context") or {}).get("race")
        for e in (race or {}).get("events") or []:
            try:
                eid = int(e.get("event_id"))
            except (TypeError, ValueError):
                continue
            if eid not in ids:
                ids.append(eid)
        return ids

    def _response(self, participants: Sequence[Participant]) -> Answer:
        """The roster as a participants answer (its rows exactly as RaceEntry sent them)."""
        rows = self._rows or {}
        groups = by_event(participants, self._event_order())
        ordered = [p for g in groups.values() for p in g]
        return Answer([(e, orjson.dumps({"event_id": e, "participants": []}), len(g)) for e, g in groups.items()],
                      ordered, [rows[str(p.registration_id)].doc for p in ordered])


def _load_profile(profile: Any) -> Any:
    if isinstance(profile, (str, os.PathLike)):
        return load_profile(profile)
    return profile


def _rid_key(rid: str | None) -> tuple:
    try:
        return (0, int(rid or ""), "")
    except ValueError:
        return (1, 0, rid or "")


# ------------------------------------------------------------------------------------------ the loop

def sync_loop(syncer: Syncer, every: float | None, full: bool = False,
              report: Callable[[SyncResult], None] = lambda r: None,
              sleep: Callable[[float], None] | None = None, rounds: int | None = None) -> SyncResult:
    """Run rounds every ``every`` seconds (once when None) until interrupted or ``rounds`` are done.
    ``full`` makes the first round a full reconcile. Returns the last round's result."""
    n = 0
    while True:
        started = time.monotonic()
        result = syncer.run(full=full and n == 0)
        report(result)
        n += 1
        if every is None or (rounds is not None and n >= rounds):
            return result
        (sleep or time.sleep)(max(0.0, every - (time.monotonic() - started)))
