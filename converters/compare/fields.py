"""The comparison of the rows tied to a registration, field by field: each field, the team and the event
decided three ways (file, base, RaceEntry) as a change to send, a change only RaceEntry made (stale),
spreadsheet damage, a conflict, or a difference nobody can tell the author of; and the bib, chip and age
RaceEntry's API cannot take."""

from __future__ import annotations

import operator
from typing import Any, Sequence

from .damage import DAMAGE_KINDS, damage_of, question_marked, transliterated
from ..model import Participant, Team
from .plans import Change, Conflict, Invalid, Modify, Plan, Switch, Unpushable
from .teams import TeamNeeds
from .validate import BAD_CHARS
from .values import UNPUSHABLE_FIELDS, clean_text, norm, push_value, who_of

# A file row tied to a registration: (the row's participant, its row, RaceEntry's participant, the base's
# (None when no base has it), adopted: a row without an id that is a runner RaceEntry has).
Matched = tuple[Participant, int, Participant, "Participant | None", bool]


def compare_matched(plan: Plan, matched: Sequence[Matched], *, fields: Sequence[str], present: set[str],
                    created: set[str], teams: TeamNeeds, prefer: str | None, undecided: bool) -> None:
    """Compare each tied row with its registration, into ``plan``: modifies, switches, conflicts, stale
    fields, spreadsheet damage, unpushable bib, chip and age, and differences listed as undecided (a row
    without a base when ``undecided``: no base and no --two-way; or a row adopted without an id).
    ``fields``: the compared fields the file has; ``created``: registrations a push of this file added
    (RaceEntry may fill blanks on create); ``prefer``: "file" or "raceentry" settles conflicts."""
    get_fields = operator.attrgetter(*fields) if fields else (lambda p: None)  # C speed for unchanged rows
    by_team_name = teams.by_team_name
    compare_team = by_team_name or "team_id" in present
    compare_event = "event_id" in present
    unpushable = [f for f in UNPUSHABLE_FIELDS if f in present]
    compare_age = "age" in present
    for p, row, cp, bp, adopted in matched:
        rid = str(cp.registration_id)
        changes = (_compare_fields(plan, p, row, rid, cp, bp, adopted, created, fields, prefer, undecided)
                   if get_fields(p) != get_fields(cp) else [])
        team_id = new_team = None
        if compare_team and not (by_team_name and p.team_name == cp.team_name):
            team_id, new_team = _compare_team(plan, p, row, rid, cp, bp, adopted, teams, prefer, undecided, changes)
        bad = next((c for c in changes if isinstance(c.new, str) and BAD_CHARS.search(c.new)), None) if changes \
            else None
        if bad is not None:  # never send a control character or a lost-character mark over a real value
            what = "holds \ufffd where characters were lost (the file was opened with the wrong character set)" \
                if "\ufffd" in bad.new else "holds a control character: retype the value"
            plan.invalid.append(Invalid(row, rid, f"{bad.field.replace('_', ' ')} {clean_text(bad.new)!r} {what}"))
        elif changes:
            plan.modifies.append(Modify(row, rid, cp.event_id, changes, cp, team_id, new_team))
        if compare_event and p.event_id is not None and p.event_id != cp.event_id:
            _compare_event(plan, p, row, rid, cp, bp, adopted, prefer, undecided)
        for f in unpushable:
            if getattr(p, f) != getattr(cp, f):
                _unpushable_change(plan, f, p, row, rid, cp, bp)
        if compare_age and p.age is not None and p.age != cp.age and (bp is None or p.age != bp.age):
            plan.unpushable.append(Unpushable(row, rid, "age", cp.age, p.age,
                                              "RaceEntry computes age from the date of birth: change dob instead",
                                              who_of(cp)))


def _compare_fields(plan: Plan, p: Participant, row: int, rid: str, cp: Participant, bp: Participant | None,
                    adopted: bool, created: set[str], fields: Sequence[str], prefer: str | None,
                    undecided: bool) -> list[Change]:
    """The changes to send of a row whose compared fields differ from its registration's (conflicts,
    stale fields, damage and undecided differences recorded in ``plan`` as they are found)."""
    changes: list[Change] = []
    for f in fields:
        raw = getattr(p, f)
        if raw == getattr(cp, f):
            continue  # the common case, decided without normalising
        if (adopted or rid in created) and not norm(f, raw):
            continue  # RaceEntry filled it on create (email: the account's); the row did not set it
        decision = _decide(norm(f, raw), norm(f, getattr(cp, f)),
                           norm(f, getattr(bp, f)) if bp is not None else None)
        if decision == "push" and bp is None and (adopted or undecided):
            _undecided(plan, row, rid, f, raw, getattr(cp, f), cp, adopted)
        elif decision == "stale":
            plan.stale += 1
        elif decision in DAMAGE_KINDS:
            plan.damaged[decision] += 1
        elif decision == "push" or (decision == "conflict" and _settle(plan, row, rid, f, bp, p, cp, prefer)):
            changes.append(Change(f, getattr(cp, f), push_value(f, getattr(p, f))))
    return changes


