"""The three-way comparison: from an edited timing file to the changes RaceEntry needs. Pure: no network,
no files.

:func:`make_plan` compares the file's participants with RaceEntry's current participants (and, when a
base is given, with the participants the file was made from: a three-way comparison) and returns a
:class:`~converters.compare.plans.Plan`: teams to create, participants to add, fields to modify, event switches,
deletions, plus what cannot be pushed (bib, chip, age), conflicts and invalid rows. It runs as named
steps: rows tied to their registrations, rows without an id adopted by the live runner they are, ids
moved between rows refused, tied rows compared field by field (:mod:`converters.compare.fields`), rows whose
registration is gone, the adds, the runners missing from the file, the teams. The plan's POST bodies are
:mod:`converters.compare.payloads`; its text, :mod:`converters.compare.summary`.

Values are normalised before comparing (:mod:`converters.compare.values`), so a file that went through a
spreadsheet unchanged diffs empty.
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .. import countries
from .fields import Matched, compare_matched
from ..errors import PlanError
from .identity import best_match, identity, identity_index, near_index, near_match, near_why, same_person
from .bodies import POSTABLE_FIELDS
from ..model import Participant, Team, TeamType, gc_paused
from .plans import Add, Conflict, Delete, Invalid, Plan, Unpushable
from ..files.records import ID_RE
from .teams import TeamNeeds, check_team_sizes, choose_team_types, joins_a_team
from .validate import (BAD_CHARS, EARLIEST_DOB, GENDERS, TEXT_CHECKED, check_duplicates, check_same_race, dob_fine,
                       row_problem, settle_dob)
from .values import COMPARED_FIELDS, UNPUSHABLE_FIELDS, clean_text, norm, who_of


def make_plan(file: Sequence[Participant], current: Sequence[Participant], *, rows: Sequence[int] | None = None,
              present: Iterable[str] | None = None, base: Sequence[Participant] | None = None,
              race_id: int | None = None, events: Iterable[int] | None = None, teams: Sequence[Team] = (),
              team_types: Sequence[TeamType] | Callable[[], Sequence[TeamType]] = (), delete: bool = False,
              team_type: str | None = None, prefer: str | None = None, renamed: dict[str, str] | None = None,
              source: str | None = None,
              removed: Iterable[str] | None = None, pushed: dict[str, Participant] | None = None,
              earliest_dob: str = EARLIEST_DOB, two_way: bool = False,
              new_runners: Iterable[int] | None = None, dob_format: str | None = None,
              race_day: str | None = None,
              event_names: dict[int, str] | None = None) -> Plan:
    """Compare the file's participants with RaceEntry's ``current`` ones (three-way when ``base`` is given).

    ``rows``: the file row of each participant (for messages); ``present``: canonical fields the file
    carries (others are never compared); ``events``: the race's event ids (rows naming others are
    invalid); ``renamed``: old -> new registration ids of switches pushed earlier (the file may be stale);
    ``prefer``: "file" or "raceentry" settles conflicts; ``source``: the file's name, for messages;
    ``removed``: registration ids in RaceEntry's removed feed (None when it was not read): a row's id that
    is neither current nor removed (nor in the base) was never issued; ``pushed``: registration id -> the
    participant as an earlier push sent it, the base of rows the base lacks (adds found by their id in
    push records). Without a base a timer's edit cannot be told from a later change in RaceEntry: unless
    ``two_way``, such a plan sends adds only and lists every other difference as undecided (never a
    modify, switch or delete). ``new_runners``: file rows to add even though they look like a live runner
    (else such a row is invalid). ``dob_format``: the file's date of birth format, read first in a
    date the reader left as text (:func:`converters.compare.validate.settle_dob`); ``race_day``: the race's day
    (ISO; today when None), the day a late entry's two-digit year is read for; ``event_names``: event id -> name, so
    the plan and its messages name events as RaceEntry does; ``team_types``: the race's, or a function
    that reads them, called only when the plan creates or joins a team. Raises PlanError for a file that
    cannot be planned at all (duplicate ids or bibs, a file for another race, team types that cannot be chosen).
    """
    if prefer not in (None, "file", "raceentry"):
        raise PlanError(f"--prefer must be 'file' or 'raceentry', not {prefer!r}")
    # The cyclic collector adds nothing here (no cycles are made) but, triggered by the many small
    # allocations, doubles the time of a 50,000-row comparison.
    with gc_paused():
        return _make_plan(file, current, rows=rows, present=present, base=base, race_id=race_id, events=events,
                          teams=teams, team_types=team_types, delete=delete, team_type=team_type, prefer=prefer,
                          renamed=renamed, source=source, removed=removed, pushed=pushed, earliest_dob=earliest_dob,
                          two_way=two_way, new_runners=set(new_runners or ()), dob_format=dob_format,
                          race_day=race_day, event_names=event_names or {})


def _make_plan(file: Sequence[Participant], current: Sequence[Participant], *, rows: Sequence[int] | None,
               present: Iterable[str] | None, base: Sequence[Participant] | None, race_id: int | None,
               events: Iterable[int] | None, teams: Sequence[Team],
               team_types: Sequence[TeamType] | Callable[[], Sequence[TeamType]], delete: bool,
               team_type: str | None, prefer: str | None, renamed: dict[str, str] | None,
               source: str | None = None, removed: Iterable[str] | None = None,
               pushed: dict[str, Participant] | None = None, earliest_dob: str = EARLIEST_DOB,
               two_way: bool = False, new_runners: set[int] | None = None, dob_format: str | None = None,
               race_day: str | None = None,
               event_names: dict[int, str] | None = None) -> Plan:
    rows = list(rows) if rows is not None else list(range(2, len(file) + 2))
    present_set = set(present) if present is not None else set(POSTABLE_FIELDS) | {
        "event_id", "team_name", "registration_id", "bib", "chip", "age"}
    check_duplicates(file, rows, present_set, source)
    s = _sides(file, current, rows, present_set, base, pushed, race_id, events, renamed, prefer, two_way, event_names)
    plan = s.plan
    check_same_race(file, rows, race_id, s.events, len(current), s.current_by_id, s.base_by_id, s.renamed)
    claimed, matched, orphans, new_rows = _tie_rows_to_registrations(s, earliest_dob, dob_format, race_day)
    # A runner typed (or pasted) twice is one runner: a row without an id that is the same person as
    # another row of the file is never a second add.
    if new_rows:
        new_rows = _repeats(plan, new_rows, [(m[0], m[1]) for m in matched], present_set)
    adds = _adopt_live_runners(s, new_rows, claimed, matched, new_runners)
    if {"first_name", "last_name"} <= present_set:
        matched = _ids_look_moved(s, matched)
    team_needs = TeamNeeds(teams, "team_name" in present_set)
    compare_matched(plan, matched, fields=s.fields, present=present_set, created=set(pushed or ()),
                    teams=team_needs, prefer=prefer, undecided=s.undecided)
    adds += _orphans(s, orphans, removed)
    _add_rows(s, adds, team_needs)
    _missing_from_file(s, claimed, delete)
    _plan_teams(plan, team_needs, team_types, team_type, current, teams, rows)
    if plan.suspect is None:
        plan.suspect = _sorted_column(plan, current)
    _name_invalid_rows(s)
    return plan


@dataclass(eq=False)
class _Sides:
    """One comparison's inputs, indexed once: the plan being made, the file and its rows, RaceEntry's
    runners and the base's by registration id, the fields the file has and the compared ones."""
    plan: Plan
    file: Sequence[Participant]
    rows: list[int]
    current: Sequence[Participant]
    present: set[str]
    events: set[int] | None
    renamed: dict[str, str]
    prefer: str | None
    current_by_id: dict[str, Participant]
    base_by_id: dict[str, Participant]  # the base's runners, and the ones an earlier push of this file added
    fields: list[str]
    undecided: bool  # no base and no --two-way: differences are listed, only adds are sent


