"""The planning pipeline: read the file, bind it, plan. One entry point, :func:`make`, for ``diff`` (online
and offline), ``push``, the drop folder and ``sync``'s edit detection; the CLI and the watcher only parse
options and render, ``push`` only sends.

1. The file's **binding** (:mod:`converters.binding`) gives the race id, profile, server, race context and
   base; what the command line says must agree with it.
2. RaceEntry is read (the race, participants, removed participants, teams, team types), or, offline, the
   base stands for it.
3. The file is read through its profile; rows without a registration id that an earlier push of this
   file added get their id from the binding's ledger.
4. :func:`converters.diff.make_plan` compares file, base and RaceEntry.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import binding as binding_mod
from . import progress, schemas
from .atomic import write_text
from .binding import Binding
from .client import resolve_base_url
from .dates import race_day
from .diff import EARLIEST_DOB, Plan, make_plan, named, plan_requests, who_of
from .errors import ConnectionFailed, PlanError, TimersyncError
from .journal import Journal
from .jsonio import load_file, save_file
from .answers import Answer, as_answer, parse_team_types, parse_teams, participants_response
from .codec import RawExtras
from .model import Participant, Team, TeamType, gc_paused
from .preview import render
from .profiles import load_profile
from .races import race_events, with_events
from .reader import read_file
from .records import check_readable
from .roster import OVERLAP, Row, merge, rows_of
from .writer import as_written

LOG = logging.getLogger("timersync.planning")


@dataclass
class RaceState:
    """What planning needs about a race: its events, teams, team types, participants and (online) the
    registration ids of its removed participants."""

    race_id: int
    race: dict[str, Any] | None
    events: list[int] | None
    teams: list[Team]
    team_types: list[TeamType] | None  # None: not read yet (see types)
    current: list[Participant]
    removed: set[str] | None = None  # None offline: the removed feed was not read
    notes: list[str] = field(default_factory=list)  # what the read had to make up for (no events listed)
    read_at: float | None = None  # the server's time (its Date header) just before the participants were read
    client: Any = None  # where the team types are read from, when a plan needs them

    def types(self) -> list[TeamType]:
        """The race's team types, read from RaceEntry the first time a plan needs them (a new team's
        type, a team's room): PlanError, one line, when RaceEntry does not give them."""
        if self.team_types is None:
            self.team_types = (parse_team_types(read_team_types(self.client, self.race_id))
                               if self.client is not None else [])
        return self.team_types


def read_team_types(client: Any, race_id: int) -> Any:
    """RaceEntry's team types answer for ``race_id``. The one policy for them in every command: only a new
    team's type and a team's room need them, so they are read only then (or kept, when they can be, with
    a file's race); an answer that is not team types is a PlanError saying so. RaceEntry unreachable stays
    ConnectionFailed, as for every other read."""
    try:
        return client.team_types(race_id)
    except ConnectionFailed:
        raise
    except TimersyncError as exc:
        raise PlanError(f"race {race_id}'s team types cannot be read from RaceEntry ({exc}); they are needed "
                        f"for the teams this file creates or joins") from None


def optional_team_types(client: Any, race_id: int) -> Any:
    """The team types answer to keep with a file's race (pull, sync, the drop folder), or None when
    RaceEntry does not give it (:func:`read_team_types`): a plan that needs them reads them again."""
    try:
        return read_team_types(client, race_id)
    except PlanError as exc:
        LOG.info("%s", exc)
        return None


def race_state(client: Any, race_id: int, removed: bool = True, before: list[Participant] | None = None,
               before_at: float | None = None) -> RaceState:
    """Read the race, its participants (and removed participants) and teams from RaceEntry (the team
    types when a plan needs them: :meth:`RaceState.types`).
    ``before``: the file's base (read at ``before_at``): a read lacking many of its runners, with no
    removals to account for them, is refused (:func:`converters.readcheck.check`)."""
    race, teams_answer = race_and_teams(client, race_id)
    read_at = _server_now(client)
    answer, gone_answer = together(client, lambda: client.participants_answer(race_id, 0),
                                   (lambda: client.participants_answer(race_id, 0, removed=True)) if removed
                                   else (lambda: None))
    race, note = with_events(race, answer, race_id)
    current = answer.participants
    gone = None
    if gone_answer is not None:
        gone = {str(p.registration_id) for p in gone_answer.participants if p.registration_id}
    if before:
        from . import readcheck

        readcheck.check(client, race_id, current, readcheck.ids_of(before), before_at, gone,
                        "nothing planned or sent", "ask RaceEntry's support why its answer lacks them (a plan "
                        "from it would take them as deleted in RaceEntry)")
    teams = parse_teams(teams_answer)
    return RaceState(race_id, race, event_ids(race), teams, None, current, gone, [note] if note else [], read_at,
                     client)


