"""RaceEntry's answers as typed structs, decoded in one pass (msgspec).

Every field the document lists is declared here with the JSON types RaceEntry may send it as (the API is
loose: ids as numbers or text, ``"T"``/``"F"`` flags, ``"$0.00"`` money). Decoding checks types and
required fields in the same pass that builds the objects; a violation names its JSON path
(``$[0].participants[12].user.first_name``). ``schemas/`` stays the published contract:
``tests/test_wire.py`` proves the two agree field by field.

Fields the document does not list are accepted, as the schemas accept them (RaceEntry may add fields):
the structs skip them. A participant row is decoded from its own slice of the answer (``msgspec.Raw``, no
copy), so the exact bytes of each row stay at hand: the fields the model does not name, listed or not, are
decoded from them on first use so that nothing RaceEntry sent is lost (see
:func:`converters.model.answers.decode_participants`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta, Raw, Struct

from ..dates import in_format

# JSON types, as the schemas name them.
Scalar = Union[str, int, float, bool, None]  # a field the document shows only as null or "$0.00"
Id = Union[int, str]
OptId = Union[int, str, None]
Text = Union[str, None]
Code = Union[str, int, float, None]  # bib, chip, phone, zipcode: numbers or text
Flag = Union[str, bool, None]
# The pattern of schemas/participants.response.json's user.dob (tests/test_wire.py checks they match).
Dob = Union[Annotated[str, Meta(pattern=r"^(\d{4}-\d{2}-\d{2})?$")], None]


class Address(Struct, gc=False):
    """A user's address as RaceEntry sends it (each field one of the typings read liberally)."""
    street: Code = None
    street2: Code = None
    city: Code = None
    state: Code = None
    zipcode: Code = None
    country_code: Code = None


class User(Struct, gc=False):
    """A participant's user object as RaceEntry sends it: names required, the rest optional."""
    first_name: Text
    last_name: Text
    user_id: OptId = None
    middle_name: Text = None
    email: Text = None
    address: Union[Address, None] = None
    dob: Dob = None
    gender: Text = None
    phone: Code = None
    profile_image_url: Text = None


class Participant(Struct, gc=False):
    """One participant object of ``GET race/{id}/participants`` (and ``removed_participants``)."""

    user: User
    registration_id: Id
    event_id: OptId = None
    rsu_transaction_id: Scalar = None
    transaction_id: Scalar = None
    bib_num: Code = None
    chip_num: Code = None
    age: OptId = None
    registration_date: Text = None
    team_id: OptId = None
    team_name: Text = None
    team_type_id: OptId = None
    team_type: Text = None
    team_gender: Text = None
    team_bib_num: Code = None
    last_modified: OptId = None
    imported: Flag = None
    race_fee: Scalar = None
    offline_payment_amount: Scalar = None
    processing_fee: Scalar = None
    processing_fee_paid_by_user: Scalar = None
    processing_fee_paid_by_race: Scalar = None
    partner_fee: Scalar = None
    affiliate_profit: Scalar = None
    extra_fees: Scalar = None
    amount_paid: Scalar = None
    usatf_discount_amount_in_cents: Scalar = None
    usatf_discount_additional_field: Scalar = None
    giveaway: Scalar = None
    giveaway_option_id: Scalar = None
    race_corral_id: Scalar = None
    race_corral_name: Scalar = None
    checked_in: Flag = None
    checkin_date: Text = None
    checked_in_by_user_id: Scalar = None


class Event(Struct, gc=False):
    """The ``event`` object of a group (RaceEntry leaves its ``participants`` empty)."""

    event_id: Id
    participants: list[Raw] = []


class Group(Struct, gc=False):
    """One event's group of a participants answer. The event object and each row stay as their exact
    bytes until decoded one by one (:func:`converters.model.answers.decode_participants`)."""

    event: Raw
    participants: list[Raw] = []