def _sides(file: Sequence[Participant], current: Sequence[Participant], rows: list[int], present: set[str],
           base: Sequence[Participant] | None, pushed: dict[str, Participant] | None, race_id: int | None,
           events: Iterable[int] | None, renamed: dict[str, str] | None, prefer: str | None, two_way: bool,
           event_names: dict[int, str] | None) -> _Sides:
    plan = Plan(race_id=race_id, three_way=base is not None, file_rows=len(file), current_count=len(current),
                event_names=dict(event_names or {}))
    plan.adds_only = base is None and not two_way
    base_by_id = {str(p.registration_id): p for p in base if p.registration_id} if base is not None else {}
    for rid, p in (pushed or {}).items():
        base_by_id.setdefault(rid, p)
    return _Sides(plan=plan, file=file, rows=rows, current=current, present=present,
                  events=set(events) if events is not None else None, renamed=dict(renamed or {}), prefer=prefer,
                  current_by_id={str(p.registration_id): p for p in current if p.registration_id},
                  base_by_id=base_by_id, fields=[f for f in COMPARED_FIELDS if f in present],
                  undecided=plan.adds_only)


def _tie_rows_to_registrations(s: _Sides, earliest_dob: str, dob_format: str | None, race_day: str | None
                               ) -> tuple[dict[str, int], list[Matched], list[tuple[Participant, int, str]],
                                          list[tuple[Participant, int]]]:
    """Pass 1: validate each row, and tie each row with an id to its registration in RaceEntry. Returns
    the registrations the file stands for (id -> row; an invalid row still stands for its registration:
    never delete it), the rows tied, the orphans (rows whose registration is no longer in RaceEntry) and
    the rows without an id."""
    plan, cur_by_id, base_by_id, renamed, present_set, event_set = (
        s.plan, s.current_by_id, s.base_by_id, s.renamed, s.present, s.events)
    today = _dt.date.today().isoformat()
    claimed: dict[str, int] = {}
    matched: list[Matched] = []
    orphans: list[tuple[Participant, int, str]] = []
    new_rows: list[tuple[Participant, int]] = []
    cur_by_user: dict[str, list[Participant]] = {}
    check_dob = "dob" in present_set
    get_text = operator.attrgetter(*[f for f in TEXT_CHECKED if f in present_set or f in ("first_name", "last_name")])
    fine_dobs: dict[Any, bool] = {}  # a race's runners share a few thousand birthdays: each read once

    def fine_dob(dob: Any) -> bool:
        fine = fine_dobs.get(dob)
        if fine is None:
            fine = fine_dobs[dob] = dob_fine(dob, today, earliest_dob)
        return fine

    same_names: dict[tuple, list[Participant]] = {}  # RaceEntry's runners by identity, built when first needed
    for p, row in zip(s.file, s.rows):
        rid = p.registration_id.strip() if p.registration_id else ""
        if rid and not ID_RE.match(rid):
            plan.invalid.append(Invalid(row, rid, f"registration id {rid!r} is not a registration id (a positive "
                                                  f"whole number): fix the id, or clear it to add the runner"))
            continue
        if check_dob and isinstance(p.dob, str) and p.dob and not (len(p.dob) == 10 and p.dob[4] == "-"):
            settled = _settle_row_dob(s, p, row, rid, same_names, dob_format, race_day or today)
            if settled is None:
                if rid:
                    claimed[rid] = row
                continue
            p = settled
        # Most rows are fine: a quick look first, the full check (with messages) only when it fails.
        quick = (p.first_name and p.last_name and p.event_id is not None
                 and (event_set is None or p.event_id in event_set)
                 and (not p.dob or not check_dob or fine_dob(p.dob))
                 and (p.gender or "").upper() in GENDERS
                 and not BAD_CHARS.search("\x20".join(filter(None, get_text(p)))))
        problem = None if quick and p.first_name.strip() and p.last_name.strip() else row_problem(
            p, rid, present_set, event_set, today, cur_by_id.get(renamed.get(rid, rid)) if rid else None,
            earliest_dob)
        if problem:
            plan.invalid.append(Invalid(row, rid or None, problem))
            if rid:
                claimed[rid] = row  # an invalid row still stands for its registration: never delete it
            continue
        if not rid:
            new_rows.append((p, row))
            continue
        bp = base_by_id.get(rid)
        target = rid if rid in cur_by_id else _registration_now(s, rid, bp, cur_by_user)
        if target in cur_by_id:
            claimed[target] = row
            matched.append((p, row, cur_by_id[target], bp, False))
        else:
            claimed[rid] = row
            orphans.append((p, row, rid))
    return claimed, matched, orphans, new_rows