def _compare_team(plan: Plan, p: Participant, row: int, rid: str, cp: Participant, bp: Participant | None,
                  adopted: bool, teams: TeamNeeds, prefer: str | None, undecided: bool,
                  changes: list[Change]) -> tuple[str | None, str | None]:
    """The row's team against its registration's: a team change goes into ``changes``, with (the team's
    id, the name of a team to create) returned; (None, None) when there is none."""
    by_team_name, team_by_id = teams.by_team_name, teams.by_id
    fv = _team_value(p, team_by_id, by_team_name)
    cv = norm("team_name", cp.team_name) if cp.team_name else _team_value(cp, team_by_id, False)
    bv = None
    if bp is not None:
        bv = norm("team_name", bp.team_name) if bp.team_name else _team_value(bp, team_by_id, False)
    decision = _decide(fv, cv, bv)
    team_id = new_team = None
    if decision == "push" and bp is None and (adopted or undecided):
        _undecided(plan, row, rid, "team", p.team_name if by_team_name else p.team_id, cp.team_name, cp, adopted)
    elif decision == "stale":
        plan.stale += 1
    elif decision in DAMAGE_KINDS:
        plan.damaged[decision] += 1
    elif decision == "push" or (decision == "conflict" and _settle(
            plan, row, rid, "team", bp, p, cp, prefer, "team_name")):
        team_id, new_team = teams.team_for(p, row, cp.event_id)
        changes.append(Change("team", cp.team_name, clean_text(p.team_name) if by_team_name else team_id))
    return team_id, new_team


def _compare_event(plan: Plan, p: Participant, row: int, rid: str, cp: Participant, bp: Participant | None,
                   adopted: bool, prefer: str | None, undecided: bool) -> None:
    """A row in another event than its registration: a switch, unless RaceEntry moved it (stale) or
    nobody can tell, or both did (a conflict)."""
    decision = _decide(str(p.event_id), str(cp.event_id), str(bp.event_id) if bp is not None else None)
    if decision == "push" and bp is None and (adopted or undecided):
        _undecided(plan, row, rid, "event_id", p.event_id, cp.event_id, cp, adopted)
    elif decision == "stale":
        plan.stale += 1
    elif decision == "push" or (decision == "conflict" and _settle(plan, row, rid, "event_id", bp, p, cp, prefer)):
        plan.switches.append(Switch(row, rid, cp.event_id, int(p.event_id), cp))


def _unpushable_change(plan: Plan, f: str, p: Participant, row: int, rid: str, cp: Participant,
                       bp: Participant | None) -> None:
    """A bib or chip the file changed: listed as unpushable (RaceEntry's API has no such field), unless
    it is the same value or a spreadsheet's spelling of it (counted as damage)."""
    fv, cv = norm(f, getattr(p, f)), norm(f, getattr(cp, f))
    if fv != cv and (bp is None or fv != norm(f, getattr(bp, f))):
        kind = damage_of(fv, cv) or (damage_of(fv, norm(f, getattr(bp, f))) if bp is not None else None)
        if kind:  # a 12-digit chip shown as 1.23457E+11: the spreadsheet's, not a change
            plan.damaged[kind] += 1
            return
        plan.unpushable.append(Unpushable(row, rid, f, getattr(cp, f), getattr(p, f),
                                          f"RaceEntry's API has no {f} field: change it in RaceEntry "
                                          f"by hand or keep it in the timing program", who_of(cp)))


def _decide(fv: str, cv: str, bv: str | None) -> str | None:
    """None (same), "push", "stale" (changed only in RaceEntry), "conflict" (changed on both sides), or
    the kind of spreadsheet damage (a value a spreadsheet makes of RaceEntry's or the base's: not an edit)."""
    if fv == cv:
        return None
    damage = damage_of(fv, cv) or (damage_of(fv, bv) if bv else None)
    if damage:
        return damage
    if bv and fv != bv and not bv.isascii() and fv in (transliterated(bv), question_marked(bv)):
        # "Ivanov" in a Windows-1252 file pulled when RaceEntry said "Иванов": the file holds the base as
        # the code page could; RaceEntry renamed the runner since. Stale, not a conflict to push over it.
        # RaceEntry still says "Иванов": the file is as pulled, nothing changed on either side.
        fv = bv
        if fv == cv:
            return None
    if fv and not cv.isascii() and fv in (transliterated(cv), question_marked(cv)):
        # A Windows-1252 file holds "Lukasz" (our writer transliterates) or "?ukasz" (a Windows spreadsheet
        # re-saved it as "CSV", writing "?" for what the code page lacks) for RaceEntry's "Łukasz": the save
        # lost characters, the timer edited nothing; sending it would overwrite the name in RaceEntry.
        return None
    if bv is None:
        return "push"
    if fv == bv:
        return "stale"
    if cv == bv:
        return "push"
    return "conflict"


def _team_value(p: Participant, by_id: dict[str, Team], by_team_name: bool) -> str:
    if by_team_name:
        return norm("team_name", p.team_name)
    if p.team_id and p.team_id in by_id:
        return norm("team_name", by_id[p.team_id].team_name)
    return norm("team_name", p.team_id)


def _undecided(plan: Plan, row: int, rid: str, name: str, file_value: Any, raceentry: Any, cp: Participant,
               adopted: bool) -> None:
    why = ("the row has no registration id and is this runner in RaceEntry: not sent" if adopted else
           "no base: cannot tell who changed this (--two-way sends it)")
    plan.undecided.append(Conflict(row, rid, name, None, file_value, raceentry, why, who_of(cp)))


def _settle(plan: Plan, row: int, rid: str, name: str, bp: Participant | None, p: Participant,
            cp: Participant, prefer: str | None, attr: str | None = None) -> bool:
    """Record a conflict; True when ``--prefer file`` says to push the file's value anyway."""
    attr = attr or name
    resolution = {"file": "file wins", "raceentry": "RaceEntry wins"}.get(prefer or "", "not pushed")
    plan.conflicts.append(Conflict(row, rid, name, getattr(bp, attr) if bp is not None else None,
                                   getattr(p, attr), getattr(cp, attr), resolution, who_of(cp)))
    return prefer == "file"
