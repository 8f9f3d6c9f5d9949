"""The planning pipeline: read the file, bind it, plan. One entry point, :func:`make`, for ``diff`` (online
and offline), ``push``, the drop folder and ``sync``'s edit detection; the CLI and the watcher only parse
options and render, ``push`` only sends.

1. The file's **binding** (:mod:`converters.plan.binding`) gives the race id, profile, server, race context and
   base; what the command line says must agree with it.
2. RaceEntry is read (the race, participants, removed participants, teams, team types), or, offline, the
   base stands for it.
3. The file is read through its profile; rows without a registration id that an earlier push of this
   file added get their id from the binding's ledger.
4. :func:`converters.compare.diff.make_plan` compares file, base and RaceEntry.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import binding as binding_mod
from .. import progress
from . import versions
from .binding import Binding
from ..dates import race_day
from ..compare.diff import make_plan
from ..compare.plans import Plan
from ..compare.validate import EARLIEST_DOB
from ..compare.values import named
from ..errors import PlanError, TimersyncError
from .journal import Journal
from ..model.answers import as_answer, parse_team_types, parse_teams
from ..model import Participant, gc_paused
from ..files.profiles import load_profile
from ..model.races import race_events
from .racestate import RaceState, advance, changes_state, offline_state, race_state, read_team_types, together
from ..client.readcheck import clock
from ..files.reader import prefetch, read_file
from ..files.records import check_readable
from ..client.roster import OVERLAP
from .targets import Target, base_of, check_context, load_base, load_context, settle
from ..files.writer import as_written

FULL_AFTER = 12.0  # hours: a file's base older than this is not read from incrementally (--full-after)


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours >= 1.5 else f"{seconds / 60:.0f} min"


def read_input(file: str | Path, profile: Any, race: Any = None, encoding: str | None = None,
               reference: list[Participant] | None = None, prefetched: Any = None) -> Any:
    """The edited file, read through its profile (convert.read_file). ``reference`` (the base, or
    RaceEntry's participants) settles rows whose event name and event id columns disagree."""
    progress.say(f"reading {Path(file).name}", force=True)
    known = {p.registration_id: p.event_id for p in reference if p.registration_id} if reference else None
    with gc_paused():
        # A bad date stops nothing here: the diff lists that row as invalid and the others can still go.
        data = read_file(file, profile, race=race, encoding=encoding, known_events=known, prefetched=prefetched,
                         keep_bad_dates=True)
    if reference:  # a code the program needed (a non-binary gender as "U") is no edit
        as_written(data.participants, reference, load_profile(profile) if isinstance(profile, str) else profile)
    return data


# ------------------------------------------------------------------------------------------ the pipeline


@dataclass
class Reuse:
    """What a plan of the same file made moments later may reuse (:func:`make`'s ``again``)."""

    stamp: tuple[tuple[int, int], ...]  # the file's, its binding's and its base's size and mtime, as read
    read: list[Participant]  # the file's rows as read, before the ledger filled ids in
    written: list[Participant] | None  # the base as the file was written
    ctx: dict[str, Any] | None
    read_note: str
    compared: tuple[Any, ...]  # the comparison's options and the switches' renamed ids it was made with


@dataclass
class Planned:
    """A plan and what it was made from: the file as read, RaceEntry's state, the base and the target."""

    plan: Plan
    data: Any  # convert.FileData, with ledger ids filled in
    rs: RaceState
    base: list[Participant] | None
    target: Target
    filled: list[tuple[int, str]] = field(default_factory=list)  # rows tied to their add by the ledger
    reuse: Reuse | None = None  # None when RaceEntry was not read incrementally from the file's own base

    @property
    def warnings(self) -> list[str]:
        """What reading the file had to warn about."""
        return list(getattr(self.data, "warnings", []) or [])


def make(file: str | Path, *, client: Any = None, race_id: int | None = None, profile: str | None = None,
         server: str | None = None, offline: bool = False, base_path: str | Path | None = None,
         race_path: str | Path | None = None, encoding: str | None = None, delete: bool = False,
         team_type: str | None = None, prefer: str | None = None, bind_as: str | Path | None = None,
         prefetched: Any = None, renamed: dict[str, str] | Callable[[], dict[str, str]] | None = None,
         before_plan: Callable[[RaceState, Target], bool | None] | None = None,
         client_for: Callable[[str], Any] | None = None, two_way: bool = False,
         new_runners: Any = (), full: bool = False, full_after: float = FULL_AFTER,
         again: Planned | None = None, settled: Target | None = None) -> Planned:
    """Plan ``file``: settle its target, read RaceEntry (or, ``offline``, use the base), read the file,
    fill ids from the ledger and compare. ``before_plan(rs, target)`` runs once RaceEntry is read (push
    reconciles interrupted batches there; False: it changed nothing, so the binding is not read again).
    ``client_for(url)`` makes the client when none is given.

    RaceEntry is read incrementally (:func:`changes_state`: the file's own base and what changed since)
    unless ``full``, the file has no base of its own, or the base is over ``full_after`` hours old; or
    when the changes do not add up. The plan's first line says which.

    ``again``: a plan of the same file made moments ago (push plans before asking, and again under the
    race's lock). While the file, its binding and its base are as they were then (sizes and modification
    times), its file read and base are reused and RaceEntry's state is only advanced by what changed
    since it was read (:func:`advance`); the comparison is made afresh, unless nothing it reads changed
    (then ``again`` is the plan). ``settled``: the file's target as the caller settled it (push
    settles it once); its binding is read again, as it may have grown since."""
    check_readable(file)  # a missing file, or an .xls, is said first: before "which race?"
    if again is not None and client is not None and not offline and base_path is None and race_path is None:
        tgt = settle(file, settled, race_id=race_id, profile=profile, server=server, bind_as=bind_as)
        if _reusable(again, tgt):
            options = (delete, team_type, prefer, two_way, tuple(new_runners or ()))
            planned = _again(again, tgt, client, before_plan, renamed, options)
            if planned is not None:
                return planned
            before_plan = None  # done: the plan is made afresh from the ledger reconciling wrote
    if prefetched is None:
        prefetched = prefetch(file)  # parses an .xlsx while the base and RaceEntry load
    # Offline no server is asked, so none can contradict the binding.
    tgt = settle(file, settled, race_id=race_id, profile=profile, server=None if offline else server,
                 bind_as=bind_as)
    m = _Making(file, tgt, encoding, prefetched, client, tgt.binding, _context(tgt, race_path))
    _read_bases(m, offline, base_path, full, full_after)
    if offline:
        if m.base is None:
            raise PlanError("--offline needs --base SNAPSHOT (or a file pulled by timersync, which keeps "
                            "RaceEntry as pulled beside it)")
        m.rs = offline_state(tgt.race_id, m.base, m.ctx)
    else:
        _read_raceentry(m, client_for, before_plan, base_path)
    assert m.rs is not None
    journal = Journal(tgt.race_id, server=None if offline else (m.client.base_url if m.client is not None
                                                                   else tgt.server))
    if renamed is None and not offline:
        renamed = journal.renamed
    if callable(renamed):
        renamed = renamed()  # after before_plan: reconciling records the new ids of switches
    # Event columns that disagree are settled against the events the file was written with: after a push
    # switched a runner by event name, the untouched event id column is still the stale one.
    stamp = _stamp(tgt) if m.incremental and m.rs.read_at and not race_path else None
    # The file is read with the race it was written with (event names, Race Result's contest numbers),
    # kept in its binding; RaceEntry's current race only when there is none.
    if m.data is None:
        m.data = read_input(file, tgt.profile, ((m.ctx or {}).get("race") or m.rs.race), encoding,
                            m.written or m.rs.current, prefetched)
    if m.base is None and not offline:
        _find_origin(m, two_way)
    return _compare(file, tgt, m.b, m.ctx, m.data, m.rs, m.written, m.base, m.base_note, m.read_note,
                    client=m.client, offline=offline, delete=delete, team_type=team_type, prefer=prefer,
                    renamed=renamed, two_way=two_way, new_runners=new_runners, journal=journal, stamp=stamp)


@dataclass
class _Making:
    """What :func:`make` has settled and read so far, step by step: the file's target and binding, its
    context, the base (as written, and advanced by the ledger), RaceEntry's state and the file as read."""

    file: str | Path
    tgt: Target
    encoding: str | None
    prefetched: Any
    client: Any
    b: Binding | None
    ctx: dict[str, Any] | None
    answer: Any = None  # the file's own base with its rows' bytes, until the incremental read takes it
    why: str | None = None  # why RaceEntry is read whole (None: its changes since the base will do)
    written: list[Participant] | None = None
    base: list[Participant] | None = None
    base_note: str = ""
    read_note: str = ""
    rs: RaceState | None = None
    incremental: bool = False  # RaceEntry's state read as the file's own base and the changes since
    data: Any = None  # the file, once read


def _context(tgt: Target, race_path: str | Path | None) -> dict[str, Any] | None:
    """The race context the file goes with (``--race``, else its binding's), checked to be its race's."""
    b = tgt.binding
    ctx = load_context(tgt.race_id, race_path) if race_path else (b.context if b is not None else None)
    check_context(ctx, tgt.race_id, b.folder / "race.json" if b is not None and not b.legacy
                  else binding_mod.legacy_context_path(tgt.bind_as))
    return ctx


def _read_bases(m: _Making, offline: bool, base_path: str | Path | None, full: bool, full_after: float) -> None:
    """The base the file is compared with, and whether RaceEntry can be read as it and the changes since
    (``m.answer``) or must be read whole (``m.why``)."""
    b, tgt = m.b, m.tgt
    # A file is compared with the version it was made from: its own binding's base (or --base); a copy
    # (a dropped file, bound as the output it came from, or a file without a binding) with the recorded
    # version its unchanged rows match, never simply the newest one.
    copy = b is None or not b.has_base or tgt.bind_as != tgt.file
    m.why = None if offline else _full_reason(b, copy, base_path, full, full_after)
    if not offline and m.why is None:  # read incrementally: the base with its rows' bytes, RaceEntry's state
        assert b is not None  # (_full_reason: no base of its own is a reason to read the whole race)
        m.answer = as_answer(b.base_raw(), str(b.base_path))
        b.release_base()  # the answer holds its bytes (each record's fields beyond the model's)
        m.written = m.answer.participants
        m.base = binding_mod.apply_ledger(m.written, b.ledger)
    else:
        m.written, m.base = _bases(b if not copy else None, base_path)
    m.base_note = _base_note(tgt, b, base_path) if m.base is not None else ""


def _read_raceentry(m: _Making, client_for: Callable[[str], Any] | None,
                    before_plan: Callable[[RaceState, Target], bool | None] | None,
                    base_path: str | Path | None) -> None:
    """RaceEntry's state: its changes since the file's base where they will do (the file read meanwhile),
    else the whole race; then ``before_plan``, and the ledger again if it grew."""
    tgt = m.tgt
    if m.client is None:
        if client_for is None:
            raise PlanError("no RaceEntry client")
        m.client = client_for(tgt.url)
    progress.say(f"reading race {tgt.race_id} from RaceEntry", force=True)
    if m.answer is not None:
        _read_changes(m)
    if m.rs is None:
        m.rs = race_state(m.client, tgt.race_id, before=m.base, before_at=m.b.pulled_at if m.b is not None else None)
        m.read_note = f"Read the whole race ({m.why})."
    if before_plan is not None and before_plan(m.rs, tgt) is not False:
        fresh = binding_mod.load(tgt.bind_as)  # reconciling may have added to the ledger
        if fresh is not None and m.b is not None and fresh.ledger != m.b.ledger:
            m.b = tgt.binding = fresh
            if base_path is None and m.written is not None:  # the same pulled base, the longer ledger
                m.base = binding_mod.apply_ledger(m.written, m.b.ledger)


def _read_changes(m: _Making) -> None:
    """RaceEntry read as the file's base and what changed since (:func:`changes_state`), on a thread of its
    own while the file is read (when its context names the race it was written with). When the changes
    do not add up, ``m.why`` says why and ``m.rs`` stays None: the whole race is read."""
    b = m.b
    assert b is not None
    reading = _in_background(changes_state, m.client, m.tgt.race_id, m.answer, b.ledger)
    m.answer = None
    if (m.ctx or {}).get("race"):  # the file reads as it was written, without RaceEntry's answer
        ctx = m.ctx
        m.data = _while(reading, lambda: read_input(m.file, m.tgt.profile, ctx["race"], m.encoding, m.written,
                                                    m.prefetched))
    rs, got = reading.result()
    m.incremental = rs is not None
    if rs is not None:
        m.rs = rs
        m.read_note = f"Read RaceEntry: {got} since the file was pulled at {clock(b.pulled_at or 0)}."
    else:
        m.why = got


def _find_origin(m: _Making, two_way: bool) -> None:
    """A file without a base of its own: the recorded version its unchanged rows match is its base, else
    it has none (only adds are sent, unless ``two_way``)."""
    assert m.data is not None
    origin = versions.find_origin(m.client.base_url if m.client is not None else m.tgt.url, m.tgt.race_id,
                                  m.data.participants, m.data.present, m.tgt.profile)
    if origin is not None:
        try:
            m.written = origin.participants()
        except TimersyncError:  # pruned by another process meanwhile: as if there were none
            origin = None
    if origin is not None:
        m.base = binding_mod.apply_ledger(m.written, m.b.ledger) if m.b is not None else m.written
        m.base_note = f"Compared with {origin.describe()}."
    else:
        m.base_note = (f"No base: {Path(m.file).name} was not written by timersync here (no .timersync folder, "
                       f"no recorded version matches), so only adds are sent" + (
                           "; --two-way: the file wins wherever it differs." if two_way else
                           "; --two-way sends the rest."))


def _in_background(fn: Callable[..., Any], *args: Any) -> Future:
    """``fn(*args)`` started on a thread of its own: RaceEntry's reads wait on the link, and the file can
    be read meanwhile (:func:`_while`)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plan-read")
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def _while(reading: Future, job: Callable[[], Any]) -> Any:
    """``job()`` while ``reading`` goes on; when the job fails, the reading is waited for first (its
    client is not left in use behind the error)."""
    try:
        return job()
    except Exception:
        wait([reading])
        raise


def _again(again: Planned, tgt: Target, client: Any, before_plan: Any, renamed: Any,
           options: tuple[Any, ...]) -> Planned | None:
    """:func:`make` from ``again``, a plan of the same file made moments ago (unchanged since:
    :func:`_reusable`): RaceEntry's state advanced by what changed since it was read, its teams and team
    types read again, and the comparison made again unless nothing it reads changed (then ``again`` is
    the plan). None when reconciling (``before_plan``) added to the file's ledger: plan afresh."""
    reuse = again.reuse
    assert reuse is not None
    progress.say(f"reading race {tgt.race_id}'s changes from RaceEntry", force=True)
    rs = again.rs
    journal = Journal(tgt.race_id, server=client.base_url)
    advanced, teams_answer = together(client, lambda: advance(client, rs, OVERLAP),
                                      lambda: client.teams(tgt.race_id))
    changed = advanced or bool(journal.pending())
    teams = parse_teams(teams_answer)
    changed = changed or teams != rs.teams
    rs.teams = teams
    if rs.team_types is not None and rs.client is not None:  # the plan read them: they may have changed
        types = parse_team_types(read_team_types(client, tgt.race_id))
        changed = changed or types != rs.team_types
        rs.team_types = types
    if before_plan is not None:
        before_plan(rs, tgt)
    if not _reusable(again, tgt):  # reconciling added to the ledger
        return None
    if renamed is None:
        renamed = journal.renamed
    renamed = renamed() if callable(renamed) else renamed
    if not changed and (options, renamed) == reuse.compared:
        return again
    data = again.data
    data.participants = reuse.read
    return _compare(tgt.file, tgt, tgt.binding, reuse.ctx, data, rs, reuse.written, again.base,
                    again.plan.base_note, reuse.read_note, client=client, offline=False, delete=options[0],
                    team_type=options[1], prefer=options[2], renamed=renamed, two_way=options[3],
                    new_runners=options[4], journal=journal, stamp=reuse.stamp)


def _compare(file: str | Path, tgt: Target, b: Binding | None, ctx: dict[str, Any] | None, data: Any,
             rs: RaceState, written: list[Participant] | None, base: list[Participant] | None, base_note: str,
             read_note: str, *, client: Any, offline: bool, delete: bool, team_type: str | None,
             prefer: str | None, renamed: dict[str, str] | None, two_way: bool, new_runners: Any,
             journal: Any, stamp: Any = None) -> Planned:
    """The last step of :func:`make`: fill ids from the ledger and compare the file read with RaceEntry's
    state (and the base)."""
    read = data.participants
    progress.say(f"comparing {len(data.participants):,} rows with {len(rs.current):,} participants", force=True)
    # Rows without an id that a push added: this file's ledger first, then any push of the race (a copy).
    ledger = list(b.ledger) if b is not None else []
    own = {str(e.get("registration_id")) for e in ledger}
    if any(not p.registration_id for p in data.participants):
        ledger += [e for e in journal.confirmed_adds() if e["registration_id"] not in own]
    filled: list[tuple[int, str]] = []
    pushed: dict[str, Participant] = {}
    if ledger:
        data.participants, filled = binding_mod.resolve_rows(data.participants, data.rows, ledger, rs.current)
        entries = {str(e["registration_id"]): e for e in ledger}
        for _, rid in filled:  # the base of a row its base lacks: the values its push sent
            pushed[rid] = Participant(registration_id=rid, **binding_mod.known_values(entries[rid]))
    prof = _profile(tgt.profile)  # loaded once for the comparison's date rules
    plan = make_plan(data.participants, rs.current, rows=data.rows, present=data.present,
                     base=None if offline else base, race_id=tgt.race_id, events=rs.events, teams=rs.teams,
                     team_types=rs.types, delete=delete, team_type=team_type, prefer=prefer,
                     renamed=renamed, removed=rs.removed, source=getattr(data, "file", None) or None,
                     pushed=None if offline else pushed, earliest_dob=_earliest_dob(prof),
                     two_way=two_way or offline, new_runners=new_runners, dob_format=_dob_format(prof),
                     race_day=race_day((ctx or {}).get("race") or rs.race),
                     event_names=_event_names((ctx or {}).get("race"), rs.race))
    plan.bound = filled
    plan.base_note = base_note
    race = rs.race or (ctx or {}).get("race")  # as RaceEntry names it now, else as pulled
    plan.race_name = str(race.get("name") or "") if isinstance(race, dict) else ""
    plan.read_note = read_note
    plan.notes[:0] = rs.notes
    compared = ((delete, team_type, prefer, two_way, tuple(new_runners or ())), renamed)
    return Planned(plan, data, rs, base, tgt, filled,
                   Reuse(stamp, read, written, ctx, read_note, compared) if stamp is not None else None)


def _stamp(tgt: Target) -> tuple[tuple[int, int], ...] | None:
    """The sizes and modification times of the file, its binding and its base (None when one is gone)."""
    b = tgt.binding
    if b is None:
        return None
    try:
        return tuple((st.st_size, st.st_mtime_ns) for st in (
            os.stat(path) for path in (tgt.file, b.folder / "binding.json", b.base_path)))
    except OSError:
        return None


def _reusable(again: Planned, tgt: Target) -> bool:
    """Whether ``again`` (a plan made moments ago) may stand for a fresh read of the file and its base: the
    same file bound the same way, none of them changed since."""
    was = again.target
    fresh = binding_mod.load(tgt.bind_as)  # as saved now: a reconciled batch adds to the ledger
    return (again.reuse is not None and fresh is not None and was.binding is not None
            and (tgt.file, tgt.bind_as, tgt.race_id, tgt.profile) == (was.file, was.bind_as, was.race_id,
                                                                        was.profile)
            and fresh.ledger == was.binding.ledger and _stamp(tgt) == again.reuse.stamp)


def _event_names(*races: Any) -> dict[int, str]:
    """Event id -> name, as RaceEntry names them now (else as the file was written with)."""
    out: dict[int, str] = {}
    for race in races:
        try:
            out.update(race_events(race))
        except TimersyncError:  # a context of an unexpected shape names nothing; the ids still do
            continue
    return out


def _base_note(tgt: Target, b: Binding | None, base_path: str | Path | None) -> str:
    """The plan's first line: which base it is compared with, in words."""
    if base_path:
        return f"Compared with {Path(base_path).name} (--base)."
    if b is not None and b.legacy:
        return f"Compared with {binding_mod.legacy_snapshot_path(tgt.bind_as).name} (the snapshot beside it)."
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.pulled_at)) if b is not None and b.pulled_at else None
    return f"Compared with {tgt.file.name} as timersync wrote it" + (f" at {when}." if when else ".")


