"""Which function answers which /rest request: ``ROUTES`` (method and path -> endpoint), ``HANDLERS``
(endpoint -> its function in ``reads``, ``writes`` or ``participants``), and ``route``, which checks the
key pair and the race before calling it. A new endpoint is a line in each table."""

from __future__ import annotations

from typing import Callable

from .bodies import request_object
from .participants import post_participants
from .protocol import ERR_NOT_FOUND, ERR_RACE, ApiError
from .reads import participants, races, removed_participants, team_types, teams
from .state import Server
from .writes import delete, post_teams, switch

# (method, path under /rest, "{race}" standing for the race id) -> the endpoint: a name of HANDLERS, or
# the login and the races (which need no race).
ROUTES = {
    ("POST", "login"): "login",
    ("GET", "races"): "races",
    ("GET", "race/{race}/participants"): "participants",
    ("GET", "race/{race}/removed_participants"): "removed_participants",
    ("GET", "race/{race}/teams"): "teams",
    ("GET", "race/{race}/teams/team_types"): "team_types",
    ("POST", "race/{race}/participants"): "post_participants",
    ("POST", "race/{race}/switch_participant_events"): "switch",
    ("POST", "race/{race}/delete_participants"): "delete",
    ("POST", "race/{race}/teams"): "post_teams",
}

# A race's endpoints: (server, race id, the query of a GET or the request object of a POST) -> the answer.
HANDLERS: dict[str, Callable[[Server, int, dict], bytes]] = {
    "participants": participants,
    "removed_participants": removed_participants,
    "teams": teams,
    "team_types": team_types,
    "post_participants": post_participants,
    "switch": switch,
    "delete": delete,
    "post_teams": post_teams,
}


def endpoint(method: str, path: str) -> tuple[str, str]:
    """The ROUTES handler for ``method path`` and the race id text in the path ("" if none); ApiError 404
    for anything else."""
    parts = path.split("/")
    race = ""
    if parts[:2] == ["", "rest"]:
        if len(parts) > 4 and parts[2] == "race":
            race, parts[3] = parts[3], "{race}"
        name = ROUTES.get((method, "/".join(parts[2:])))
        if name:
            return name, race
    raise ApiError(ERR_NOT_FOUND, f"Unknown endpoint {method} {path}", 404)


def check(srv: Server, method: str, path: str, query: dict) -> None:
    """ApiError unless the request would be taken: a known endpoint, and a good key pair."""
    endpoint(method, path)
    srv.creds.check(query, srv.clock.now())


def route(srv: Server, method: str, path: str, query: dict, raw: bytes, ctype: str, auth: bool = True) -> bytes:
    """The answer to a /rest request (ApiError when refused): an unknown path is a 404 before any
    credential check; then the key pair (unless ``auth`` is False: checked before), then the race."""
    name, race = endpoint(method, path)   # an unknown path is a 404 before any credential check
    if name == "login":
        return srv.creds.login(query, ctype, raw, srv.clock.now())
    if auth:
        srv.creds.check(query, srv.clock.now())
    if name == "races":
        return races(srv, query)
    try:
        race_id = int(race)
    except ValueError:
        raise ApiError(ERR_RACE, "Race not found") from None
    srv.store.require_race(race_id)
    if method == "POST":
        return HANDLERS[name](srv, race_id, request_object(ctype, raw, query))
    return HANDLERS[name](srv, race_id, query)