PARTICIPANT_DECODER = msgspec.json.Decoder(Participant)
EVENT_DECODER = msgspec.json.Decoder(Event)
GROUPS_DECODER = msgspec.json.Decoder(list[Group])


def path_of(message: str, prefix: str) -> str:
    """msgspec's ``... - at `$.user.first_name``` -> the message with the path under ``prefix``."""
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return f"{prefix}: {message}"
    return f"{prefix}{where.rstrip('`')[1:]}: {text}"



# ------------------------------------------------------------------------------------------------ teams
# The team answers (schemas/teams.response.json, schemas/team_types.response.json), declared the same way
# and checked against their schemas by tests/test_wire.py. The client checks these answers with them.


class Team(Struct, gc=False):
    """One team of ``GET race/{id}/teams`` (the answer is a list of these)."""

    team_id: Id
    team_name: Text
    team_type_id: OptId = None
    team_gender: Text = None
    team_bib_num: Code = None
    team_age_restriction_id: OptId = None
    last_modified_ts: OptId = None


class TeamType(Struct, gc=False):
    """One team type of ``GET race/{id}/teams/team_types``."""

    team_type_id: Id
    team_type: Text = None
    team_type_desc: Text = None
    min_members: OptId = None
    max_members: OptId = None
    min_male_members: OptId = None
    max_male_members: OptId = None
    min_female_members: OptId = None
    max_female_members: OptId = None
    max_num_teams: OptId = None
    valid_event_ids: Union[list[Id], None] = None
    require_gender_selection: Flag = None
    allow_all_male_team: Flag = None
    allow_all_female_team: Flag = None
    allow_coed_team: Flag = None
    require_age_range_selection: Flag = None
    team_age_restrictions: Union[list[Any], None] = None  # the document shows only []


class TeamTypes(Struct, gc=False):
    """The ``GET race/{id}/teams/team_types`` answer: ``{"race_team_types": [...]}``."""

    race_team_types: list[TeamType]


TEAMS_DECODER = msgspec.json.Decoder(list[Team])
TEAM_TYPES_DECODER = msgspec.json.Decoder(TeamTypes)


# Answers the client checks with these structs instead of a JSON-Schema pass (schema name -> type).
# The races answer is checked by its JSON Schema, after the liberal reading of check().
ANSWERS: dict[str, Any] = {"teams.response": list[Team], "team_types.response": TeamTypes,
                           "races.response": "races.response"}


def check(value: Any, type_: Any, what: str) -> None:
    """Raise SchemaError naming the JSON path where ``value`` (plain JSON values) breaks ``type_``.

    Read liberally: the answer is first normalised in place (see "reading liberally" below: a few teams or
    races, so a plain pass), so what comes back to the caller is in the documented typing. The races
    answer (``type_`` is the schema's name) is checked against its JSON Schema after that."""
    from ..errors import SchemaError

    if type_ == "races.response":
        from . import schemas

        schemas.validate(type_, loosen_races(value), what)
        return
    zone = zone_for(what)
    if type_ == list[Team] and isinstance(value, list):
        for obj in value:
            loosen_team(obj, zone)
    elif type_ is TeamTypes and isinstance(value, dict) and isinstance(value.get("race_team_types"), list):
        for obj in value["race_team_types"]:
            loosen_team_type(obj)
    try:
        msgspec.convert(value, type_)
    except msgspec.ValidationError as exc:
        raise SchemaError(path_of(str(exc), f"{what}: $")) from None


# ------------------------------------------------------------------------------------ reading liberally
# "Read liberally, write strictly" (issue 17). The structs above declare the documented typing and stay the
# fast path. What RaceEntry may plausibly send beside it (ids as text or 7.0, flags as 0/1, "Y"/"N",
# "true"/"false" or JSON booleans, dates as MM/DD/YYYY, timestamps as date-time text, "" for null, null for
# an empty list) is normalised to the documented typing, for the rows (or answers) that need it only, and
# reported once per command: :data:`NOTES` collects one sentence per kind, the CLI prints them as
# ``note: ...`` lines on stderr when the command ends (converters/cli.py). What cannot be read still stops
# with its JSON path.

