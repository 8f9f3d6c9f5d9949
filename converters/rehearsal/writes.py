"""The POST endpoints other than participants: teams, switch_participant_events and
delete_participants, and the rule every POST's rows share (``apply_rows``): one transaction, a bad row
answered in its entry (documented) or the whole request refused (strict)."""

from __future__ import annotations

from typing import Any

import orjson

from .bodies import as_int, blank, row_label, str_or_none
from .protocol import ERR_BAD_REQUEST, MAX_DELETE, ApiError, RowError
from .state import Server
from .teams import apply_team, check_type_takes, event_refused


def apply_rows(srv: Server, rows: list, one: Any, prepare: Any = None, key: str = "registration_id") -> list:
    """Apply each row with ``one(row, ctx)`` in one transaction, answering one entry per row in order.
    A bad row (RowError) becomes that row's error entry and the other rows still apply; strict
    refuses the whole request instead (ApiError naming every bad row, nothing applied). Any other
    failure rolls the whole request back."""
    store, db = srv.store, srv.store.db
    out: list = []
    bad: list[str] = []
    with store.lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            ctx = prepare() if prepare else None
            for i, row in enumerate(rows, 1):
                try:
                    out.append({key: one(row, ctx)})
                except RowError as e:
                    bad.append(f"{row_label(i, row, key)}: {e}")
                    out.append({key: None, "error": {"error_code": ERR_BAD_REQUEST, "error_msg": bad[-1]}})
            if bad and srv.strict:
                raise ApiError(ERR_BAD_REQUEST, "Request refused, nothing applied: " + "; ".join(bad))
            db.execute("COMMIT")
            store.invalidate()
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return out


# teams ---------------------------------------------------------------------------------------------
def post_teams(srv: Server, race_id: int, req: dict) -> bytes:
    """POST teams: create (blank team_id) or update each team of ``race_teams``."""
    rows = req.get("race_teams")
    if not isinstance(rows, list):
        raise ApiError(ERR_BAD_REQUEST, "Request must contain a race_teams list")
    now = srv.clock.now()
    out = apply_rows(srv, rows, lambda row, types: one_team(srv, race_id, row, types, now),
                     lambda: srv.store.team_types(race_id), key="team_id")
    return orjson.dumps({"race_teams": out})


def one_team(srv: Server, race_id: int, row: Any, types: dict, now: int) -> int:
    """Create or update one team; its id, or RowError. A renamed team's members carry the new name."""
    store, db = srv.store, srv.store.db
    doc = team_to_change(srv, race_id, row, now)
    if "team_type_id" in row:
        ttid = as_int(row["team_type_id"], "team_type_id")
        if ttid not in types:
            raise RowError(f"unknown team_type_id {ttid}")
        if ttid != doc["team_type_id"]:
            check_type_takes(store, race_id, types[ttid], doc)
        doc["team_type_id"] = ttid
    if "team_name" in row:
        doc["team_name"] = str(row["team_name"]).strip()
    if "team_gender" in row:
        doc["team_gender"] = str_or_none(row["team_gender"]) or None
    if "team_bib_num" in row:
        doc["team_bib_num"] = None if blank(row["team_bib_num"]) else as_int(row["team_bib_num"], "team_bib_num")
    doc["last_modified_ts"] = now
    if doc["team_id"] is None:
        doc["team_id"] = store.next_id("next_team_id")
        db.execute("INSERT INTO teams VALUES (?,?,?,?)",
                   (doc["team_id"], race_id, doc["team_type_id"], orjson.dumps(doc)))
    else:
        db.execute("UPDATE teams SET team_type_id=?, doc=? WHERE team_id=?",
                   (doc["team_type_id"], orjson.dumps(doc), doc["team_id"]))
        # members carry copies of the team fields: refresh them (and bump last_modified)
        for p in store.team_members(race_id, doc["team_id"]):
            apply_team(p, doc, types)
            p["last_modified"] = now
            db.execute("UPDATE participants SET doc=?, last_modified=? WHERE registration_id=?",
                       (orjson.dumps(p), now, p["registration_id"]))
    return doc["team_id"]