def _settle_row_dob(s: _Sides, p: Participant, row: int, rid: str, same_names: dict[tuple, list[Participant]],
                    dob_format: str | None, race_day: str) -> Participant | None:
    """The row with its date of birth settled when the reader read it two ways, or with a two-digit year:
    RaceEntry's or the base's day for the runner, else (a late entry) the race's day settles it. None when
    the row is invalid with both readings (recorded in the plan)."""
    if rid:
        known: Iterable[Participant | None] = (s.current_by_id.get(s.renamed.get(rid, rid)), s.base_by_id.get(rid))
    else:  # a row without an id may be a runner RaceEntry has (an earlier push's late entry)
        if not same_names:
            for c in s.current:
                same_names.setdefault(identity(c), []).append(c)
        known = same_names.get(identity(p), ())
    refs = [norm("dob", r.dob) for r in known if r is not None and r.dob]
    dob, kind, problem, note = settle_dob(p.dob, dob_format, refs, race_day, adding=not rid)
    if problem:
        s.plan.invalid.append(Invalid(row, rid or None, problem))
        return None
    if dob:
        p = p.copy(dob=dob)
    if kind:
        s.plan.damaged[kind] += 1
    if note:
        s.plan.notes.append(f"row {row} ({who_of(p)}): {note}")
    return p