def race_and_teams(client: Any, race_id: int) -> tuple[Any, Any]:
    """The race (GET races) and its teams answer, read side by side (:func:`together`)."""
    race, teams = together(client, lambda: client.race(race_id), lambda: client.teams(race_id))
    return race, teams


def together(client: Any, *calls: Callable[[], Any]) -> list[Any]:
    """``calls`` (reads of ``client``) side by side when the client can (``RaceEntryClient.together``:
    over a venue's link each read is a round trip of waiting), else one after another."""
    run = getattr(client, "together", None)
    return run(*calls) if run is not None else [call() for call in calls]


def _server_now(client: Any) -> float | None:
    return getattr(client, "server_now", lambda: None)()


FULL_AFTER = 12.0  # hours: a file's base older than this is not read from incrementally (--full-after)


def changes_state(client: Any, race_id: int, base: Answer, ledger: list[dict[str, Any]] = ()
                  ) -> tuple[RaceState | None, str]:
    """RaceEntry's current state from the file's base (``base``: the answer it was written from, with
    its rows' bytes) and what changed since: the participants and removed participants modified since
    the base's newest ``last_modified`` (less sync's overlap), folded in by :func:`converters.roster.merge`.
    Returns (the state, "N changes") or (None, why a full read is needed instead): the base has no
    modification times, RaceEntry answered rows older than asked for (it ignored the timestamp), or
    the changes lack one that this file's pushes made since the pull (the ledger): counts that do not
    add up."""
    held_rows = rows_of(base)
    watermark = max((r.lm for r in held_rows), default=0)
    if not watermark:
        return None, "the file's base has no modification times"
    since = max(0, watermark - OVERLAP)
    race, teams_answer = race_and_teams(client, race_id)
    read_at = _server_now(client)
    held = {str(r.p.registration_id): r for r in held_rows}
    del held_rows
    merged, changes, gone = read_changes(client, race_id, held, since)
    if any(0 < r.lm < since for r in merged.incoming.values()):
        return None, "RaceEntry answered rows changed before the time asked for"
    lacking = _unseen(ledger, held, merged)
    if lacking:
        return None, f"the changes lack {lacking} of the {_pushed(ledger)} this file's pushes made"
    current = merged.records(held)
    race, note = with_events(race, [{"event": e} for e in (*base.events(), *changes.events())], race_id)
    n = len(merged.upserts) + len(merged.gone & held.keys())
    del held, merged
    _drop_bytes(base)
    teams = parse_teams(teams_answer)
    return (RaceState(race_id, race, event_ids(race), teams, None, current, gone, [note] if note else [],
                      read_at, client),
            f"{n} change{'s' if n != 1 else ''}")


def _drop_bytes(base: Answer) -> None:
    """Let go of the base's bytes once the changes are folded in (55 MB for 50,000 runners, held by
    every record's extra fields): planning compares and sends only the model's fields (a modify's body
    is built from them), so the base's records go on without their extras, as a full read's base does
    (:func:`_participants_of`)."""
    for p in base.participants:
        if p.extra.__class__ is RawExtras:
            p.extra = {}
    base.rows = []
    base.groups = [(eid, b"{}", n) for eid, _, n in base.groups]


def read_changes(client: Any, race_id: int, held: dict[str, Any], since: int) -> tuple[Any, Answer, set[str]]:
    """The participants and removed participants modified since ``since``, folded into the rows ``held``
    (registration id -> :class:`converters.roster.Row`) by :func:`converters.roster.merge`: (what they
    change, the participants answer, the removed registration ids)."""
    changes, removed_answer = together(client, lambda: client.participants_answer(race_id, since),
                                       lambda: client.participants_answer(race_id, since, removed=True))
    removed = rows_of(removed_answer)
    gone = {str(r.p.registration_id) for r in removed if r.p.registration_id}
    return merge(held, rows_of(changes), removed), changes, gone


