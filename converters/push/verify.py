"""Checking a push afterwards: RaceEntry read back (only what changed since the plan's read, where it
can be), the counts, each added runner there once (a twin: the same runner added at the same moment by
another push) and each deleted one gone, and every runner the push changed holding nothing else than
before but the changes (a field RaceEntry wiped).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..compare.identity import identity, identity_index, same_person
from ..compare.values import COMPARED_FIELDS, norm, who_of
from ..model import Participant
from .readback import READ_OVERLAP
from .result import PushResult, Twin, Wiped
from ..plan.racestate import RaceState, advance


def verify(client: Any, race_id: int, result: PushResult, before: int, rs: RaceState | None = None) -> list[str]:
    """Read RaceEntry back and check every row sent: that the counts add up (``before``: how many
    participants RaceEntry had when the push was planned), that each added runner is there once and each
    deleted one gone, and that the runners it modified or switched hold nothing else than before but the
    changes (:func:`check_changed`: ``result.wiped``; registration ids may have changed with switches).

    With ``rs`` (the state the plan was made from, read at ``rs.read_at`` in the server's time) only
    what changed since is read and folded into it (:func:`converters.plan.racestate.advance`); else the whole
    race."""
    if rs is not None and rs.read_at:
        advance(client, rs, READ_OVERLAP)
        after = rs.current
    else:
        after = client.participants_answer(race_id, 0).participants
    problems: list[str] = []
    result.wiped = check_changed(result, after)  # every other field of the runners changed is as it was
    by_id = {str(p.registration_id): p for p in after}
    index = identity_index(after, {identity(by_id[rid]) for _, rid in result.added if rid in by_id})
    for row, rid in result.added:
        p = by_id.get(rid)
        if p is None:
            problems.append(f"row {row}: added as registration {rid}, which RaceEntry no longer lists")
            continue
        twins = twins_of(p, index.get(identity(p), ()))
        if twins:  # the same runner added at the same moment by another push (another machine)
            result.twins.append(Twin(row, f"{p.first_name or ''} {p.last_name or ''}".strip(), rid,
                                     [str(q.registration_id) for q in twins]))
    for rid in result.deleted:
        if rid in by_id:
            problems.append(f"registration {rid}: deleted by this push, but RaceEntry still lists it")
    expected = before + len(result.added) - len(result.deleted)
    if len(after) != expected and len(after) != expected + len(result.twins):  # twins are said on their own
        problems.insert(0, f"RaceEntry now has {len(after)} participants, expected {expected}: someone else may be "
                        f"editing the race; run diff to see the difference")
    return problems


def check_changed(result: PushResult, after: Sequence[Participant]) -> list[Wiped]:
    """Each runner this push changed, read back (``after``), against RaceEntry's record before the push with
    the intended changes: any other field RaceEntry now holds otherwise (a RaceEntry that replaced the
    record on update and blanked what the update did not name) is a Wiped naming runner and field."""
    by_id = {str(p.registration_id): p for p in after}
    out: list[Wiped] = []
    for rid, c in result.changed.items():
        p = by_id.get(rid)
        if p is None:
            continue  # gone: the count check says so
        name = who_of(c.expected) or f"registration {rid}"
        did = " and ".join(c.what) if c.what else "record"
        when = (f"when {_pronoun(c.before)} {did} {'was' if len(c.what) <= 1 else 'were'} changed"
                if c.what != ["event"] else f"when {'she' if _pronoun(c.before) == 'her' else 'he' if _pronoun(c.before) == 'his' else 'they'} "
                f"{'were' if _pronoun(c.before) == 'their' else 'was'} switched to event {c.expected.event_id}")
        diffs = [(f, getattr(c.expected, f), getattr(p, f)) for f in COMPARED_FIELDS
                 if norm(f, getattr(c.expected, f)) != norm(f, getattr(p, f))]
        if p.event_id != c.expected.event_id:
            diffs.append(("event_id", c.expected.event_id, p.event_id))
        if (p.team_id or "") != (str(c.expected.team_id) if c.expected.team_id not in (None, "") else ""):
            diffs.append(("team", c.before.team_name if c.expected.team_id == c.before.team_id else c.expected.team_id,
                          p.team_name or p.team_id))
        for f, want, got in diffs:
            label = f.replace("_", " ")
            how = "blanked" if got in (None, "") else f"changed to {got}"
            fix = (f"put it back in RaceEntry ({label} {_show(want)}), or push the file again: the file's "
                   f"{label} is then sent")
            out.append(Wiped(c.row, rid, name, f, want, got,
                             f"{name}'s {label} was {how} by RaceEntry {when} (row {c.row}, registration {rid}): "
                             f"{fix}"))
    return out


def twins_of(p: Participant, everyone: Sequence[Participant]) -> list[Participant]:
    """The registrations other than ``p`` that are the same runner (:func:`converters.compare.diff.same_person`:
    names and date of birth; the email only where a date of birth is missing: RaceEntry may fill a missing
    email with the account's own, so two machines' adds of one runner can carry two emails)."""
    return [q for q in everyone if str(q.registration_id) != str(p.registration_id) and same_person(p, q)]


def _pronoun(p: Participant) -> str:
    return {"F": "her", "M": "his"}.get(norm("gender", p.gender), "their")


def _show(v: Any) -> str:
    return "blank" if v in (None, "") else str(v)
