"""Documents as a less tidy RaceEntry would send them: in other plausible typings (``typing: "loose"``,
quirk ``loose-typing``: ids as text, flags as 0/1 or Y/N, dates and times as text) and with fields
beyond the document (option ``extra_fields``), so a client's liberal reading can be rehearsed (issue 17)."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import orjson

from .seed import zone

TYPINGS = ("documented", "loose")
LOOSE_ZONE = "America/Denver"  # the seeded races' timezone: date-time text is written in it


def with_fields(doc: bytes, fields: dict) -> bytes:
    """A participant's JSON with ``fields`` added (``user.x`` inside user, ``address.x`` inside its address)."""
    obj = orjson.loads(doc)
    for key, value in fields.items():
        if key.startswith("user."):
            obj.setdefault("user", {})[key[5:]] = value
        elif key.startswith("address."):
            user = obj.setdefault("user", {})
            if isinstance(user.get("address"), dict):
                user["address"][key[8:]] = value
        else:
            obj[key] = value
    return orjson.dumps(obj)


def loose_time(ts: Any) -> Any:
    """Unix seconds -> "YYYY-MM-DD HH:MM:SS" in the race's timezone."""
    if not isinstance(ts, int) or isinstance(ts, bool):
        return ts
    return _dt.datetime.fromtimestamp(ts, zone(LOOSE_ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def loose_flag(v: Any, yn: bool = False) -> Any:
    """A T/F flag as 1/0, or as Y/N with ``yn``; anything else as it is."""
    if v in ("T", "F"):
        return ("Y" if v == "T" else "N") if yn else (1 if v == "T" else 0)
    return v


def loose_participant(doc: bytes) -> bytes:
    """A participant's JSON in loose typing: ids as text, checked_in as 0/1, imported as Y/N, dob as
    MM/DD/YYYY, last_modified as date-time text."""
    obj = orjson.loads(doc)
    for key in ("registration_id", "event_id", "team_id", "team_type_id"):
        if isinstance(obj.get(key), int):
            obj[key] = str(obj[key])
    obj["checked_in"] = loose_flag(obj.get("checked_in"))
    obj["imported"] = loose_flag(obj.get("imported"), yn=True)
    obj["last_modified"] = loose_time(obj.get("last_modified"))
    user = obj.get("user")
    if isinstance(user, dict):
        if isinstance(user.get("user_id"), int):
            user["user_id"] = str(user["user_id"])
        dob = user.get("dob")
        if isinstance(dob, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dob):
            user["dob"] = f"{dob[5:7]}/{dob[8:10]}/{dob[:4]}"
    return orjson.dumps(obj)


def loose_docs(docs: list[bytes], kind: str) -> list[bytes]:
    """Team and team-type documents in loose typing (ids as text, times as date-time text, flags as
    Y/N, null for empty lists)."""
    out = []
    for doc in docs:
        obj = orjson.loads(doc)
        for key in ("team_id", "team_type_id", "min_members", "max_members"):
            if isinstance(obj.get(key), int):
                obj[key] = str(obj[key])
        if kind == "team":
            obj["last_modified_ts"] = loose_time(obj.get("last_modified_ts"))
        else:
            for key, value in list(obj.items()):
                if value in ("T", "F"):
                    obj[key] = loose_flag(value, yn=True)
                elif value == []:
                    obj[key] = None
        out.append(orjson.dumps(obj))
    return out


def loose_race(doc: bytes) -> bytes:
    """A race in loose typing: its id as text, flags as 0/1, dates as YYYY-MM-DD."""
    obj = orjson.loads(doc)
    obj["race_id"] = str(obj["race_id"])
    for key, value in list(obj.items()):
        if value in ("T", "F"):
            obj[key] = loose_flag(value)
        elif isinstance(value, str) and re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
            obj[key] = f"{value[6:]}-{value[:2]}-{value[3:5]}"
    return orjson.dumps(obj)