def advance(client: Any, rs: RaceState, overlap: int) -> bool:
    """Bring ``rs`` up to RaceEntry's state now, reading only what changed since ``rs.read_at`` (less
    ``overlap`` seconds): ``rs.current`` as changed, ``rs.removed`` with the removals, ``rs.read_at`` moved.
    Returns whether a planned field changed: a runner added, removed or holding other values (fields
    beyond the model's aside: a plan never reads them)."""
    now = _server_now(client)
    held = {str(p.registration_id): Row(None, p.event_id, p.last_modified or 0, p) for p in rs.current}
    merged, _, gone = read_changes(client, rs.race_id, held, max(0, int(rs.read_at or 0) - overlap))
    rs.current = merged.records(held)
    changed = bool(merged.gone & held.keys()) or any(
        old is None or old.values()[:-1] != new.values()[:-1] for _, new, old in merged.upserts)
    if rs.removed is not None:
        changed = changed or not gone <= rs.removed
        rs.removed |= gone
    rs.read_at = now or rs.read_at
    return changed


def _pushed(ledger: Any) -> int:
    return sum(1 for e in ledger if e.get("registration_id") and not e.get("carried"))


def _unseen(ledger: Any, held: dict[str, Any], merged: Any) -> int:
    """How many of the changes the file's pushes confirmed since the pull (its ledger) the read does not
    show: an add (or a matched runner) that is nowhere, a modify or switch whose runner did not change,
    a delete whose runner is still there."""
    n = 0
    for e in ledger:
        rid = str(e.get("registration_id") or "")
        if not rid or e.get("carried"):
            continue
        op, seen, gone = e.get("op"), rid in merged.incoming, rid in merged.gone
        if op == "add":
            n += not (seen or gone or rid in held)
        elif op in ("modify", "switch"):
            n += not (seen or gone)
        elif op == "delete":
            n += rid in held and not gone
    return n


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours >= 1.5 else f"{seconds / 60:.0f} min"


def event_ids(race: Any) -> list[int] | None:
    if not isinstance(race, dict) or not race.get("events"):
        return None

    return list(race_events(race))


def load_context(race_id: int, path: str | Path) -> dict[str, Any]:
    """``--race``: a context written by pull, a races response or one race object. Raises PlanError for
    another race's context."""
    path = Path(path)
    data = load_file(path)
    if isinstance(data, dict) and "race" in data and "race_id" in data:
        ctx = data
    else:
        race = data.get("race") if isinstance(data, dict) and isinstance(data.get("race"), dict) else data
        if isinstance(data, dict) and isinstance(data.get("races"), list):
            race = next((r.get("race") for r in data["races"] if str((r.get("race") or {}).get("race_id"))
                         == str(race_id)), None)
        ctx = {"race_id": race.get("race_id") if isinstance(race, dict) else None, "race": race, "teams": None,
               "team_types": None}
    check_context(ctx, race_id, path)
    return ctx


def check_context(ctx: dict[str, Any] | None, race_id: int, where: Any) -> None:
    if ctx and ctx.get("race_id") is not None and str(ctx["race_id"]) != str(race_id):
        raise PlanError(f"{where} is the context of race {ctx['race_id']}, not race {race_id}: the file was "
                        f"pulled from another race; check RACE_ID")


def offline_state(race_id: int, base: list[Participant], ctx: dict[str, Any] | None) -> RaceState:
    """A RaceState from saved JSON only (no network): the base stands for RaceEntry's current state."""
    ctx = ctx or {}
    teams = parse_teams(ctx["teams"]) if ctx.get("teams") is not None else []
    types = parse_team_types(ctx["team_types"]) if ctx.get("team_types") is not None else []
    race = ctx.get("race")
    return RaceState(race_id, race, event_ids(race), teams, types, base)


def load_base(path: str | Path) -> list[Participant]:
    """The participants of a saved base (``base.json.gz``, a snapshot or any saved participants answer)."""
    return _participants_of(binding_mod.load_base_file(path), str(path))


