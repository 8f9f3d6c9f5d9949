"""The team-type rules: which events a type takes, how many members a team and how many teams a race
may have, and the team fields every member's document carries."""

from __future__ import annotations

from .protocol import RowError
from .store import Store


def type_name(tt: dict) -> str:
    """A team type as an error names it: ``team type 3 (Relay)``."""
    return f"team type {tt['team_type_id']} ({tt.get('team_type')})"


def event_refused(tt: dict, event_id: int) -> str | None:
    """Why a runner in ``event_id`` cannot be on a team of type ``tt`` (None: it can). No
    valid_event_ids (missing or empty) means every event."""
    valid = tt.get("valid_event_ids")
    if not valid or event_id in valid:
        return None
    return f"{type_name(tt)} takes events {', '.join(map(str, valid))} only, not event {event_id}"


def check_type_takes(store: Store, race_id: int, tt: dict, team: dict) -> None:
    """A team (new, or changing its type) may be of type ``tt``: the race has fewer than its
    max_num_teams, and an existing team's members fit its max_members and valid_event_ids."""
    cap = tt.get("max_num_teams")
    n = store.db.execute("SELECT count(*) FROM teams WHERE race_id=? AND team_type_id=?",
                         (race_id, tt["team_type_id"])).fetchone()[0]
    if cap is not None and n >= cap:
        raise RowError(f"race {race_id} already has {n} teams of {type_name(tt)}, its max_num_teams")
    if team["team_id"] is None:
        return
    members = store.team_members(race_id, team["team_id"])
    if tt.get("max_members") is not None and len(members) > tt["max_members"]:
        raise RowError(f"the team cannot change type: it has {len(members)} members and {type_name(tt)} "
                       f"allows {tt['max_members']}")
    for p in members:
        why = event_refused(tt, p["event_id"])
        if why:
            raise RowError(f"the team cannot change type: {why} (member registration {p['registration_id']})")


def check_can_join(store: Store, race_id: int, team: dict, tt: dict, event_id: int) -> None:
    """A runner in ``event_id`` may join ``team`` (of type ``tt``): the event is one the type takes,
    and the team has fewer than max_members."""
    name = f"team {team['team_id']} ({team['team_name']})"
    why = event_refused(tt, event_id)
    if why:
        raise RowError(f"cannot join {name}: {why}")
    cap = tt.get("max_members")
    if cap is not None and len(store.team_members(race_id, team["team_id"])) >= cap:
        raise RowError(f"cannot join {name}: it is full ({type_name(tt)} allows {cap} members)")


def apply_team(p: dict, team: dict | None, types: dict) -> None:
    """Copy ``team``'s fields into participant ``p`` (None: off every team)."""
    if team is None:
        for k in ("team_id", "team_name", "team_type_id", "team_type", "team_gender", "team_bib_num"):
            p[k] = None
        return
    p["team_id"] = team["team_id"]
    p["team_name"] = team["team_name"]
    p["team_type_id"] = team["team_type_id"]
    p["team_type"] = types.get(team["team_type_id"], {}).get("team_type")
    p["team_gender"] = team.get("team_gender")
    p["team_bib_num"] = team.get("team_bib_num")
