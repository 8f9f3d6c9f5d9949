"""POST participants: each row creates (blank registration_id) or updates a registration, field by
field as the document's field table says (required fields, blanks, merge or replace, the team rules),
and only a real change moves last_modified."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Callable

import orjson

from ..model import ADDRESS_KEYS
from .bodies import as_int, blank, str_or_none
from .protocol import ERR_BAD_REQUEST, ApiError, RowError
from .seed import age_on, blank_participant, fmt_mdy_hm
from .state import Server
from .teams import apply_team, check_can_join
from .writes import apply_rows

_DOB_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ABSENT = object()   # what ``pick`` gives for a field the row does not send
# a sent address's keys -> the stored ones
ADDRESS_FIELDS = (("street", "street"), ("city", "city"), ("state", "state"), ("zipcode", "zipcode"),
                  ("zip code", "zipcode"), ("zip", "zipcode"), ("country_code", "country_code"))


def post_participants(srv: Server, race_id: int, req: dict) -> bytes:
    """POST participants: apply each row of ``participants``; answers the ids as strings, as the
    document shows."""
    rows = req.get("participants")
    if not isinstance(rows, list):
        raise ApiError(ERR_BAD_REQUEST, "Request must contain a participants list")
    now = srv.clock.now()
    store = srv.store

    def prepare() -> dict:
        return {
            "events": set(store.event_ids(race_id)),
            "race_date": store.race_date(race_id),
            "teams": store.teams(race_id),
            "types": store.team_types(race_id),
            "tz": store.race_timezone(race_id),
        }
    # POST participants answers ids as strings, as the document shows.
    out = apply_rows(srv, rows, lambda row, ctx: str(one_participant(srv, race_id, row, ctx, now)), prepare)
    return orjson.dumps({"participants": out})


def one_participant(srv: Server, race_id: int, row: Any, ctx: dict, now: int) -> int:
    """Create or update the registration of one row; its id, or RowError."""
    user, event_id = row_user_and_event(race_id, row, ctx)
    p, old = record_to_change(srv, race_id, row, event_id)
    creating = old is None
    u = p["user"]
    prev_team = p["team_id"]
    replace = not creating and srv.options.update == "replace"
    if replace:
        blank_for_replace(u)
    pick = picker(user, row)
    apply_names(u, pick)
    apply_contact(u, pick, srv.email if creating else None)
    apply_dob(u, pick)
    apply_gender_and_phone(u, pick)
    apply_address(u, pick)
    apply_row_team(srv, race_id, p, pick, ctx, replace, event_id if creating else p["event_id"], prev_team)
    p["age"] = age_on(u["dob"], ctx["race_date"])
    return save(srv, race_id, p, old, event_id, ctx, now)


def row_user_and_event(race_id: int, row: Any, ctx: dict) -> tuple[dict, int]:
    """The row's ``user`` object ({} when absent or null) and its event_id, required on every row and an
    event of the race."""
    if not isinstance(row, dict):
        raise RowError("participant must be an object")
    user = row.get("user", {})
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise RowError("user must be an object")
    if "event_id" not in row or blank(row.get("event_id")):
        raise RowError("event_id is required")
    event_id = as_int(row["event_id"], "event_id")
    if event_id not in ctx["events"]:
        raise RowError(f"event_id {event_id} is not an event of race {race_id}")
    return user, event_id


def record_to_change(srv: Server, race_id: int, row: dict, event_id: int) -> tuple[dict, bytes | None]:
    """The record the row changes and its JSON before (None: a new blank record, the row creates)."""
    # The field table marks registration_id required ("If blank, a new participant will be created"),
    # and the example creates with "registration_id": "": a row without the key creates nothing.
    if "registration_id" not in row:
        raise RowError("registration_id is required (blank creates a participant)")
    reg_raw = row.get("registration_id")
    if blank(reg_raw):
        return blank_participant(), None
    p = srv.store.live_participant(race_id, as_int(reg_raw, "registration_id"))
    old = orjson.dumps(p)
    # The document is silent on an update naming another event: documented applies the other fields
    # and leaves the event (moving is switch_participant_events' job); strict refuses the row.
    if p["event_id"] != event_id and srv.strict:
        raise RowError(f"the registration is in event {p['event_id']}, not {event_id}; "
                       "use switch_participant_events to move it")
    return p, old


def blank_for_replace(u: dict) -> None:
    """A server that REPLACES the record on update: the row's user and address objects are the new
    ones, so every field the row does not send becomes blank (user_id and the profile image, which no
    POST can send, stay)."""
    for k in ("middle_name", "email", "dob", "phone"):
        u[k] = None
    u["gender"] = ""
    u["address"] = {k: None for k in ADDRESS_KEYS}


def picker(user: dict, row: dict) -> Callable[[str], Any]:
    """``pick(name)``: a field's value from inside "user" (the field table) or beside it (the example);
    inside wins; ABSENT when the row sends neither."""
    def pick(name: str) -> Any:
        if name in user:
            return user[name]
        if name in row:
            return row[name]
        return ABSENT
    return pick


def apply_names(u: dict, pick: Callable[[str], Any]) -> None:
    """first_name and last_name: required on every row, updates included (field table)."""
    for name in ("first_name", "last_name"):
        v = pick(name)
        if v is ABSENT or blank(v):
            raise RowError(f"user.{name} is required")
        u[name] = str(v).strip()


def apply_contact(u: dict, pick: Callable[[str], Any], account_email: str | None) -> None:
    """middle_name and email (blank: null); a create without email gets ``account_email`` (documented:
    it defaults to the logged-in user's; None for an update)."""
    v = pick("middle_name")
    if v is not ABSENT:
        u["middle_name"] = None if blank(v) else str(v).strip()
    v = pick("email")
    if v is not ABSENT:
        u["email"] = None if blank(v) else str(v).strip()
    elif account_email is not None:
        u["email"] = account_email   # documented: defaults to the logged-in user's email


def apply_dob(u: dict, pick: Callable[[str], Any]) -> None:
    """dob: YYYY-MM-DD, a real date, or blank (null)."""
    v = pick("dob")
    if v is ABSENT:
        return
    if blank(v):
        u["dob"] = None
        return
    s = str(v).strip()
    try:
        if not _DOB_RE.match(s):
            raise ValueError
        _dt.date.fromisoformat(s)
    except ValueError:
        raise RowError(f"dob must be YYYY-MM-DD, got {v!r}") from None
    u["dob"] = s


def apply_gender_and_phone(u: dict, pick: Callable[[str], Any]) -> None:
    """gender: its first letter in capitals ("" when blank); phone: text, or null when blank."""
    v = pick("gender")
    if v is not ABSENT:
        u["gender"] = "" if v is None else str(v).strip().upper()[:1] if str(v).strip() else ""
    v = pick("phone")
    if v is not ABSENT:
        u["phone"] = None if blank(v) else str_or_none(v).strip()


def apply_address(u: dict, pick: Callable[[str], Any]) -> None:
    """address: null blanks it; an object's keys (zip and "zip code" for zipcode) update the stored ones."""
    v = pick("address")
    if v is ABSENT:
        return
    addr = u.get("address") or {k: None for k in ADDRESS_KEYS}
    if v is None:
        addr = {k: None for k in ADDRESS_KEYS}
    elif not isinstance(v, dict):
        raise RowError("address must be an object")
    else:
        for src, dst in ADDRESS_FIELDS:
            if src in v:
                addr[dst] = None if blank(v[src]) else str_or_none(v[src]).strip()
    u["address"] = {k: addr.get(k) for k in ADDRESS_KEYS}


def apply_row_team(srv: Server, race_id: int, p: dict, pick: Callable[[str], Any], ctx: dict, replace: bool,
                   event_id: int, prev_team: int | None) -> None:
    """team_id: blank (or unsent, when updates replace) takes the runner off its team; a team it was not
    on must take a runner of ``event_id`` (teams.check_can_join)."""
    v = pick("team_id")
    if v is ABSENT and replace:
        apply_team(p, None, ctx["types"])
    elif v is not ABSENT:
        if blank(v):
            apply_team(p, None, ctx["types"])
        else:
            tid = as_int(v, "team_id")
            team = ctx["teams"].get(tid)
            if team is None:
                raise RowError(f"unknown team_id {tid}")
            if prev_team != tid:
                check_can_join(srv.store, race_id, team, ctx["types"].get(team["team_type_id"], {}), event_id)
            apply_team(p, team, ctx["types"])


def save(srv: Server, race_id: int, p: dict, old: bytes | None, event_id: int, ctx: dict, now: int) -> int:
    """Insert a new registration (new ids, its event, its registration date), or store a changed one;
    only a real change bumps last_modified. The registration's id."""
    store = srv.store
    u = p["user"]
    if old is None:
        p["registration_id"] = store.next_id("next_registration_id")
        u["user_id"] = store.next_id("next_user_id")
        p["event_id"] = event_id
        p["registration_date"] = fmt_mdy_hm(now, ctx["tz"])
        p["last_modified"] = now
        store.db.execute("INSERT INTO participants VALUES (?,?,?,?,?,0,?)",
                         (p["registration_id"], race_id, event_id, u["user_id"], now, orjson.dumps(p)))
    elif orjson.dumps(p) != old:   # only a real change bumps last_modified
        p["last_modified"] = now
        store.db.execute("UPDATE participants SET doc=?, last_modified=? WHERE registration_id=?",
                         (orjson.dumps(p), now, p["registration_id"]))
    return p["registration_id"]