NOTES: dict[str, None] = {}  # an ordered set of sentences
ZONES: dict[str, str] = {}  # race id (text) -> the timezone its races answer names
_LABELS = {"registration_id": "registration ids", "user_id": "user ids", "event_id": "event ids",
           "team_id": "team ids", "team_type_id": "team type ids", "age": "ages",
           "last_modified": "last_modified times", "last_modified_ts": "team last_modified_ts times",
           "race_id": "race ids", "team_age_restriction_id": "team age restriction ids"}
_TRUE = {"T": "T", "TRUE": "T", "Y": "T", "YES": "T", "1": "T", "F": "F", "FALSE": "F", "N": "F", "NO": "F",
         "0": "F"}
_MDY = re.compile(r"(\d{2})/(\d{2})/(\d{4})\Z")
_YMD = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z")
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?\Z"
                    r"|(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2})(?::(\d{2}))?\Z")


def note(text: str) -> None:
    """Report one normalisation (once per command, however many rows needed it)."""
    NOTES[text] = None


def take_notes() -> list[str]:
    """The notes collected so far, emptying the collector."""
    out = list(NOTES)
    NOTES.clear()
    return out


def label(key: str) -> str:
    """What a field's values are called in the notes that say how RaceEntry typed them."""
    return _LABELS.get(key, f"{key} values")


def loose_flag(value: Any, key: str = "flags") -> Any:
    """A flag in any plausible spelling -> ``"T"``/``"F"`` (None and "" -> None); anything else unchanged
    (the strict pass then refuses it with its path)."""
    if value is None or value.__class__ is str and value in ("T", "F"):
        return value
    if value == "" and value.__class__ is str:
        note(f"RaceEntry sent empty text for missing {key}; read as null")
        return None
    if value is True or value is False:
        note(f"RaceEntry sent {key} as JSON booleans; read as T/F")
        return "T" if value else "F"
    if value.__class__ in (int, float) and value in (0, 1):
        note(f"RaceEntry sent {key} as 0/1; read as T/F")
        return "T" if value else "F"
    if isinstance(value, str) and value.strip().upper() in _TRUE:
        note(f"RaceEntry sent {key} as {value.strip()!r}-style text; read as T/F"
             if value.strip().upper() not in ("Y", "N", "1", "0", "TRUE", "FALSE") else
             f"RaceEntry sent {key} as " + {"Y": "Y/N", "N": "Y/N", "1": "\"0\"/\"1\"", "0": "\"0\"/\"1\"",
                                              "TRUE": "true/false", "FALSE": "true/false"}[value.strip().upper()]
             + "; read as T/F")
        return _TRUE[value.strip().upper()]
    return value


def loose_id(value: Any, key: str) -> Any:
    """An id or count sent as 7.0 -> 7, ``""`` -> None; anything else unchanged."""
    if value.__class__ is float and value.is_integer():
        note(f"RaceEntry sent {label(key)} as decimal numbers; read as whole numbers")
        return int(value)
    if value == "" and value.__class__ is str:
        note(f"RaceEntry sent empty text for missing {label(key)}; read as null")
        return None
    return value


def iso_date(value: Any, what: str) -> Any:
    """A date as MM/DD/YYYY -> YYYY-MM-DD (the canonical dob); anything else unchanged."""
    if value.__class__ is str and _MDY.match(value) and (iso := in_format(value, "%m/%d/%Y")):
        note(f"RaceEntry sent {what} as MM/DD/YYYY; read as dates")
        return iso
    return value


def mdy_date(value: Any, what: str) -> Any:
    """A date as YYYY-MM-DD -> MM/DD/YYYY (the documented race dates); anything else unchanged."""
    if value.__class__ is str and _YMD.match(value) and (iso := in_format(value, "%Y-%m-%d")):
        note(f"RaceEntry sent {what} as YYYY-MM-DD; read as dates")
        return f"{iso[5:7]}/{iso[8:10]}/{iso[:4]}"
    return value