def base_of(b: Binding) -> tuple[list[Participant], list[Participant]] | None:
    """The binding's base: (as the file was written, advanced by every confirmed push in its ledger)."""
    raw = b.base_raw()
    if raw is None:
        return None
    written = _participants_of(raw, str(b.base_path))
    del raw
    b.release_base()  # decoded without its bytes: the 55 MB of a 50,000-runner base can go
    return written, binding_mod.apply_ledger(written, b.ledger)


def _participants_of(data: Any, where: str) -> list[Participant]:
    """A saved participants answer (bytes, or an Answer just read), decoded and checked in one typed
    pass, as participants. Bytes are decoded afresh on every call, so no caller shares another's
    participants; a base is only compared, never written back from its records, so they are decoded
    without their extra fields and the 55 MB of a 50,000-runner base are not kept."""
    if isinstance(data, Answer):
        return data.participants
    return as_answer(data, where, keep_bytes=False).participants


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
class Target:
    """Which file, bound how: the binding (or None) and the race, profile and server settled with it."""

    file: Path
    bind_as: Path  # the path whose binding is used (the drop folder binds a dropped file to out/<name>)
    binding: Binding | None
    race_id: int
    profile: str
    server: str | None

    @property
    def url(self) -> str:
        """The server to talk to: the one settled for the file, else the last login's (else the demo)."""
        return self.server or resolve_base_url(None, None)


