"""Sending a plan: its new teams first (runners joining one need its id), then adds and modifies, event
switches and deletes, in batches through one :class:`converters.push_batches.Sender`; every confirmed
batch is recorded in the file's ledger before the next is sent.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from . import binding as binding_mod
from .diff import (MAX_DELETE_PER_REQUEST, Add, Modify, identity, identity_index, modify_payload, norm,
                   participant_rows, same_person, with_team_id)
from .journal import Journal
from .model import Team, delete_request, participants_request, switch_request, teams_request
from .push_batches import Sender
from .push_readback import identity_of
from .push_result import Changed, PushResult, RowError, not_confirmed


def send_plan(client: Any, planned: Any, b: Any, journal: Journal, result: PushResult, batch_size: int,
               say: Callable[[str], None]) -> None:
    plan, rs, race_id = planned.plan, planned.rs, planned.target.race_id
    file_key = str(planned.target.bind_as)
    sender = Sender(client, race_id, journal, say, rs)

    def record(entries: list[dict[str, Any]]) -> None:
        if entries:
            b.ledger.extend(entries)
            b.save(base=False, context=False)  # the ledger, after every confirmed batch
        if sender.unconfirmed:
            not_confirmed(sender.unconfirmed)

    # Teams first: participants joining a new team need its id.
    team_ids: dict[str, str] = {norm("team_name", t.team_name): str(t.team_id) for t in rs.teams}
    failed_teams: set[str] = set()
    for chunk in _chunks(plan.teams, batch_size):
        units = [({"name": t.name, "team_type_id": t.team_type_id, "rows": t.rows},
                  Team(team_type_id=t.team_type_id, team_name=t.name)) for t in chunk]
        res_list = sender.send("teams", units, teams_request, lambda bd: client.post_teams(race_id, bd),
                               "race_teams", "team_id")
        for t, res in zip(chunk, res_list):
            if res is None or isinstance(res, dict):
                failed_teams.add(norm("team_name", t.name))
                if isinstance(res, dict):
                    adding = {a.row for a in plan.adds if a.new_team and norm("team_name", a.new_team) == norm(
                        "team_name", t.name)}
                    for row in t.rows:
                        result.errors.append(RowError(row, None, f"team {t.name!r}", f"{res['error']}; " + (
                            "the runner was not added (never without their team): fix the team and push again"
                            if row in adding else "the runner keeps their team as it was")))
            else:
                team_ids[norm("team_name", t.name)] = str(res)
                result.teams_created[t.name] = str(res)
        say(f"teams: {len(result.teams_created)} of {len(plan.teams)} created")
        record([])

    # Adds and modifies.
    # RaceEntry's runners by identity, for the adds only (a modify-only push need not fold 50,000 names).
    ident_index = identity_index(rs.current, {identity(a.participant) for a in plan.adds})
    work: list[tuple[Add | Modify, dict[str, Any], dict[str, Any]]] = []
    add_rows, modify_rows = participant_rows(plan)  # built once: the plan folder keeps the same rows
    for a, row in zip(plan.adds, add_rows):
        payload = with_team_id(row, a.new_team, team_ids)
        values = binding_mod.participant_values(a.participant)
        if a.new_team and norm("team_name", a.new_team) in failed_teams:
            continue  # never added without the team the row names; listed with the team's refusal
        if a.new_team:
            values["team_id"] = team_ids.get(norm("team_name", a.new_team))
        pre = [str(p.registration_id) for p in ident_index.get(identity(a.participant), ())
               if same_person(a.participant, p)]
        work.append((a, payload, {"row": a.row, "op": "add", "registration_id": None,
                                  "identity": identity_of(a.participant), "preexisting": pre, "file": file_key,
                                  "ledger": binding_mod.ledger_entry("add", a.row, "", values)}))
    for m, row in zip(plan.modifies, modify_rows):
        if m.new_team and norm("team_name", m.new_team) in failed_teams:
            m = Modify(m.row, m.registration_id, m.event_id, [c for c in m.changes if c.field != "team"], m.current)
            if not m.changes:
                continue
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
        work.append((m, payload, {"row": m.row, "op": "modify", "registration_id": m.registration_id,
                                  "fields": fields, "file": file_key,
                                  "ledger": binding_mod.ledger_entry("modify", m.row, m.registration_id, values)}))
    for chunk in _chunks(work, batch_size):
        res_list = sender.send("participants", [(w[2], w[1]) for w in chunk], participants_request,
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
        say(f"participants: {len(result.added)} added, {result.modified} modified")
        record(entries)

    # Switches: RaceEntry may answer with new registration ids; they are journaled for later pushes.
    for chunk in _chunks(plan.switches, batch_size):
        units = [({"row": s.row, "registration_id": s.registration_id, "old_event_id": s.old_event_id,
                   "new_event_id": s.new_event_id, "user_id": s.current.user_id, "file": file_key,
                   "ledger": binding_mod.ledger_entry("switch", s.row, s.registration_id, {"event_id": s.new_event_id})},
                  (s.registration_id, s.new_event_id)) for s in chunk]
        res_list = sender.send("switch", units, switch_request, lambda bd: client.switch_events(race_id, bd))
        entries = []
        for s, (item, _), res in zip(chunk, units, res_list):
            if res is None:
                continue
            if isinstance(res, dict):
                result.errors.append(RowError(s.row, s.registration_id, "switch", res["error"]))
            else:
                result.switched.append((s.registration_id, str(res)))
                entries.append(item["ledger"])
                c = result.changed.pop(s.registration_id, None) or Changed(s.row, s.registration_id, s.current,
                                                                            s.current.copy())
                c.expected.event_id, c.registration_id = s.new_event_id, str(res)
                c.what.append("event")
                result.changed[str(res)] = c
        say(f"switches: {len(result.switched)} of {len(plan.switches)}")
        record(entries)

    for chunk in _chunks(plan.deletes, min(batch_size, MAX_DELETE_PER_REQUEST)):
        units = [({"registration_id": d.registration_id, "file": file_key,
                   "ledger": binding_mod.ledger_entry("delete", 0, d.registration_id, {})}, d.registration_id)
                 for d in chunk]
        res_list = sender.send("delete", units, delete_request, lambda bd: client.delete_participants(race_id, bd))
        entries = []
        for d, (item, _), res in zip(chunk, units, res_list):
            if res is None:
                continue
            if isinstance(res, dict):
                result.errors.append(RowError(None, d.registration_id, "delete", res["error"]))
            else:
                result.deleted.append(d.registration_id)
                entries.append(item["ledger"])
        say(f"deletes: {len(result.deleted)} of {len(plan.deletes)}")
        record(entries)


def _note_changed(result: PushResult, m: Modify, item: dict[str, Any]) -> None:
    """Remember a confirmed modify for :func:`verify`: RaceEntry's record before, and after as intended."""
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
