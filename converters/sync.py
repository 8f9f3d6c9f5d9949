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
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import orjson

from . import binding, planning, racestate, state
from .atomic import file_sha256
from .binding import bind
from .values import named
from .errors import ApiError, InputError, PlanError, ShortRead, TimersyncError
from .answers import Answer, as_answer, by_event, parse_teams, participant_from_json
from .model import CANONICAL_FIELDS, Participant
from .races import race_events
from .roster import OVERLAP, Roster, Row, merge, roster_path, rows_of
from .writer import write_file

LOG = logging.getLogger("timersync.sync")

FULL_EVERY = 30  # runs between full reconciles


# ------------------------------------------------------------------------------------------- results

@dataclass
class OutputResult:
    """What one round did to one output file."""

    path: Path
    wrote: Path | None = None  # the file written: the output, or its .incoming twin; None: untouched
    incoming: bool = False
    edits: list[str] = field(default_factory=list)  # rows the timer edited in the output since the last write
    conflicts: list[str] = field(default_factory=list)  # ... of which RaceEntry also changed
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class SyncResult:
    """One sync round: counts of roster changes, per-output outcome, or why RaceEntry could not be read."""

    when: float
    full: bool = False
    added: int = 0
    changed: int = 0
    removed: int = 0
    total: int = 0
    outputs: list[OutputResult] = field(default_factory=list)
    error: str | None = None  # RaceEntry unreachable or answered an error: nothing was changed
    cut_short: bool = False  # the error is a full read refused as cut short (readcheck)
    # Who, in words: the first SHOW of each kind ("Ann Lee", "Bo Ray (event 5K -> 10K, email)").
    added_who: list[str] = field(default_factory=list)
    changed_who: list[str] = field(default_factory=list)
    removed_who: list[str] = field(default_factory=list)
    started_from: str | None = None  # the file a first round started from ("runscore.csv as pulled 18:53")

    @property
    def ok(self) -> bool:
        return self.error is None and not any(o.error for o in self.outputs)

    def status_line(self) -> str:
        """``HH:MM:SS  1 added, 2 changed, 0 removed; 496 runners (wrote FILE | no change)``."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.when))
        if self.error:
            kept = ", ".join(o.path.name for o in self.outputs) or "the last good file"
            if self.cut_short:
                return f"{clock}  {self.error} (keeping {kept})"
            return f"{clock}  RaceEntry not reachable: {self.error}; keeping {kept}; will catch up"
        notes = []
        for o in self.outputs:
            if o.error:
                notes.append(f"{o.path.name}: {o.error}")
            elif o.incoming:
                notes.append(f"timer edited {len(o.edits)} row{'s' if len(o.edits) != 1 else ''} in "
                             f"{o.path.name} ({len(o.conflicts)} also changed on RaceEntry): kept it, "
                             f"wrote {o.wrote.name if o.wrote else '-'}")
            elif o.wrote:
                notes.append(f"wrote {o.wrote.name}")
        what = "; ".join(notes) or "no change"
        full = "; read in full" if self.full else ""
        return (f"{clock}  {self.added:,} added, {self.changed:,} changed, {self.removed:,} removed; "
                f"{self.total:,} runners ({what}{full})")

    def story(self) -> list[str]:
        """The round in words, below its status line: where a first round started from, then who was
        added, changed (which fields) and removed, the first few of each and how many more."""
        lines = [f"  started from {self.started_from}"] if self.started_from else []
        for label, names, count in (("added", self.added_who, self.added), ("changed", self.changed_who, self.changed),
                                    ("removed", self.removed_who, self.removed)):
            if count:
                more = count - len(names)
                lines.append(f"  {label}: {', '.join(names)}" + (f" and {more:,} more" if more > 0 else ""))
        return lines


@dataclass
class SyncOutput:
    """One file kept in sync: a profile (name or loaded Profile) and a path (.csv/.txt/.xlsx)."""

    profile: Any
    path: Path


def _digest(obj: Any) -> str:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()


# ------------------------------------------------------------------------------------------ profiles

def _load_profile(profile: Any) -> Any:
    if isinstance(profile, (str, os.PathLike)):
        from .profiles import load_profile

        return load_profile(profile)
    return profile


def visible_fields(profile: Any) -> tuple[str, ...]:
    """The participant fields a profile's file shows (canonical names or extra API keys)."""
    names: list[str] = []
    for col in getattr(profile, "columns", ()):
        sources = col.template_fields if getattr(col, "kind", "") == "template" else (col.source,)
        for s in sources:
            if s not in names:
                names.append(s)
    return tuple(names)


def _projection(p: Participant, fields: Sequence[str]) -> tuple:
    return tuple(p.get(f) for f in fields)


def _name(p: Participant) -> str:
    who = " ".join(x for x in (p.first_name, p.last_name) if x) or "(no name)"
    return f"registration {p.registration_id} ({who})" if p.registration_id else f"new row ({who})"