def _profile(profile: Any) -> Any:
    """The profile (loaded when named), or None when it cannot be loaded: it then fails where the file is
    read, with its message."""
    try:
        return profile if not isinstance(profile, str) else load_profile(profile)
    except Exception:  # noqa: BLE001 - an unloadable profile fails where the file is read
        return None


def _dob_format(prof: Any) -> str | None:
    """The format of the profile's date of birth column (what a date the reader left as text is read in
    first), or None."""
    if prof is None:
        return None
    return next((c.date_format for c in prof.columns if c.source == "dob" and c.type == "date"), None)


def _full_reason(b: Binding | None, copy: bool, base_path: Any, full: bool, full_after: float) -> str | None:
    """Why RaceEntry must be read in full for this file (None: its changes since the base will do)."""
    if full:
        return "--full"
    if base_path:
        return "--base: not the file's own base"
    if b is None or not b.has_base:
        return "the file has no base of its own"
    if copy or b.legacy:
        return "the file is compared with a recorded version, not its own base"
    if not b.pulled_at:
        return "the file's base has no time"
    age = time.time() - b.pulled_at
    if age > full_after * 3600:
        return f"the file's copy is {_age(age)} old"
    return None


def _earliest_dob(prof: Any) -> str:
    return prof.earliest_dob if prof is not None else EARLIEST_DOB


