"""RaceEntry's state of a race, as planning needs it: its events, teams, team types, participants and
removed participants. Read whole (:func:`race_state`), or as the file's base and what changed since
(:func:`changes_state`, folded in by :func:`converters.client.roster.merge`), brought up to date by reading only
the changes (:func:`advance`), or, offline, taken from the saved base (:func:`offline_state`). Reads of
one client go side by side where it can (:func:`together`): over a venue's link each read is a round
trip of waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from ..client import readcheck
from ..errors import ConnectionFailed, PlanError, TimersyncError
from ..model.answers import Answer, parse_team_types, parse_teams
from ..model.codec import RawExtras
from ..model import Participant, Team, TeamType
from ..model.races import race_events, with_events
from ..client.roster import OVERLAP, Row, merge, rows_of

LOG = logging.getLogger("timersync.planning")  # the logger's name as before the split: logs read the same


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
    removals to account for them, is refused (:func:`converters.client.readcheck.check`)."""
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


def race_context(client: Any, race_id: int) -> tuple[Any, Any, Any]:
    """The race, its teams answer and its team types answer (None when RaceEntry does not give them:
    :func:`optional_team_types`), read side by side: what pull, sync's full read and the drop folder
    keep with a file's race."""
    race, teams, types = together(client, lambda: client.race(race_id), lambda: client.teams(race_id),
                                  lambda: optional_team_types(client, race_id))
    return race, teams, types


def together(client: Any, *calls: Callable[[], Any]) -> list[Any]:
    """``calls`` (reads of ``client``) side by side when the client can (``RaceEntryClient.together``:
    over a venue's link each read is a round trip of waiting), else one after another."""
    run = getattr(client, "together", None)
    return run(*calls) if run is not None else [call() for call in calls]


def _server_now(client: Any) -> float | None:
    return getattr(client, "server_now", lambda: None)()


def changes_state(client: Any, race_id: int, base: Answer, ledger: list[dict[str, Any]] = ()
                  ) -> tuple[RaceState | None, str]:
    """RaceEntry's current state from the file's base (``base``: the answer it was written from, with
    its rows' bytes) and what changed since: the participants and removed participants modified since
    the base's newest ``last_modified`` (less sync's overlap), folded in by :func:`converters.client.roster.merge`.
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
    (:func:`converters.plan.targets.base_of`)."""
    for p in base.participants:
        if p.extra.__class__ is RawExtras:
            p.extra = {}
    base.rows = []
    base.groups = [(eid, b"{}", n) for eid, _, n in base.groups]


def read_changes(client: Any, race_id: int, held: dict[str, Any], since: int) -> tuple[Any, Answer, set[str]]:
    """The participants and removed participants modified since ``since``, folded into the rows ``held``
    (registration id -> :class:`converters.client.roster.Row`) by :func:`converters.client.roster.merge`: (what they
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


def event_ids(race: Any) -> list[int] | None:
    """The ids of the race's events, or None when the race lists none."""
    if not isinstance(race, dict) or not race.get("events"):
        return None

    return list(race_events(race))


def offline_state(race_id: int, base: list[Participant], ctx: dict[str, Any] | None) -> RaceState:
    """A RaceState from saved JSON only (no network): the base stands for RaceEntry's current state."""
    ctx = ctx or {}
    teams = parse_teams(ctx["teams"]) if ctx.get("teams") is not None else []
    types = parse_team_types(ctx["team_types"]) if ctx.get("team_types") is not None else []
    race = ctx.get("race")
    return RaceState(race_id, race, event_ids(race), teams, types, base)