def _registration_now(s: _Sides, rid: str, bp: Participant | None, cur_by_user: dict[str, list[Participant]]) -> str:
    """The id RaceEntry has now for a row's registration ``rid`` it no longer has: the id an earlier
    switch gave it, or the same user's registration the base lacks (RaceEntry gives a switched
    registration a new id); else ``rid`` itself."""
    target = rid
    if target not in s.current_by_id and target in s.renamed:
        target = s.renamed[target]
    if target not in s.current_by_id and bp is not None and bp.user_id:
        # Switched since the base (RaceEntry gives a switched registration a new id): same user.
        if not cur_by_user:
            for c in s.current:
                if c.user_id:
                    cur_by_user.setdefault(str(c.user_id), []).append(c)
        for cand in cur_by_user.get(str(bp.user_id), ()):
            if str(cand.registration_id) not in s.base_by_id and norm("last_name", cand.last_name) == norm(
                    "last_name", bp.last_name):
                target = str(cand.registration_id)
                break
    return target


def _adopt_live_runners(s: _Sides, new_rows: list[tuple[Participant, int]], claimed: dict[str, int],
                        matched: list[Matched], new_runners: set[int] | None) -> list[tuple[Participant, int]]:
    """The rows without an id to add. One that is a runner RaceEntry has (added by an earlier push whose
    ids the file lacks, another laptop, or registered online meanwhile) is that runner, never a second
    one: it joins ``matched`` as adopted (without a base for it nobody can tell who changed what since,
    so its differences are only listed, undecided). One that probably is a live runner though not by
    identity is invalid, unless its row is in ``new_runners``."""
    plan = s.plan
    unclaimed: dict[tuple, list[Participant]] = {}
    for p in s.current if new_rows else ():
        if str(p.registration_id) not in claimed:
            unclaimed.setdefault(identity(p), []).append(p)
    adds: list[tuple[Participant, int]] = []
    near: dict[tuple, list[Participant]] | None = None
    for p, row in new_rows:
        found = best_match(p, unclaimed.get(identity(p), ()))
        if found is not None:
            unclaimed[identity(p)].remove(found)
            claimed[str(found.registration_id)] = row
            plan.matched.append((row, str(found.registration_id)))
            matched.append((p, row, found, None, True))
            continue
        if row not in (new_runners or ()):
            if near is None:
                near = near_index(c for group in unclaimed.values() for c in group)
            like = near_match(p, near)
            if like is not None:
                plan.invalid.append(Invalid(row, None, f"{who_of(p)} looks like registration {like.registration_id} "
                                                       f"({who_of(like)}: {near_why(p, like)}): if it is that "
                                                       f"runner, put {like.registration_id} in the row; if not, "
                                                       f"push with --new-runner {row}"))
                continue
        adds.append((p, row))
    return adds