def incoming_path_for(output: str | os.PathLike) -> Path:
    out = Path(output)
    return out.with_name(f"{out.stem}.incoming{out.suffix}")


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
        self._rows: dict[str, Row] | None = None
        self._sort_keys: dict[str, tuple] = {}
        # Per output: registration id -> the row of text cells already rendered (CSV/TXT only), so a round
        # with 100 changes renders 100 rows, not 50,000. Dropped when the profile or race context changes.
        self._row_cache: dict[str, tuple[Any, dict[str, tuple]]] = {}
        self._edit_cache: dict[tuple, list[tuple[str | None, str]]] = {}
        self._edit_rids: list[tuple[str | None, str]] = []

    def close(self) -> None:
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
                result.outputs.append(self._update_output(out))
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
        data = self.client.participants_answer(self.race_id, since)
        rows = rows_of(data)
        new_wm = max((r.lm for r in rows), default=0)
        # The removed feed's own watermark. Before the first removal is seen, start from the participants
        # watermark: anything removed before the full read is already absent from it.
        base = rwm if rwm is not None else (new_wm if full else wm)
        rsince = max(0, int(base or 0) - self.overlap)
        removed = rows_of(self.client.participants_answer(self.race_id, rsince, removed=True))
        if full and self._rows:
            # A full read lacking many of the roster's runners, with no removals to account for them, is
            # an answer cut short: refused (ShortRead, an ApiError: the round changes nothing).
            from . import readcheck

            readcheck.check(self.client, self.race_id, (r.p.registration_id for r in rows),
                            {rid: r.lm for rid, r in self._rows.items()},
                            roster.get("read_at", roster.get("full_at")), (r.p.registration_id for r in removed),
                            "the roster and files are unchanged",
                            f"ask RaceEntry's support why its answer lacks them (if RaceEntry really lost them, "
                            f"move {roster.path} aside and sync again)")
        out = {"rows": rows, "removed": removed, "since": since, "rsince": rsince, "event_ids": data.event_ids()}
        if full:
            from .races import with_events

            out["race"], note = with_events(self.client.race(self.race_id), data, self.race_id)
            if note:
                LOG.warning("%s", note)
            out["teams"] = self.client.teams(self.race_id)
            out["team_types"] = racestate.optional_team_types(self.client, self.race_id)
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
            for _, cache in self._row_cache.values():
                cache.pop(rid, None)
            if old is None:
                result.added += 1
            else:
                result.changed += 1
        for rid, _ in removals:
            rows.pop(rid, None)
            for _, cache in self._row_cache.values():
                cache.pop(rid, None)
            result.removed += 1
        result.total = len(rows)

    def _tell(self, upserts: Sequence[tuple[str, Row, "Row | None"]], removals: Sequence[tuple[str, Row]],
              result: SyncResult, race: Any) -> None:
        """Name the first SHOW runners added, changed (with the fields that changed) and removed."""
        try:
            events = race_events(race if race is not None else (self.roster.get("context") or {}).get("race"))
        except TimersyncError:  # a race answer of another shape: events by id
            events = {}
        added = [r for _, r, old in upserts if old is None][:SHOW]
        changed = [(r, old) for _, r, old in upserts if old is not None][:SHOW]
        result.added_who = [named(r.record()) for r in added]
        result.changed_who = [f"{named(new.record())} ({_what_changed(old.record(), new.record(), events)})"
                              for new, old in changed]
        result.removed_who = [named(old.record()) for _, old in removals[:SHOW]]

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

    def _update_output(self, out: SyncOutput) -> OutputResult:
        roster = self.roster
        key = f"output:{out.path.resolve()}"
        rec = roster.get(key) or {}
        version = roster.version()
        digest = roster.get("context_digest")
        res = OutputResult(out.path)
        exists = out.path.exists()
        pending = roster.changes_since(int(rec.get("version", 0))) if rec else {}
        fields = visible_fields(out.profile)
        visible = (not exists or not rec or rec.get("profile") != out.profile.name
                   or rec.get("context_digest") != digest or self._visible(pending, fields))
        if not visible:
            if rec.get("version") != version:
                rec["version"] = version
                roster.set(key, rec)
                roster.db.commit()
            return res
        untouched = True
        if exists:
            untouched = bool(rec) and _same_file(out.path, rec)
            if not untouched:
                self._edit_rids = self._timer_edits(out, rec)
                res.edits = [msg for _, msg in self._edit_rids]
                untouched = not res.edits
        participants = self.participants()
        context = roster.get("context") or {}
        race, teams_raw = context.get("race"), context.get("teams")
        teams = parse_teams(teams_raw) if teams_raw is not None else None
        response = self._response(participants)
        if not untouched and not self.overwrite_edits:
            res.conflicts = [msg for rid, msg in self._edit_rids if rid in pending]
            target = incoming_path_for(out.path)
            marker = {"version": version, "out_sha": rec.get("seen_sha"), "context_digest": digest}
            if rec.get("incoming") == marker and target.exists():
                res.incoming, res.wrote = True, None
                return res
            res.warnings = list(write_file(target, participants, out.profile, race=race, teams=teams))
            bind(target, server=self.client.base_url, race_id=self.race_id, profile=out.profile, base=response,
                 race=race, teams=teams_raw, team_types=context.get("team_types"))
            res.incoming, res.wrote = True, target
            rec["incoming"] = marker
            roster.set(key, rec)
            roster.db.commit()
            LOG.warning("%s: the timer edited %d rows since the last sync; kept it, wrote %s",
                        out.path, len(res.edits), target)
            return res
        if exists and not untouched:
            # --overwrite-edits: the timer's version is kept as .bak, never just dropped.
            from .atomic import write_bytes

            write_bytes(str(out.path) + ".bak", out.path.read_bytes())
        res.warnings = self._write(out, participants, race, teams, digest)
        bind(out.path, server=self.client.base_url, race_id=self.race_id, profile=out.profile, base=response,
             race=race, teams=teams_raw, team_types=context.get("team_types"))
        st = out.path.stat()
        rec = {"version": version, "profile": out.profile.name, "context_digest": digest,
               "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(out.path)}
        roster.set(key, rec)
        roster.db.commit()
        res.wrote = out.path
        return res

    def _write(self, out: SyncOutput, participants: list[Participant], race: Any, teams: Any,
               digest: Any) -> list[str]:
        """The writer's write_file, with this file's row cache: a round renders only the rows that changed
        since the last write (CSV/TXT)."""
        key = str(out.path)
        stamp = (out.profile.name, out.profile.text, digest)
        cached = self._row_cache.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, {})
            self._row_cache[key] = cached
        return list(write_file(out.path, participants, out.profile, race=race, teams=teams, cache=cached[1]))

    def _visible(self, pending: dict[str, tuple[bytes | None, bytes | None]], fields: Sequence[str]) -> bool:
        for rid, (old, new) in pending.items():
            if (old is None) != (new is None):
                return True
            if old is None or new is None:
                continue  # added and removed again between two writes
            if not fields:
                if old != new:
                    return True
                continue
            a, b = participant_from_json(old, f"registration {rid}"), participant_from_json(new, f"registration {rid}")
            if _projection(a, fields) != _projection(b, fields):
                return True
        return False

    def _timer_edits(self, out: SyncOutput, rec: dict[str, Any]) -> list[tuple[str | None, str]]:
        """(registration id, message) per row the timer changed in ``out`` since timersync last wrote it:
        the planning pipeline, offline, compares the file with its binding's base (what was last written,
        advanced by the file's pushes)."""
        meta = binding.binding_dir(out.path) / "binding.json"
        sha = file_sha256(out.path)
        rec["seen_sha"] = sha
        cache_key = (str(out.path), sha, meta.stat().st_mtime_ns if meta.exists() else None)
        if cache_key in self._edit_cache:
            return self._edit_cache[cache_key]
        b = binding.load(out.path)
        if rec.get("sha256") == sha:
            edits: list[tuple[str | None, str]] = []
        elif b is None or not b.has_base:
            edits = [(None, f"{out.path.name} was not written by timersync (it has no binding in .timersync/)")]
        else:
            try:
                planned = planning.make(out.path, race_id=self.race_id, profile=binding.profile_ref(out.profile),
                                        offline=True)
            except (InputError, PlanError) as exc:
                edits = [(None, f"{out.path.name} cannot be read back ({exc})")]
            else:
                edits = planning.edits_of(planned.plan)
        self._edit_cache[cache_key] = edits
        return edits