def zone_for(source: str = "") -> str | None:
    """The timezone to read a date-time without one in: that of the race ``source`` names (``... race
    2026``) as its races answer gave it, else the one timezone every race read so far shares; else None
    (UTC)."""
    m = re.search(r"race (\d+)", source or "")
    if m and m[1] in ZONES:
        return ZONES[m[1]]
    zones = set(ZONES.values())
    return zones.pop() if len(zones) == 1 else None


def timestamp(value: Any, key: str, zone: str | None) -> Any:
    """A timestamp as a Unix integer, numeric text or date-time text (``"2019-01-04 12:49:39"``,
    ``"01/04/2019 12:49"``, with or without seconds, ISO offsets honoured) -> int seconds. A date-time with
    no offset is read in ``zone`` (the race's timezone, see :func:`zone_for`), or in UTC when no races
    answer named one. A local time the clocks pass twice (the hour after daylight saving ends) is read as
    the earlier instant: a watermark taken from it re-reads rows, never skips them. Anything else unchanged
    (the caller refuses it)."""
    import datetime as dt

    if value is None or value.__class__ is int:
        return value
    if value.__class__ is float and value.is_integer():
        note(f"RaceEntry sent {label(key)} as decimal numbers; read as whole numbers")
        return int(value)
    if value.__class__ is not str:
        return value
    text = value.strip()
    if text == "":
        note(f"RaceEntry sent empty text for missing {label(key)}; read as null")
        return None
    if text.lstrip("-").isdigit():
        note(f"RaceEntry sent {label(key)} as text; read as numbers")
        return int(text)
    m = _STAMP.match(text)
    if not m:
        return value
    if m[1]:
        y, mo, d, h, mi, s, off = m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    else:
        mo, d, y, h, mi, s, off = m[8], m[9], m[10], m[11], m[12], m[13], None
    try:
        when = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        return value
    if off:
        tz = dt.timezone.utc if off == "Z" else dt.timezone(
            (1 if off[0] == "+" else -1) * dt.timedelta(hours=int(off[1:3]), minutes=int(off[-2:])))
        where = "its own offset"
    else:
        tz, where = _zone(zone), zone or "UTC (no race timezone known)"
    note(f"RaceEntry sent {label(key)} as date-time text; read in {where}")
    return int(when.replace(tzinfo=tz).timestamp())


def _zone(name: str | None) -> Any:
    import datetime as dt

    if not name:
        return dt.timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # an unknown name or no tz database: UTC, as documented above
        return dt.timezone.utc


_USER_IDS = ("user_id",)
_ROW_IDS = ("registration_id", "event_id", "age", "team_id", "team_type_id")


def loosen_participant(obj: Any) -> Any:
    """A participant object (plain JSON values) that the strict struct refused -> the same object with
    every plausible typing of a documented field turned into the documented one (in place). Only what
    the strict pass cannot take is touched here; text the structs accept (ids as text, ``"Y"``, date-time
    text) is read by the model's converters, which report it too."""
    if not isinstance(obj, dict):
        return obj
    for key in _ROW_IDS:
        if key in obj:
            obj[key] = loose_id(obj[key], key)
    if "last_modified" in obj:
        v = obj["last_modified"]
        if v.__class__ is float:
            obj["last_modified"] = timestamp(v, "last_modified", None)
    for key in ("checked_in", "imported"):
        if key in obj:
            obj[key] = loose_flag(obj[key], key)
    user = obj.get("user")
    if isinstance(user, dict):
        if "user_id" in user:
            user["user_id"] = loose_id(user["user_id"], "user_id")
        if "dob" in user:
            user["dob"] = iso_date(user["dob"], "dates of birth")
        if "address" in user and (user["address"] == "" or user["address"] == []):
            note("RaceEntry sent an empty address as \"\" or []; read as no address")
            user["address"] = None
    return obj