def _ids_look_moved(s: _Sides, matched: list[Matched]) -> list[Matched]:
    """``matched`` without the rows whose registration id holds another live runner's name and date of
    birth: the ids were moved (the Registration ID column sorted on its own). Such a row is invalid,
    never pushed (that would make one runner another); many of them make the whole plan suspect."""
    plan = s.plan
    moved: list[tuple[int, str, Participant, Participant]] = []
    renames = [m for m in matched if not m[4] and (m[0].first_name != m[2].first_name or m[0].last_name
                                                  != m[2].last_name) and identity(m[0]) != identity(m[2])]
    live_by_key = identity_index(s.current, {identity(m[0]) for m in renames})
    renaming = {id(m) for m in renames}
    kept = []
    for item in matched:
        p, row, cp, bp, adopted = item
        if id(item) in renaming:
            other = best_match(p, live_by_key.get(identity(p), ()))  # only rows whose names changed
            if other is not None and str(other.registration_id) != str(cp.registration_id) and (
                    p.dob and other.dob or p.email and other.email):
                moved.append((row, str(cp.registration_id), cp, other))
                continue
        kept.append(item)
    for row, rid, cp, other in moved:
        plan.invalid.append(Invalid(row, rid, f"registration {rid} is {who_of(cp)} in RaceEntry, but the row holds "
                                              f"the name and date of birth of {who_of(other)} (registration "
                                              f"{other.registration_id}): the id looks moved to another row; fix "
                                              f"the id"))
    if len(moved) >= 3 and len(moved) * 20 >= len(s.file):
        plan.suspect = (f"{len(moved)} of {len(s.file)} rows hold another runner's registration id: it looks like "
                        f"the Registration ID column was sorted on its own")
    return kept


