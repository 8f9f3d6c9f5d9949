"""Sending a plan: its new teams first (runners joining one need its id), then adds and modifies, event
switches and deletes, in batches through one :class:`converters.push.batches.Sender`; every confirmed
batch is recorded in the file's ledger before the next is sent.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..plan import binding as binding_mod
from ..compare.identity import identity, identity_index, same_person
from ..compare.payloads import MAX_DELETE_PER_REQUEST, modify_payload, participant_rows, with_team_id
from ..compare.plans import Add, Modify
from ..compare.values import norm
from ..plan.journal import Journal
from ..compare.bodies import delete_request, participants_request, switch_request, teams_request
from ..model import Team
from .batches import Sender
from .readback import identity_of
from .result import Changed, PushResult, RowError, not_confirmed


def send_plan(client: Any, planned: Any, b: Any, journal: Journal, result: PushResult, batch_size: int,
              say: Callable[[str], None]) -> None:
    """Send ``planned`` (a converters.plan.planning.Planned) in batches of ``batch_size``: new teams, adds and
    modifies, event switches, deletes. Each row RaceEntry confirms goes into ``result`` and, after every
    batch, into the ledger of ``b`` (the file's binding); a batch not confirmed row by row raises
    PushInterrupted once what was confirmed is recorded."""
    sending = _Sending(client, planned, b, journal, result, batch_size, say)
    team_ids, failed_teams = sending.teams()  # first: participants joining a new team need its id
    sending.participants(_participant_work(planned, team_ids, failed_teams))
    sending.switches()
    sending.deletes()


class _Sending:
    """One plan on its way: the batch sender, the binding its confirmed rows are recorded in, the result."""

    def __init__(self, client: Any, planned: Any, b: Any, journal: Journal, result: PushResult, batch_size: int,
                 say: Callable[[str], None]):
        self.client, self.b, self.result, self.batch_size, self.say = client, b, result, batch_size, say
        self.plan, self.rs, self.race_id = planned.plan, planned.rs, planned.target.race_id
        self.file_key = str(planned.target.bind_as)
        self.sender = Sender(client, self.race_id, journal, say, self.rs)

    def record(self, entries: list[dict[str, Any]]) -> None:
        """The ledger, after every confirmed batch; then stop if the batch was not confirmed row by row."""
        if entries:
            self.b.ledger.extend(entries)
            self.b.save(base=False, context=False)
        if self.sender.unconfirmed:
            not_confirmed(self.sender.unconfirmed)

    def teams(self) -> tuple[dict[str, str], set[str]]:
        """Create the plan's new teams. Returns every team's id by name (RaceEntry's and the new ones) and
        the names of the teams not created."""
        plan, result, client, race_id = self.plan, self.result, self.client, self.race_id
        team_ids: dict[str, str] = {norm("team_name", t.team_name): str(t.team_id) for t in self.rs.teams}
        failed_teams: set[str] = set()
        for chunk in _chunks(plan.teams, self.batch_size):
            units = [({"name": t.name, "team_type_id": t.team_type_id, "rows": t.rows},
                      Team(team_type_id=t.team_type_id, team_name=t.name)) for t in chunk]
            res_list = self.sender.send("teams", units, teams_request, lambda bd: client.post_teams(race_id, bd),
                                        "race_teams", "team_id")
            for t, res in zip(chunk, res_list):
                if res is None or isinstance(res, dict):
                    failed_teams.add(norm("team_name", t.name))
                    if isinstance(res, dict):
                        _team_refused(result, plan, t, res["error"])
                else:
                    team_ids[norm("team_name", t.name)] = str(res)
                    result.teams_created[t.name] = str(res)
            self.say(f"teams: {len(result.teams_created)} of {len(plan.teams)} created")
            self.record([])
        return team_ids, failed_teams

    def participants(self, work: list[tuple[Add | Modify, dict[str, Any], dict[str, Any]]]) -> None:
        """Send the adds and modifies (``work``: the change, its row as sent, its journal item)."""
        result, client, race_id = self.result, self.client, self.race_id
        for chunk in _chunks(work, self.batch_size):
            res_list = self.sender.send("participants", [(w[2], w[1]) for w in chunk], participants_request,
                                        lambda bd: client.post_participants(race_id, bd))
            entries = []
            for (op, _, item), res in zip(chunk, res_list):
                if res is None:
                    continue
                if isinstance(res, dict):
                    what = "add" if item["op"] == "add" else "modify"
                    result.errors.append(RowError(op.row, item["registration_id"], what, res["error"]))
                elif item["op"] == "add":
                    result.added.append((op.row, str(res)))
                    entries.append(dict(item["ledger"], registration_id=str(res)))
                else:
                    result.modified += 1
                    entries.append(item["ledger"])
                    _note_changed(result, op, item)
            self.say(f"participants: {len(result.added)} added, {result.modified} modified")
            self.record(entries)

    def switches(self) -> None:
        """Send the event switches: RaceEntry may answer with new registration ids; they are journaled for
        later pushes."""
        plan, result, client, race_id = self.plan, self.result, self.client, self.race_id
        for chunk in _chunks(plan.switches, self.batch_size):
            units = [({"row": s.row, "registration_id": s.registration_id, "old_event_id": s.old_event_id,
                       "new_event_id": s.new_event_id, "user_id": s.current.user_id,
                       "identity": identity_of(s.current), "file": self.file_key,
                       "ledger": binding_mod.ledger_entry("switch", s.row, s.registration_id,
                                                          {"event_id": s.new_event_id})},
                      (s.registration_id, s.new_event_id)) for s in chunk]
            res_list = self.sender.send("switch", units, switch_request, lambda bd: client.switch_events(race_id, bd))
            entries = []
            for s, (item, _), res in zip(chunk, units, res_list):
                if res is None:
                    continue
                if isinstance(res, dict):
                    result.errors.append(RowError(s.row, s.registration_id, "switch", res["error"]))
                else:
                    result.switched.append((s.registration_id, str(res)))
                    entries.append(item["ledger"])
                    _note_switched(result, s, str(res))
            self.say(f"switches: {len(result.switched)} of {len(plan.switches)}")
            self.record(entries)

    def deletes(self) -> None:
        """Send the deletes, at most RaceEntry's per-request cap at a time."""
        plan, result, client, race_id = self.plan, self.result, self.client, self.race_id
        for chunk in _chunks(plan.deletes, min(self.batch_size, MAX_DELETE_PER_REQUEST)):
            units = [({"registration_id": d.registration_id, "file": self.file_key,
                       "ledger": binding_mod.ledger_entry("delete", 0, d.registration_id, {})}, d.registration_id)
                     for d in chunk]
            res_list = self.sender.send("delete", units, delete_request,
                                        lambda bd: client.delete_participants(race_id, bd))
            entries = []
            for d, (item, _), res in zip(chunk, units, res_list):
                if res is None:
                    continue
                if isinstance(res, dict):
                    result.errors.append(RowError(None, d.registration_id, "delete", res["error"]))
                else:
                    result.deleted.append(d.registration_id)
                    entries.append(item["ledger"])
            self.say(f"deletes: {len(result.deleted)} of {len(plan.deletes)}")
            self.record(entries)


def _team_refused(result: PushResult, plan: Any, t: Any, error: str) -> None:
    """A new team RaceEntry refused, said on each row naming it: a runner to be added is not added (never
    without their team); a runner already in RaceEntry keeps the team they had."""
    adding = {a.row for a in plan.adds if a.new_team and norm("team_name", a.new_team) == norm(
        "team_name", t.name)}
    for row in t.rows:
        result.errors.append(RowError(row, None, f"team {t.name!r}", f"{error}; " + (
            "the runner was not added (never without their team): fix the team and push again"
            if row in adding else "the runner keeps their team as it was")))


def _participant_work(planned: Any, team_ids: dict[str, str], failed_teams: set[str]
                      ) -> list[tuple[Add | Modify, dict[str, Any], dict[str, Any]]]:
    """The adds and modifies to send, each as (the change, its row as sent, its journal item), with the new
    teams' ids in place of their placeholders. The rows are built once (:func:`converters.compare.diff.participant_rows`):
    the plan folder keeps the same rows."""
    plan, rs = planned.plan, planned.rs
    file_key = str(planned.target.bind_as)
    # RaceEntry's runners by identity, for the adds only (a modify-only push need not fold 50,000 names).
    ident_index = identity_index(rs.current, {identity(a.participant) for a in plan.adds})
    work: list[tuple[Add | Modify, dict[str, Any], dict[str, Any]]] = []
    add_rows, modify_rows = participant_rows(plan)
    for a, row in zip(plan.adds, add_rows):
        unit = _add_unit(a, row, team_ids, failed_teams, ident_index, file_key)
        if unit is not None:
            work.append(unit)
    for m, row in zip(plan.modifies, modify_rows):
        unit = _modify_unit(m, row, team_ids, failed_teams, file_key)
        if unit is not None:
            work.append(unit)
    return work


def _add_unit(a: Add, row: dict[str, Any], team_ids: dict[str, str], failed_teams: set[str],
              ident_index: Any, file_key: str) -> tuple[Add, dict[str, Any], dict[str, Any]] | None:
    """An add as sent and journaled: with the registration ids the same person already had (a read-back
    must not take one of them for this add). None when its new team was not created: never added without
    the team the row names (listed with the team's refusal)."""
    payload = with_team_id(row, a.new_team, team_ids)
    values = binding_mod.participant_values(a.participant)
    if a.new_team and norm("team_name", a.new_team) in failed_teams:
        return None
    if a.new_team:
        values["team_id"] = team_ids.get(norm("team_name", a.new_team))
    pre = [str(p.registration_id) for p in ident_index.get(identity(a.participant), ())
           if same_person(a.participant, p)]
    return (a, payload, {"row": a.row, "op": "add", "registration_id": None,
                         "identity": identity_of(a.participant), "preexisting": pre, "file": file_key,
                         "ledger": binding_mod.ledger_entry("add", a.row, "", values)})


def _modify_unit(m: Modify, row: dict[str, Any], team_ids: dict[str, str], failed_teams: set[str],
                 file_key: str) -> tuple[Modify, dict[str, Any], dict[str, Any]] | None:
    """A modify as sent and journaled (the fields it sets, the team by id). A modify joining a team that
    was not created is sent without that change (None when nothing else is left)."""
    if m.new_team and norm("team_name", m.new_team) in failed_teams:
        m = Modify(m.row, m.registration_id, m.event_id, [c for c in m.changes if c.field != "team"], m.current)
        if not m.changes:
            return None
        payload = modify_payload(m)  # without the team that was not created: another row
    else:
        payload = with_team_id(row, m.new_team, team_ids)
    fields = {c.field: c.new for c in m.changes if c.field != "team"}
    values = dict(fields)
    if any(c.field == "team" for c in m.changes):
        tid = payload.get("team_id", payload["user"].get("team_id"))
        fields["team_id"] = None if tid is None else str(tid)
        values["team_id"] = fields["team_id"]
        values["team_name"] = next(c.new for c in m.changes if c.field == "team") or None
    return (m, payload, {"row": m.row, "op": "modify", "registration_id": m.registration_id,
                         "fields": fields, "file": file_key,
                         "ledger": binding_mod.ledger_entry("modify", m.row, m.registration_id, values)})


def _note_switched(result: PushResult, s: Any, new_id: str) -> None:
    """Remember a confirmed switch for :func:`converters.push.verify.verify`, under the id it has now (a
    runner both modified and switched is one change)."""
    c = result.changed.pop(s.registration_id, None) or Changed(s.row, s.registration_id, s.current, s.current.copy())
    c.expected.event_id, c.registration_id = s.new_event_id, new_id
    c.what.append("event")
    result.changed[new_id] = c


def _note_changed(result: PushResult, m: Modify, item: dict[str, Any]) -> None:
    """Remember a confirmed modify for :func:`converters.push.verify.verify`: RaceEntry's record before, and after as intended."""
    expected = m.current.copy()
    what = []
    for f, v in item["fields"].items():
        if f != "team_id":
            setattr(expected, f, v)
            what.append(f.replace("_", " "))
    if "team_id" in item["fields"]:
        expected.team_id = item["fields"]["team_id"]
        what.append("team")
    result.changed[m.registration_id] = Changed(m.row, m.registration_id, m.current, expected, what)


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
