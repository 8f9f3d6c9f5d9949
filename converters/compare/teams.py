"""The teams of a plan: the team a row names (RaceEntry's, or one to create), the type of each team to
create, and whether a team a runner joins takes their event and has room."""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from ..errors import PlanError
from ..model import Participant, Team, TeamType
from .plans import Invalid, NewTeam, Plan
from .values import clean_text, norm, rows_text


class TeamNeeds:
    """The teams the file's rows name, by name when the file has a team name column: RaceEntry's team of
    that name, else a team the plan creates (:attr:`needs`: normalised name -> (the name as typed, its
    rows, the events of its runners)), for :func:`choose_team_types`."""

    def __init__(self, teams: Sequence[Team], by_team_name: bool):
        self.by_id = {str(t.team_id): t for t in teams if t.team_id}
        self.by_name = {norm("team_name", t.team_name): t for t in teams if t.team_name}
        self.by_team_name = by_team_name
        self.needs: dict[str, tuple[str, list[int], set[int]]] = {}

    def team_for(self, p: Participant, row: int, event_id: int | None) -> tuple[str | None, str | None]:
        """(existing team id, name of a team to create) for the file's team of ``p``."""
        if self.by_team_name:
            name = clean_text(p.team_name)
            if not name:
                return None, None
            key = norm("team_name", name)
            if key in self.by_name:
                return str(self.by_name[key].team_id), None
            entry = self.needs.setdefault(key, (name, [], set()))
            entry[1].append(row)
            if event_id is not None:
                entry[2].add(event_id)
            return None, name
        return (clean_text(p.team_id) or None), None


def choose_team_types(needs: dict[str, tuple[str, list[int], set[int]]], team_types: Sequence[TeamType],
                      chosen: str | None, plan: Plan | None = None) -> list[NewTeam]:
    """The teams to create, each with its type: ``chosen`` (--team-type) when it takes the team's
    events, else the one type that does. Raises PlanError when none fits, or more than one."""
    ev = plan.event if plan is not None else str
    out = []
    known = {str(t.team_type_id): t for t in team_types}
    if chosen is not None and known and str(chosen) not in known:
        raise PlanError(f"--team-type {chosen} is not a team type of this race; choose one of: "
                        f"{_type_options(team_types, ev)}")
    for name, rows, event_ids in needs.values():
        if chosen is not None:
            kind = known.get(str(chosen))
            outside = sorted(event_ids - set(kind.valid_event_ids)) if kind and kind.valid_event_ids else []
            if outside:
                # RaceEntry would create the team and then refuse its members (or worse, accept them).
                fits = [t for t in team_types if event_ids and event_ids <= set(t.valid_event_ids)]
                raise PlanError(f"--team-type {chosen} ({kind.team_type}) does not cover event "
                                f"{', '.join(map(ev, outside))} of new team {name!r} (rows {rows_text(rows)}); "
                                f"choose one of: {_type_options(fits or team_types, ev)}")
            out.append(NewTeam(name, str(chosen), sorted(rows)))
            continue
        fits = [t for t in team_types if event_ids and event_ids <= set(t.valid_event_ids)]
        if len(fits) != 1:
            why = "more than one team type fits" if fits else "no team type fits its events"
            raise PlanError(f"cannot choose a team type for new team {name!r} (rows {rows_text(rows)}, events "
                            f"{', '.join(map(ev, sorted(event_ids))) or 'none'}): {why}; use --team-type with one "
                            f"of: {_type_options(fits or team_types, ev)}")
        out.append(NewTeam(name, str(fits[0].team_type_id), sorted(rows)))
    return out


def _type_options(types: Sequence[TeamType], ev: Any = str) -> str:
    """The team types to choose from: the id to type, then the name and events as RaceEntry names them."""
    return ", ".join(f"{t.team_type_id} ({t.team_type}, events {', '.join(map(ev, t.valid_event_ids))})"
                     for t in types) or "(this race has no team types)"