def _orphans(s: _Sides, orphans: list[tuple[Participant, int, str]], removed: Iterable[str] | None
             ) -> list[tuple[Participant, int]]:
    """Rows whose registration is gone from RaceEntry: deleted there (ignored when the row is as the base
    had it, else a conflict), or never issued (a mistyped id: invalid). Returns the rows to add again
    (``--prefer file``, for a runner RaceEntry's removed feed lists and who is not registered again)."""
    plan, base_by_id, fields, prefer = s.plan, s.base_by_id, s.fields, s.prefer
    compare_event = "event_id" in s.present
    gone = set(removed) if removed is not None else None
    again: list[tuple[Participant, int]] = []
    for p, row, rid in orphans:
        bp = base_by_id.get(rid)
        if bp is None and gone is not None and rid not in gone:
            plan.invalid.append(Invalid(row, rid, f"unknown registration id {rid}: RaceEntry never issued it in "
                                                  f"race {plan.race_id}; fix the id, or clear it to add the runner"))
            continue
        edited = bp is None or any(norm(f, getattr(p, f)) != norm(f, getattr(bp, f)) for f in fields) or (
            compare_event and p.event_id is not None and p.event_id != bp.event_id)
        if not edited:
            plan.notes.append(f"row {row}: registration {rid} was deleted in RaceEntry; the row is ignored")
            continue
        what = "deleted in RaceEntry since the snapshot" if bp is not None else "not in RaceEntry (deleted?)"
        resolution = "file wins" if prefer == "file" else "not pushed"
        plan.conflicts.append(Conflict(row, rid, "(registration)", "present" if bp is not None else None,
                                       "edited", what, resolution, who_of(p)))
        if prefer == "file":
            twin = best_match(p, identity_index(s.current, {identity(p)}).get(identity(p), ()))
            if gone is None or rid not in gone:
                plan.notes.append(f"row {row}: registration {rid} is not in RaceEntry's removed participants; "
                                  f"not added again (check the id)")
            elif twin is not None:
                plan.notes.append(f"row {row}: registration {rid} was removed, but the runner is registered as "
                                  f"{twin.registration_id}; not added again (put {twin.registration_id} in the row)")
            else:
                again.append((p.copy(registration_id=None), row))
    return again


def _add_rows(s: _Sides, adds: list[tuple[Participant, int]], teams: TeamNeeds) -> None:
    """The adds, as RaceEntry writes their country and with the id of a team RaceEntry has; the bib or
    chip of a new runner listed as unpushable."""
    plan = s.plan
    for p, row in adds:
        if p.country_code and countries.code(p.country_code) != p.country_code:
            p = p.copy(country_code=countries.code(p.country_code))  # as RaceEntry writes it: "US" -> "USA"
        existing, new_team = (teams.team_for(p, row, p.event_id) if teams.by_team_name
                              else (clean_text(p.team_id) or None, None))
        if existing and existing != p.team_id:
            p = p.copy(team_id=existing)  # a late entry joining a team RaceEntry has: sent with its id
        plan.adds.append(Add(row, p, new_team))
        for f in UNPUSHABLE_FIELDS:
            if f in s.present and norm(f, getattr(p, f)):
                plan.unpushable.append(Unpushable(row, None, f, None, getattr(p, f),
                                                  f"RaceEntry's API has no {f} field: the new registration "
                                                  f"gets no {f}; set it in RaceEntry by hand", who_of(p)))


def _missing_from_file(s: _Sides, claimed: dict[str, int], delete: bool) -> None:
    """RaceEntry's participants the file lacks: joined since the base (a note), edited in RaceEntry since
    (a conflict), else deleted (``delete``, with a base or --two-way) or listed as not in the file."""
    plan, base_by_id, fields, prefer, undecided = s.plan, s.base_by_id, s.fields, s.prefer, s.undecided
    for p in s.current:
        rid = str(p.registration_id)
        if rid in claimed:
            continue
        bp = base_by_id.get(rid)
        if plan.three_way and bp is None:
            plan.notes.append(f"registration {rid} ({clean_text(p.first_name)} {clean_text(p.last_name)}) joined "
                              f"RaceEntry after the snapshot; pull again to get it into the file")
            continue
        if bp is not None and (any(norm(f, getattr(p, f)) != norm(f, getattr(bp, f)) for f in fields)
                               or p.event_id != bp.event_id):
            resolution = "file wins" if prefer == "file" else "not pushed"
            plan.conflicts.append(Conflict(None, rid, "(registration)", "present", "deleted",
                                           "edited in RaceEntry since the snapshot", resolution, who_of(p)))
            if prefer != "file":
                continue
        if delete and not undecided:
            plan.deletes.append(Delete(rid, p))
        else:
            plan.not_in_file.append(rid)
    if delete and undecided and plan.not_in_file:
        plan.notes.append(f"nothing deleted: without the version the file was made from, a runner missing from "
                          f"it may have registered since; --two-way deletes them ({len(plan.not_in_file)})")