def team_to_change(srv: Server, race_id: int, row: Any, now: int) -> dict:
    """The team a POST teams row names (a blank new one when its team_id is blank), after the checks of
    the field table: team_id, team_name and team_type_id on every row, updates included."""
    if not isinstance(row, dict):
        raise RowError("team must be an object")
    if "team_id" not in row:   # required by the field table; blank creates
        raise RowError("team_id is required (blank creates a team)")
    # the field table marks team_type_id and team_name required on every row, updates included
    if blank(row.get("team_name")):
        raise RowError("team_name is required")
    if blank(row.get("team_type_id")):
        raise RowError("team_type_id is required")
    tid_raw = row.get("team_id")
    if blank(tid_raw):
        return {"team_id": None, "team_type_id": None, "team_name": None, "team_gender": None,
                "team_bib_num": None, "team_age_restriction_id": None, "last_modified_ts": now}
    tid = as_int(tid_raw, "team_id")
    r = srv.store.db.execute("SELECT doc FROM teams WHERE team_id=? AND race_id=?", (tid, race_id)).fetchone()
    if r is None:
        raise RowError(f"not a team of race {race_id}")
    return orjson.loads(r[0])


# switch / delete -----------------------------------------------------------------------------------
def registrations(req: dict) -> list:
    """The ``registrations`` list of a switch or delete request; ApiError 400 without one."""
    rows = req.get("registrations")
    if not isinstance(rows, list):
        raise ApiError(ERR_BAD_REQUEST, "Request must contain a registrations list")
    return rows


def switch(srv: Server, race_id: int, req: dict) -> bytes:
    """POST switch_participant_events: move each registration to its new_event_id."""
    rows = registrations(req)
    now = srv.clock.now()
    new_id = srv.options.switch_new_id
    out = apply_rows(srv, rows, lambda row, ctx: switch_one(srv, race_id, row, ctx, now, new_id),
                     lambda: {"events": set(srv.store.event_ids(race_id)),
                              "types": srv.store.team_types(race_id)})
    return orjson.dumps({"participants": out})


def switch_one(srv: Server, race_id: int, row: Any, ctx: dict, now: int, new_id: bool) -> int:
    """Switch one registration; its (possibly new) id, or RowError. A team member moves only to an
    event its team's type takes."""
    store, db = srv.store, srv.store.db
    if not isinstance(row, dict):
        raise RowError("registration must be an object")
    if blank(row.get("registration_id")):
        raise RowError("registration_id is required")
    if blank(row.get("new_event_id")):
        raise RowError("new_event_id is required")
    reg = as_int(row["registration_id"], "registration_id")
    ev = as_int(row["new_event_id"], "new_event_id")
    if ev not in ctx["events"]:
        raise RowError(f"new_event_id {ev} is not an event of race {race_id}")
    p = store.live_participant(race_id, reg)
    if p["event_id"] == ev:
        return reg
    why = p["team_id"] and event_refused(ctx["types"].get(p["team_type_id"], {}), ev)
    if why:
        raise RowError(f"it is on team {p['team_id']} ({p['team_name']}): {why}; take it off the team first")
    if new_id:
        # old registration -> removed feed; a new registration in the new event
        old = dict(p, last_modified=now)
        db.execute("UPDATE participants SET deleted=1, last_modified=?, doc=? "
                   "WHERE registration_id=?", (now, orjson.dumps(old), reg))
        p["registration_id"] = store.next_id("next_registration_id")
        p["event_id"] = ev
        p["last_modified"] = now
        db.execute("INSERT INTO participants VALUES (?,?,?,?,?,0,?)",
                   (p["registration_id"], race_id, ev, p["user"]["user_id"], now, orjson.dumps(p)))
    else:
        p["event_id"] = ev
        p["last_modified"] = now
        db.execute("UPDATE participants SET event_id=?, last_modified=?, doc=? "
                   "WHERE registration_id=?", (ev, now, orjson.dumps(p), reg))
    return p["registration_id"]


def delete(srv: Server, race_id: int, req: dict) -> bytes:
    """POST delete_participants: soft-delete each registration (at most MAX_DELETE a request)."""
    rows = registrations(req)
    if len(rows) > MAX_DELETE:
        raise ApiError(ERR_BAD_REQUEST, f"At most {MAX_DELETE} registrations may be deleted per request")
    now = srv.clock.now()
    out = apply_rows(srv, rows, lambda row, _: delete_one(srv, race_id, row, now))
    return orjson.dumps({"participants": out})


def delete_one(srv: Server, race_id: int, row: Any, now: int) -> int:
    """Soft-delete one registration: it goes to the removed feed, its last_modified the deletion time."""
    if not isinstance(row, dict) or blank(row.get("registration_id")):
        raise RowError("registration_id is required")
    reg = as_int(row["registration_id"], "registration_id")
    p = srv.store.live_participant(race_id, reg)
    p["last_modified"] = now
    srv.store.db.execute("UPDATE participants SET deleted=1, last_modified=?, doc=? "
                         "WHERE registration_id=?", (now, orjson.dumps(p), reg))
    return reg