def target(file: str | Path, *, race_id: int | None = None, profile: str | None = None,
           server: str | None = None, bind_as: str | Path | None = None) -> Target:
    """Settle race id, profile and server from the command line and the file's binding."""
    file = Path(file)
    bind_path = Path(bind_as) if bind_as else file
    b = binding_mod.load(bind_path)
    rid, prof, srv = binding_mod.settle(b, race_id=race_id, profile=profile, server=server, file=file.name)
    return Target(file, bind_path, b, rid, prof, srv)


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
    plan: Plan
    data: Any  # convert.FileData, with ledger ids filled in
    rs: RaceState
    base: list[Participant] | None
    target: Target
    filled: list[tuple[int, str]] = field(default_factory=list)  # rows tied to their add by the ledger
    reuse: Reuse | None = None  # None when RaceEntry was not read incrementally from the file's own base

    @property
    def warnings(self) -> list[str]:
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
        tgt = _settle(file, settled, race_id=race_id, profile=profile, server=server, bind_as=bind_as)
        if _reusable(again, tgt):
            options = (delete, team_type, prefer, two_way, tuple(new_runners or ()))
            planned = _again(again, tgt, client, before_plan, renamed, options)
            if planned is not None:
                return planned
            before_plan = None  # done: the plan is made afresh from the ledger reconciling wrote
    if prefetched is None:
        from .reader import prefetch

        prefetched = prefetch(file)  # parses an .xlsx while the base and RaceEntry load
    # Offline no server is asked, so none can contradict the binding.
    tgt = _settle(file, settled, race_id=race_id, profile=profile, server=None if offline else server,
                  bind_as=bind_as)
    b = tgt.binding
    ctx = load_context(tgt.race_id, race_path) if race_path else (b.context if b is not None else None)
    check_context(ctx, tgt.race_id, b.folder / "race.json" if b is not None and not b.legacy
                  else binding_mod.legacy_context_path(tgt.bind_as))
    # A file is compared with the version it was made from: its own binding's base (or --base); a copy
    # (a dropped file, bound as the output it came from, or a file without a binding) with the recorded
    # version its unchanged rows match, never simply the newest one.
    copy = b is None or not b.has_base or tgt.bind_as != tgt.file
    read_note = ""
    why = None if offline else _full_reason(b, copy, base_path, full, full_after)
    answer = None
    if why is None:  # read incrementally: the base with its rows' bytes, RaceEntry's state until changed
        assert b is not None
        answer = as_answer(b.base_raw(), str(b.base_path))
        b.release_base()  # the answer holds its bytes (each record's fields beyond the model's)
        written = answer.participants
        base = binding_mod.apply_ledger(written, b.ledger)
    else:
        written, base = _bases(b if not copy else None, base_path)
    base_note = _base_note(tgt, b, base_path) if base is not None else ""
    incremental = False  # RaceEntry's state read as the file's own base and the changes since
    data = None  # the file, once read
    if offline:
        if base is None:
            raise PlanError("--offline needs --base SNAPSHOT (or a file pulled by timersync, which keeps "
                            "RaceEntry as pulled beside it)")
        rs = offline_state(tgt.race_id, base, ctx)
    else:
        if client is None:
            if client_for is None:
                raise PlanError("no RaceEntry client")
            client = client_for(tgt.url)
        progress.say(f"reading race {tgt.race_id} from RaceEntry", force=True)
        rs = None
        if answer is not None:
            assert b is not None
            reading = _in_background(changes_state, client, tgt.race_id, answer, b.ledger)
            answer = None
            if (ctx or {}).get("race"):  # the file reads as it was written, without RaceEntry's answer
                data = _while(reading, lambda: read_input(file, tgt.profile, ctx["race"], encoding, written,
                                                          prefetched))
            rs, got = reading.result()
            incremental = rs is not None
            if rs is not None:
                from .readcheck import clock

                read_note = f"Read RaceEntry: {got} since the file was pulled at {clock(b.pulled_at or 0)}."
            else:
                why = got
        if rs is None:
            rs = race_state(client, tgt.race_id, before=base, before_at=b.pulled_at if b is not None else None)
            read_note = f"Read the whole race ({why})."
        if before_plan is not None and before_plan(rs, tgt) is not False:
            fresh = binding_mod.load(tgt.bind_as)  # reconciling may have added to the ledger
            if fresh is not None and b is not None and fresh.ledger != b.ledger:
                b = tgt.binding = fresh
                if base_path is None and written is not None:  # the same pulled base, the longer ledger
                    base = binding_mod.apply_ledger(written, b.ledger)

    journal = Journal(tgt.race_id, server=None if offline else (client.base_url if client is not None
                                                                   else tgt.server))
    if renamed is None and not offline:
        renamed = journal.renamed
    if callable(renamed):
        renamed = renamed()  # after before_plan: reconciling records the new ids of switches
    # Event columns that disagree are settled against the events the file was written with: after a push
    # switched a runner by event name, the untouched event id column is still the stale one.
    stamp = _stamp(tgt) if incremental and rs.read_at and not race_path else None
    # The file is read with the race it was written with (event names, Race Result's contest numbers),
    # kept in its binding; RaceEntry's current race only when there is none.
    if data is None:
        data = read_input(file, tgt.profile, ((ctx or {}).get("race") or rs.race), encoding,
                          written or rs.current, prefetched)
    if base is None and not offline:
        from . import versions

        origin = versions.find_origin(client.base_url if client is not None else tgt.url, tgt.race_id,
                                      data.participants, data.present, tgt.profile)
        if origin is not None:
            try:
                written = origin.participants()
            except TimersyncError:  # pruned by another process meanwhile: as if there were none
                origin = None
        if origin is not None:
            base = binding_mod.apply_ledger(written, b.ledger) if b is not None else written
            base_note = f"Compared with {origin.describe()}."
        else:
            base_note = (f"No base: {Path(file).name} was not written by timersync here (no .timersync folder, "
                         f"no recorded version matches), so only adds are sent" + (
                             "; --two-way: the file wins wherever it differs." if two_way else
                             "; --two-way sends the rest."))
    return _compare(file, tgt, b, ctx, data, rs, written, base, base_note, read_note, client=client,
                    offline=offline, delete=delete, team_type=team_type, prefer=prefer, renamed=renamed,
                    two_way=two_way, new_runners=new_runners, journal=journal, stamp=stamp)


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


def _settle(file: str | Path, settled: Target | None, **how: Any) -> Target:
    """The file's target: as the caller ``settled`` it, with its binding read again (it may have grown
    since), else settled here (:func:`target`)."""
    if settled is not None:
        return dataclasses.replace(settled, binding=binding_mod.load(settled.bind_as))
    return target(file, **how)


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
    import time

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
    import time

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