def loosen_group(group: Any) -> Any:
    """A group of a participants answer: ``null`` (or "") for its lists -> empty lists; its event id as
    7.0 -> 7 (in place)."""
    if not isinstance(group, dict):
        return group
    event = group.get("event")
    for holder in (group, event if isinstance(event, dict) else {}):
        if "participants" in holder and holder["participants"] in (None, ""):
            note("RaceEntry sent null for empty participant lists; read as empty")
            holder["participants"] = []
    if isinstance(event, dict) and "event_id" in event:
        event["event_id"] = loose_id(event["event_id"], "event_id")
    return group


def loosen_team(obj: Any, zone: str | None = None) -> Any:
    """A team object with its ids (sent as text or numbers) read as ids, for the schema check."""
    if not isinstance(obj, dict):
        return obj
    for key in ("team_id", "team_type_id", "team_age_restriction_id"):
        if key in obj:
            obj[key] = loose_id(obj[key], key)
    if "last_modified_ts" in obj:
        obj["last_modified_ts"] = timestamp(obj["last_modified_ts"], "last_modified_ts", zone)
    return obj


_TEAM_TYPE_FLAGS = ("require_gender_selection", "allow_all_male_team", "allow_all_female_team",
                    "allow_coed_team", "require_age_range_selection")
_TEAM_TYPE_NUMBERS = ("team_type_id", "min_members", "max_members", "min_male_members", "max_male_members",
                      "min_female_members", "max_female_members", "max_num_teams")


def loosen_team_type(obj: Any) -> Any:
    """A team type object with its ids and numbers (sent as text or numbers) read as numbers."""
    if not isinstance(obj, dict):
        return obj
    for key in _TEAM_TYPE_NUMBERS:
        if key in obj:
            obj[key] = loose_id(obj[key], key)
    for key in _TEAM_TYPE_FLAGS:
        if key in obj:
            obj[key] = loose_flag(obj[key], "team type flags")
    for key in ("valid_event_ids", "team_age_restrictions"):
        if key in obj and obj[key] in (None, ""):
            note("RaceEntry sent null for empty team type lists; read as empty")
            obj[key] = []
    ids = obj.get("valid_event_ids")
    if isinstance(ids, list):
        obj["valid_event_ids"] = [loose_id(x, "event_id") for x in ids]
    return obj


_RACE_FLAGS = ("is_draft_race", "is_private_race", "is_registration_open", "can_use_registration_api",
               "real_time_notifications_enabled")
_RACE_DATES = ("last_date", "last_end_date", "next_date", "next_end_date")


def loosen_races(body: Any) -> Any:
    """A races answer (in place): ids as 7.0, flags in any spelling, dates as YYYY-MM-DD, null lists; and
    each race's timezone remembered (:data:`ZONES`) to read its date-time text in."""
    items = body.get("races") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return body
    for item in items:
        race = item.get("race") if isinstance(item, dict) else None
        if not isinstance(race, dict):
            continue
        if "race_id" in race:
            race["race_id"] = loose_id(race["race_id"], "race_id")
        for key in _RACE_FLAGS:
            if key in race:
                race[key] = loose_flag(race[key], "race flags")
        for key in _RACE_DATES:
            if key in race:
                race[key] = mdy_date(race[key], "race dates")
        for key in ("events", "race_event_days"):
            if key in race and race[key] in (None, ""):
                note("RaceEntry sent null for a race's empty lists; read as empty")
                race[key] = []
        for day in race.get("race_event_days") or ():
            if isinstance(day, dict):
                for key in ("start_date", "end_date"):
                    if key in day:
                        day[key] = mdy_date(day[key], "race dates")
        for event in race.get("events") or ():
            if isinstance(event, dict) and "event_id" in event:
                event["event_id"] = loose_id(event["event_id"], "event_id")
        if isinstance(race.get("timezone"), str) and race["timezone"] and race.get("race_id") is not None:
            ZONES[str(race["race_id"])] = race["timezone"]
    return body