def _plan_teams(plan: Plan, needs: TeamNeeds, team_types: Sequence[TeamType] | Callable[[], Sequence[TeamType]],
                team_type: str | None, current: Sequence[Participant], teams: Sequence[Team],
                rows: Sequence[int]) -> None:
    """The teams to create, each with its type, and the rows refused because their team has no room or
    does not take their event. Team types are read (when ``team_types`` is a function) only when the plan
    creates or joins a team."""
    if callable(team_types):
        team_types = team_types() if needs.needs or joins_a_team(plan) else ()
    plan.type_names = {str(t.team_type_id): t.team_type for t in team_types if t.team_type}
    plan.teams = choose_team_types(needs.needs, team_types, team_type, plan)
    check_team_sizes(plan, current, teams, team_types, rows)


def _name_invalid_rows(s: _Sides) -> None:
    """Each invalid row names its runner: as RaceEntry names them, else as the file does."""
    if s.plan.invalid:
        by_row = dict(zip(s.rows, s.file))
        for i in s.plan.invalid:
            cur = s.current_by_id.get(str(i.registration_id)) if i.registration_id else None
            i.who = i.who or who_of(cur or by_row.get(i.row) or Participant())


def _repeats(plan: Plan, new_rows: list[tuple[Participant, int]], with_ids: list[tuple[Participant, int]],
             present: set[str]) -> list[tuple[Participant, int]]:
    """The rows without an id that are not another row's runner again. A row that repeats an earlier
    row's values is left out (one runner, noted in ``plan.repeats``); one that is the same runner with
    other values is invalid, naming both rows."""
    seen: dict[tuple, list[tuple[Participant, int]]] = {}
    for p, row in with_ids:
        seen.setdefault(identity(p), []).append((p, row))
    fields = [f for f in COMPARED_FIELDS if f in present]
    out = []
    for p, row in new_rows:
        twin = next(((q, r) for q, r in seen.get(identity(p), ()) if same_person(p, q)), None)
        if twin is None:
            seen.setdefault(identity(p), []).append((p, row))
            out.append((p, row))
            continue
        q, first = twin
        if all(norm(f, getattr(p, f)) == norm(f, getattr(q, f)) for f in fields) and (
                q.event_id == p.event_id or p.event_id is None):
            plan.repeats.append((row, first))
            plan.notes.append(f"row {row} repeats row {first} ({who_of(p)}): one runner, not added twice")
        else:
            plan.invalid.append(Invalid(row, None, f"{who_of(p)} is on rows {first} and {row} (same name and "
                                                   f"date of birth) with different values: keep one row"))
    return out
_SORT_FIELDS = ("first_name", "last_name", "dob", "email", "gender", "phone", "street", "city", "zipcode")


def _sorted_column(plan: Plan, current: Sequence[Participant]) -> str | None:
    """Why the plan looks like one column sorted on its own (a spreadsheet's "continue with the current
    selection"): many rows changed just one field, each to a value another runner has. None when not."""
    single: Counter = Counter()
    for m in plan.modifies:
        if len(m.changes) == 1 and m.changes[0].field in _SORT_FIELDS:
            single[m.changes[0].field] += 1
    if not single:
        return None
    name, n = single.most_common(1)[0]
    if n < 5 or n * 5 < plan.file_rows:
        return None
    held = {norm(name, getattr(p, name)) for p in current}
    moved = sum(1 for m in plan.modifies if len(m.changes) == 1 and m.changes[0].field == name
                and norm(name, m.changes[0].new) in held)
    if moved < 5 or moved * 5 < plan.file_rows:
        return None
    label = {"dob": "date of birth", "zipcode": "ZIP"}.get(name, name.replace("_", " "))
    return (f"{moved} of {plan.file_rows} rows changed their {label} and nothing else, each to another runner's: "
            f"it looks like one column was sorted on its own")