SHOW = 5  # runners named per kind in a round's story
_NOT_NEWS = {"last_modified", "age"}  # fields that change without anybody changing the runner
_WORDS = {"event_id": "event", "dob": "date of birth", "zipcode": "ZIP", "team_id": "team", "team_name": "team",
          "team_type_id": "team type", "checked_in": "checked in", "country_code": "country",
          "team_bib": "team bib", "registration_date": "registration date"}


def _what_changed(old: Participant, new: Participant, events: dict[int, str]) -> str:
    """The fields that changed, in words: ``event Marathon -> 10K, email``."""
    words: list[str] = []
    for f in CANONICAL_FIELDS:
        if f in _NOT_NEWS or old.get(f) == new.get(f):
            continue
        if f == "event_id":
            words.append(f"event {events.get(old.event_id, old.event_id)} -> {events.get(new.event_id, new.event_id)}")
            continue
        word = _WORDS.get(f, f.replace("_", " "))
        if word not in words:
            words.append(word)
    return ", ".join(words) or "fields the file does not show"


def _rid_key(rid: str | None) -> tuple:
    try:
        return (0, int(rid or ""), "")
    except ValueError:
        return (1, 0, rid or "")


def _same_file(path: Path, rec: dict[str, Any]) -> bool:
    """True when ``path`` is byte for byte what timersync last wrote (stat first, then the hash)."""
    st = path.stat()
    if st.st_size != rec.get("size"):
        return False
    if st.st_mtime_ns == rec.get("mtime_ns"):
        return True
    return file_sha256(path) == rec.get("sha256")


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