def bind_after_push(planned: Planned, server: str | None) -> Binding:
    """The binding a push records into: the file's own, or, for a file timersync did not pull, a new one
    whose base is RaceEntry as read before the push (so the next diff is three-way from there)."""
    tgt = planned.target
    b = tgt.binding
    if b is not None and not b.legacy:
        return b
    rs = planned.rs
    new = Binding(tgt.bind_as, server, tgt.race_id, binding_mod.profile_ref(tgt.profile), None, [],
                  b.context if b is not None and b.context else {"race_id": tgt.race_id, "race": rs.race,
                                                                   "teams": None, "team_types": None})
    if b is not None and b.legacy and b.has_base:
        new.set_base_raw(b.base_raw())
    elif planned.base is not None:
        new.set_base_raw(participants_response(planned.base, rs.events or []))
    # Else no base: RaceEntry as it is now is not what the file was made from; taking it as the base would
    # make every later RaceEntry change look like the file's edit to push back. The ledger alone is kept.
    new.save()
    tgt.binding = new
    return new


# ---------------------------------------------------------------------------------------- plan folders

def write_plan(plan: Plan, folder: str | Path, summary: dict[str, Any], text: str,
               title: str = "timersync plan", where: Any = None) -> list[Path]:
    """Write the plan's exact request bodies (each validated against its schema), the summary and
    ``preview.html`` (the plan as a page to open, naming the server and race ``where`` says: a
    converters.preview.Where).

    Participants joining a team the plan creates carry ``"team_id": "new team: NAME"``: the id exists only
    once the team is created; push puts it in. More than 250 deletes are split into
    ``delete_participants-1.json``, ``-2.json``, ... (RaceEntry's per-request cap)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bodies = plan_requests(plan)
    written = []
    for key, name, schema in (("teams", "teams", "teams.request"),
                              ("participants", "participants", "participants.request"),
                              ("switch_participant_events", "switch_participant_events", "switch.request")):
        if key in bodies:
            schemas.validate(schema, bodies[key], f"{name}.json")
            save_file(folder / f"{name}.json", bodies[key])
            written.append(folder / f"{name}.json")
    deletes = bodies.get("delete_participants") or []
    for i, body in enumerate(deletes, 1):
        schemas.validate("delete.request", body, "delete_participants.json")
        path = folder / (f"delete_participants-{i}.json" if len(deletes) > 1 else "delete_participants.json")
        save_file(path, body)
        written.append(path)
    save_file(folder / "summary.json", summary)
    write_text(folder / "summary.txt", text + "\n")

    write_text(folder / "preview.html", render(plan, title, where))
    return written + [folder / "summary.json", folder / "summary.txt", folder / "preview.html"]


def row_names(plan: Plan) -> dict[int, str]:
    """The runner on each file row the plan sends (adds by the file's name, the others as RaceEntry
    names them), for receipts and refusals."""
    names: dict[Any, str] = {a.row: who_of(a.participant) for a in plan.adds}
    for item in (*plan.modifies, *plan.switches):
        names.setdefault(item.row, who_of(item.current))
    return names


def write_receipt(folder: str | Path, result: Any) -> Path:
    """``receipt.csv`` after a push: per file row, the runner, what was done and the registration id
    RaceEntry gave (or the reason it refused)."""
    import csv
    import io

    plan = result.plan
    names = row_names(plan)
    modified = {m.row: m.registration_id for m in plan.modifies}
    rows: list[list[Any]] = [[row, names.get(row, ""), "added", rid, ""] for row, rid in result.added]
    failed = {(e.row, e.what) for e in result.errors}
    rows += [[row, names.get(row, ""), "modified", rid, ""] for row, rid in modified.items()
             if (row, "modify") not in failed]
    by_old = {s.registration_id: s for s in plan.switches}
    rows += [[by_old[old].row if old in by_old else "", names.get(by_old[old].row, "") if old in by_old else "",
              "switched", new, f"was {old}" if new != old else ""] for old, new in result.switched]
    rows += [["", "", "deleted", rid, ""] for rid in result.deleted]
    rows += [[e.row if e.row is not None else "", names.get(e.row, ""), f"refused ({e.what})",
              e.registration_id or "", e.message] for e in result.errors]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["file row", "runner", "what", "registration id", "note"])
    writer.writerows(sorted(rows, key=lambda r: (r[0] == "", r[0] if isinstance(r[0], int) else 0)))
    path = Path(folder) / "receipt.csv"
    write_text(path, buf.getvalue(), encoding="utf-8-sig")  # a BOM: Excel opens it as UTF-8
    return path