def _bases(b: Binding | None, base_path: str | Path | None
           ) -> tuple[list[Participant] | None, list[Participant] | None]:
    """(the base as the file was written, the base advanced by the ledger): --base, else the binding's."""
    if base_path:
        base = load_base(base_path)
        return base, base
    got = base_of(b) if b is not None else None
    return got if got is not None else (None, None)


def edits_of(plan: Plan) -> list[tuple[str | None, str]]:
    """A plan of a file against its own base, as the timer's edits: (registration id, message) per row."""
    who = named
    edits: list[tuple[str | None, str]] = []
    fields: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for m in plan.modifies:
        fields.setdefault(m.registration_id, []).extend(c.field for c in m.changes)
        names[m.registration_id] = who(m.current)
    moved: dict[str, str] = {}
    for s in plan.switches:  # the events as RaceEntry names them: "event Marathon (16) -> 5K (69)"
        fields.setdefault(s.registration_id, [])
        moved[s.registration_id] = f"event {plan.event(s.old_event_id)} -> {plan.event(s.new_event_id)}"
        names[s.registration_id] = who(s.current)
    for u in plan.unpushable:
        if u.registration_id:
            fields.setdefault(u.registration_id, []).append(f"{u.field} (not pushable)")
            names.setdefault(u.registration_id, u.who or f"registration {u.registration_id}")
    for rid, changed in fields.items():
        said = [f"{', '.join(dict.fromkeys(changed))} changed"] if changed else []
        edits.append((rid, f"{names[rid]}: {'; '.join(said + ([moved[rid]] if rid in moved else []))}"))
    for a in plan.adds:
        edits.append((None, f"{who(a.participant)}: added in the file"))
    for i in plan.invalid:
        edits.append((i.registration_id, f"row {i.row}{f' ({i.who})' if i.who else ''}: {i.message}"))
    for rid in plan.not_in_file:
        edits.append((rid, f"registration {rid}: deleted from the file"))
    return edits


def unpushed_edits(file: str | Path) -> list[tuple[str | None, str]] | None:
    """The edits in a bound file that no push has sent yet (the file against its base, advanced by its
    ledger; offline), or None when the file has no binding with a base to tell. Raises what reading the
    file raises."""
    b = binding_mod.load(file)
    if b is None or not b.has_base:
        return None
    return edits_of(make(file, offline=True, race_id=b.race_id, profile=b.profile or None).plan)