def joins_a_team(plan: Plan) -> bool:
    """Whether the plan puts a runner on a team (so the team's type says whether there is room)."""
    return (any(a.new_team or a.participant.team_id for a in plan.adds)
            or any(c.field == "team" for m in plan.modifies for c in m.changes))


def check_team_sizes(plan: Plan, current: Sequence[Participant], teams: Sequence[Team],
                     team_types: Sequence[TeamType], rows: Sequence[int]) -> None:
    """Runners the plan puts on a team, one RaceEntry has or one the plan creates: the team's type must
    take their event and have room (its max_members). A row that does not fit is invalid (nothing of it
    sent), before anything goes: RaceEntry would refuse it after the rest was sent."""
    if not team_types or not (teams or plan.teams):
        return
    by_id = {str(t.team_id): t for t in teams if t.team_id}
    types = {str(t.team_type_id): t for t in team_types}
    new_types = {norm("team_name", t.name): str(t.team_type_id) for t in plan.teams}
    members: Counter = Counter(str(p.team_id) for p in current if p.team_id)
    leaving = {m.registration_id for m in plan.modifies if any(c.field == "team" for c in m.changes)}
    for p in current:
        if p.team_id and str(p.registration_id) in leaving:
            members[str(p.team_id)] -= 1
    # (row, registration id, team key, team name, team type, event, plan item), in file order
    joining: list[tuple[int, str | None, str, str, TeamType | None, int | None, Any]] = []
    for a in plan.adds:
        if a.new_team:
            key = "new:" + norm("team_name", a.new_team)
            joining.append((a.row, None, key, a.new_team, types.get(new_types.get(key[4:], "")),
                            a.participant.event_id, a))
        elif a.participant.team_id and str(a.participant.team_id) in by_id:
            team = by_id[str(a.participant.team_id)]
            joining.append((a.row, None, str(team.team_id), team.team_name or str(team.team_id),
                            types.get(str(team.team_type_id)), a.participant.event_id, a))
    for m in plan.modifies:
        if not any(c.field == "team" for c in m.changes):
            continue
        if m.new_team:
            key = "new:" + norm("team_name", m.new_team)
            joining.append((m.row, m.registration_id, key, m.new_team, types.get(new_types.get(key[4:], "")),
                            m.event_id, m))
        elif m.team_id and str(m.team_id) in by_id:
            team = by_id[str(m.team_id)]
            joining.append((m.row, m.registration_id, str(team.team_id), team.team_name or str(team.team_id),
                            types.get(str(team.team_type_id)), m.event_id, m))
    refused: list[Any] = []
    for row, rid, key, name, kind, event_id, item in sorted(joining, key=lambda j: j[0]):
        if kind is None:
            continue
        limit = kind.raw.get("max_members") if isinstance(kind.raw, dict) else None
        kind_name = plan.team_type(kind.team_type_id)
        if kind.valid_event_ids and event_id is not None and event_id not in kind.valid_event_ids:
            problem = (f"team {name!r} ({kind.team_type}) takes events "
                       f"{', '.join(plan.event(e) for e in kind.valid_event_ids)}, not event {plan.event(event_id)}")
        elif isinstance(limit, int) and members[key] >= limit:
            problem = (f"new team {name!r} would be full ({kind_name} takes {limit} members; earlier rows fill it)"
                       if key.startswith("new:") else f"team {name!r} is full ({members[key]} of {limit} members)")
        else:
            members[key] += 1
            continue
        plan.invalid.append(Invalid(row, rid, f"{problem}: choose another team or leave it blank"))
        refused.append(item)
    if refused:
        plan.adds = [a for a in plan.adds if a not in refused]
        plan.modifies = [m for m in plan.modifies if m not in refused]
        # A new team none of whose runners can join is not created either.
        joined = {norm("team_name", x.new_team) for x in (*plan.adds, *plan.modifies) if x.new_team}
        plan.teams = [t for t in plan.teams if norm("team_name", t.name) in joined]
