"""A plan as POST bodies: the participants rows of its adds and modifies (built once per plan), a new
team's id in place of its placeholder, and every request body of a plan (teams, participants, switches,
deletes in batches)."""

from __future__ import annotations

from typing import Any

from .bodies import (POSTABLE_FIELDS, delete_request, participant_payload, participants_request, switch_request,
                     teams_request)
from ..model import INT_TEXT, Team
from .plans import Add, Modify, Plan
from .values import norm, push_value

MAX_DELETE_PER_REQUEST = 250


def add_payload(a: Add, team_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The POST participants row creating ``a``'s participant (new team ids from ``team_ids``)."""
    p = a.participant.copy(registration_id=None)
    for f in POSTABLE_FIELDS:
        if f != "team_id":
            setattr(p, f, push_value(f, getattr(p, f)))
    p.team_id = _team_id(p.team_id, a.new_team, team_ids, p.team_name)
    return participant_payload(p)


def modify_payload(m: Modify, team_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The POST participants row updating ``m``'s runner (event: the current one): the runner's complete
    record as RaceEntry has it (``m.current``, from the read the plan was made from) with the file's
    changes applied (user, address, team), so a RaceEntry that replaces the record (or its user or
    address object) on update keeps every field, as one that merges does. Values come from RaceEntry's
    record or the file's changes only, never from the file's unchanged cells; a field RaceEntry has blank
    stays out (see :func:`converters.compare.bodies.participant_payload`)."""
    p = m.current.copy(event_id=m.event_id)
    changed = []
    for c in m.changes:
        if c.field == "team":
            p.team_id = _team_id(m.team_id, m.new_team, team_ids, None) or ""
            changed.append("team_id")
        else:
            setattr(p, c.field, c.new)
            changed.append(c.field)
    return participant_payload(p, changed)


def _team_id(existing: str | None, new_team: str | None, team_ids: dict[str, str] | None,
             fallback_name: str | None) -> str | None:
    if new_team:
        key = norm("team_name", new_team)
        if team_ids and key in team_ids:
            return team_ids[key]
        # Not created yet (plan files): a placeholder naming the team; push replaces it with the new id.
        return f"new team: {new_team}"
    return existing


def participant_rows(plan: Plan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The POST participants rows of the plan's adds and modifies, built once per plan (the push sends
    them, the plan folder keeps them): a team the plan creates is named by its placeholder, which
    :func:`with_team_id` replaces with the id RaceEntry gave it."""
    rows = plan.__dict__.get("_participant_rows")
    if rows is None:
        rows = plan.__dict__["_participant_rows"] = (
            [add_payload(a) for a in plan.adds], [modify_payload(m) for m in plan.modifies])
    return rows


def with_team_id(row: dict[str, Any], new_team: str | None, team_ids: dict[str, str]) -> dict[str, Any]:
    """``row`` (from :func:`participant_rows`) with the id of the new team it joins in place of the
    placeholder (a copy; the plan's row stays as it is)."""
    placeholder = f"new team: {new_team}" if new_team else None
    if placeholder is None or row.get("team_id", row["user"].get("team_id")) != placeholder:
        return row
    real = _team_id(None, new_team, team_ids, None)
    value = int(real) if real is not None and INT_TEXT.match(real) else real  # as participant_payload
    out = dict(row, user=dict(row["user"]))
    for part in (out, out["user"]):
        if part.get("team_id") == placeholder:
            part["team_id"] = value
    return out


def plan_requests(plan: Plan, team_ids: dict[str, str] | None = None,
                  delete_batch: int = MAX_DELETE_PER_REQUEST) -> dict[str, Any]:
    """The request bodies of a plan: ``teams``, ``participants``, ``switch_participant_events`` and
    ``delete_participants`` (a list of bodies, at most 250 deletes each); empty ones left out."""
    out: dict[str, Any] = {}
    if plan.teams:
        out["teams"] = teams_request(Team(team_id=None, team_type_id=t.team_type_id, team_name=t.name)
                                     for t in plan.teams)
    adds, modifies = participant_rows(plan)
    rows = adds + modifies
    if team_ids:
        rows = ([with_team_id(r, a.new_team, team_ids) for r, a in zip(adds, plan.adds)]
                + [with_team_id(r, m.new_team, team_ids) for r, m in zip(modifies, plan.modifies)])
    if rows:
        out["participants"] = participants_request(rows)
    if plan.switches:
        out["switch_participant_events"] = switch_request((s.registration_id, s.new_event_id) for s in plan.switches)
    if plan.deletes:
        ids = [d.registration_id for d in plan.deletes]
        out["delete_participants"] = [delete_request(ids[i:i + delete_batch]) for i in range(0, len(ids), delete_batch)]
    return out
