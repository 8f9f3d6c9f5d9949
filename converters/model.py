"""The canonical participant and team records that the API, files, diff and sync all speak.

RaceEntry's JSON is loose (ids as strings or numbers, ``"T"``/``"F"`` flags, ``"$0.00"`` money, ``""``
gender, events with no ``participants`` key). Parsing normalises it into :class:`Participant` and
:class:`Team`; :func:`participants_response` turns records back into exactly the grouped shape RaceEntry
returns, so JSON -> records -> JSON is lossless: fields the model does not name are kept in ``extra``.
"""

from __future__ import annotations

import contextlib
import gc
import operator
import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Iterable

import msgspec

from .errors import ShapeError

# The participant keys in the order RaceEntry returns them (the document's example).
PARTICIPANT_KEYS = (
    "user", "registration_id", "event_id", "rsu_transaction_id", "transaction_id", "bib_num", "chip_num",
    "age", "registration_date", "team_id", "team_name", "team_type_id", "team_type", "team_gender",
    "team_bib_num", "last_modified", "imported", "race_fee", "offline_payment_amount", "processing_fee",
    "processing_fee_paid_by_user", "processing_fee_paid_by_race", "partner_fee", "affiliate_profit",
    "extra_fees", "amount_paid", "usatf_discount_amount_in_cents", "usatf_discount_additional_field",
    "giveaway", "giveaway_option_id", "race_corral_id", "race_corral_name", "checked_in", "checkin_date",
    "checked_in_by_user_id",
)
USER_KEYS = ("user_id", "first_name", "middle_name", "last_name", "email", "address", "dob", "gender",
             "phone", "profile_image_url")
ADDRESS_KEYS = ("street", "city", "state", "zipcode", "country_code")

# Canonical attribute -> (container, API key). container: "" top level, "user", "address".
_FIELD_SOURCES: dict[str, tuple[str, str]] = {
    "registration_id": ("", "registration_id"),
    "event_id": ("", "event_id"),
    "user_id": ("user", "user_id"),
    "first_name": ("user", "first_name"),
    "middle_name": ("user", "middle_name"),
    "last_name": ("user", "last_name"),
    "email": ("user", "email"),
    "street": ("address", "street"),
    "city": ("address", "city"),
    "state": ("address", "state"),
    "zipcode": ("address", "zipcode"),
    "country_code": ("address", "country_code"),
    "dob": ("user", "dob"),
    "gender": ("user", "gender"),
    "phone": ("user", "phone"),
    "profile_image_url": ("user", "profile_image_url"),
    "bib": ("", "bib_num"),
    "chip": ("", "chip_num"),
    "age": ("", "age"),
    "registration_date": ("", "registration_date"),
    "team_id": ("", "team_id"),
    "team_name": ("", "team_name"),
    "team_type_id": ("", "team_type_id"),
    "team_type": ("", "team_type"),
    "team_gender": ("", "team_gender"),
    "team_bib": ("", "team_bib_num"),
    "last_modified": ("", "last_modified"),
    "checked_in": ("", "checked_in"),
    "checkin_date": ("", "checkin_date"),
}
# How each canonical attribute is typed. "id": kept as text, written back as int when it is a plain
# integer (RaceEntry sends ints, sometimes strings). "code": bib/chip style text whose leading zeros
# matter; written back as int only when the text is a canonical integer. "int": a number.
# "flag": bool from "T"/"F". Everything else is text (or None).
_ID_FIELDS = {"registration_id", "user_id", "team_id", "team_type_id"}
_CODE_FIELDS = {"bib", "chip", "team_bib", "phone", "zipcode"}
_INT_FIELDS = {"event_id", "age", "last_modified"}
_FLAG_FIELDS = {"checked_in"}

_INT_RE = re.compile(r"-?(0|[1-9][0-9]*)\Z")


class Participant(msgspec.Struct, gc=False):
    """One registration. Text fields are ``str`` or ``None``; ids are text (``"73"``).

    A msgspec Struct (built in C: a 50,000-runner answer makes 50,000 of them) that the cyclic GC does not
    track (it holds no cycles); compares and copies like the dataclass it was."""

    registration_id: str | None = None
    event_id: int | None = None
    user_id: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country_code: str | None = None
    dob: str | None = None  # YYYY-MM-DD
    gender: str | None = None  # "M", "F", "" (blank) or whatever RaceEntry sent
    phone: str | None = None
    profile_image_url: str | None = None
    bib: str | None = None
    chip: str | None = None
    age: int | None = None
    registration_date: str | None = None  # MM/DD/YYYY HH:MM, as RaceEntry sends it
    team_id: str | None = None
    team_name: str | None = None
    team_type_id: str | None = None
    team_type: str | None = None
    team_gender: str | None = None
    team_bib: str | None = None
    last_modified: int | None = None
    checked_in: bool | None = None
    checkin_date: str | None = None
    # Every other field RaceEntry sent, under its API key (top level) or "user.<key>" / "address.<key>",
    # with its original value, so nothing is lost on the way back.
    # A typed decode leaves them in the row's bytes until asked for (RawExtras, a Mapping).
    extra: Mapping[str, Any] = msgspec.field(default_factory=dict)
    # Keys RaceEntry's JSON had types for (e.g. bib sent as a string): API key -> "str"/"int"; only set
    # when the original differs from the default typing, so a round trip reproduces the same JSON.
    types: dict[str, str] = msgspec.field(default_factory=dict)

    def get(self, name: str) -> Any:
        """A canonical attribute, or an extra field by its API key."""
        if name in _FIELD_SOURCES:
            return getattr(self, name)
        return self.extra.get(name)

    def copy(self, **changes: Any) -> "Participant":
        new = msgspec.structs.replace(self, **changes)
        new.extra = dict(self.extra)
        new.types = dict(self.types)
        return new


CANONICAL_FIELDS = tuple(_FIELD_SOURCES)


@dataclass(slots=True)
class Team:
    team_id: str | None = None
    team_type_id: str | None = None
    team_name: str | None = None
    team_gender: str | None = None
    team_bib: str | None = None
    team_age_restriction_id: str | None = None
    last_modified: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TeamType:
    team_type_id: str
    team_type: str | None
    valid_event_ids: list[int]
    raw: dict[str, Any]


# ---------------------------------------------------------------------------------------------- values

def as_text(value: Any) -> str | None:
    """Loose JSON scalar -> text (None stays None; 50004 -> "50004"; 50004.0 -> "50004")."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_int(value: Any, what: str = "value") -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ShapeError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.match(text):
            return int(text)
        try:
            f = float(text)
        except ValueError:
            pass
        else:
            if f.is_integer():
                return int(f)
    raise ShapeError(f"{what}: expected a whole number, got {value!r}")


def as_flag(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().upper()
    if text in ("T", "TRUE", "Y", "YES", "1"):
        return True
    if text in ("F", "FALSE", "N", "NO", "0"):
        return False
    raise ShapeError(f"expected T or F, got {value!r}")


def _api_value(name: str, value: Any, original_type: str | None) -> Any:
    """Canonical value -> the JSON value RaceEntry would send."""
    if value is None:
        return None
    if name in _FLAG_FIELDS:
        return "T" if value else "F"
    if name in _INT_FIELDS:
        return value
    if name in _ID_FIELDS or (name in _CODE_FIELDS and name not in ("phone", "zipcode")):
        if original_type == "str" or not _INT_RE.match(value):
            return value
        return int(value)
    if original_type == "int" and _INT_RE.match(value):  # e.g. phone sent as a number
        return int(value)
    return value


# --------------------------------------------------------------------------------------- participants

def _text(value: Any, key: str, types: dict[str, str], id_like: bool) -> str | None:
    """as_text, remembering when RaceEntry sent an int-looking id as a string or a code as a number."""
    if value is None:
        return None
    if value.__class__ is str:
        if id_like and value.isdigit() and _INT_RE.match(value):
            types[key] = "str"
        return value
    if not id_like and isinstance(value, (int, float)) and not isinstance(value, bool):
        types[key] = "int"
    return as_text(value)


def _conversion(name: str, key: str, value: str, where: str) -> str:
    """The expression that turns a loose JSON value (the source expression ``value``) into the canonical
    attribute ``name`` (API key ``key``), recording in ``types`` what a round trip must keep: the one
    conversion both generated readers (from dicts, from typed structs) use."""
    if name in _INT_FIELDS:
        return f"(v if (v := {value}) is None or v.__class__ is int else _int_field(v, {key!r}, types, {where}))"
    if name in _FLAG_FIELDS:
        return f'(None if (v := {value}) is None else True if v == "T" else False if v == "F" else as_flag(v))'
    if name in _ID_FIELDS or name in ("bib", "chip", "team_bib"):
        return (f"(None if (v := {value}) is None else str(v) if v.__class__ is int "
                f"else _text(v, {key!r}, types, True))")
    return f"(v if (v := {value}) is None or v.__class__ is str else _text(v, {key!r}, types, False))"


def _compile_reader() -> Any:
    """Build the field-by-field body of participant_from_api from _FIELD_SOURCES.

    A generic loop over the field table cost about 3x more; this runs 50,000 times per pull, so the
    loop is unrolled once, at import, into straight-line code. Two variants: ``read_t`` takes the values
    as tuples fetched by one itemgetter call per object (objects with every documented key: the usual
    case, a third faster), ``read`` takes ``dict.get`` functions (objects with keys missing).
    """
    order = {"": [], "user": [], "address": []}
    for name, (container, key) in _FIELD_SOURCES.items():
        order[container].append(key)
    tuple_of = {"": "t", "user": "u", "address": "a"}
    getter = {"": "og", "user": "ug", "address": "ag"}
    convert = []
    args = []
    for i, (name, (container, key)) in enumerate(_FIELD_SOURCES.items()):
        convert.append(f"    f{i} = {_conversion(name, key, 'v', 'where')}")
        args.append(f"f{i}")
    lines = ["def read(og, ug, ag, types, where):"]
    for i, (name, (container, key)) in enumerate(_FIELD_SOURCES.items()):
        lines += [f"    v = {getter[container]}({key!r})", convert[i]]
    lines.append(f"    return Participant({', '.join(args)})")
    lines.append("def read_t(t, u, a, types, where):")
    for i, (name, (container, key)) in enumerate(_FIELD_SOURCES.items()):
        lines += [f"    v = {tuple_of[container]}[{order[container].index(key)}]", convert[i]]
    lines.append(f"    return Participant({', '.join(args)})")
    namespace: dict[str, Any] = {"Participant": Participant, "_text": _text, "as_flag": as_flag,
                                 "_int_field": _int_field}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from constants only
    getters = tuple(operator.itemgetter(*order[c]) for c in ("", "user", "address"))
    return namespace["read"], namespace["read_t"], getters


def _int_field(value: Any, key: str, types: dict[str, str], where: str) -> int | None:
    if isinstance(value, str):
        types[key] = "str"
    return as_int(value, f"{where}.{key}")


def participant_from_api(obj: dict[str, Any], where: str = "participant") -> Participant:
    """One RaceEntry participant object -> Participant (unknown fields kept in ``extra``)."""
    if not isinstance(obj, dict):
        raise ShapeError(f"{where}: expected an object, got {type(obj).__name__}")
    user = obj.get("user") or {}
    if not isinstance(user, dict):
        raise ShapeError(f"{where}.user: expected an object")
    address = user.get("address") or {}
    if not isinstance(address, dict):
        raise ShapeError(f"{where}.user.address: expected an object")
    types: dict[str, str] = {}
    try:
        p = _read_t(_GET_TOP(obj), _GET_USER(user), _GET_ADDRESS(address), types, where)
    except KeyError:  # a documented key is missing: read what is there
        p = _read(obj.get, user.get, address.get, types, where)
    p.extra = _extras_of(obj, user, address)
    p.types = types
    return p


def _extras_of(obj: dict[str, Any], user: dict[str, Any], address: dict[str, Any]) -> dict[str, Any]:
    """The fields of a participant object the model does not name, under their API key (top level) or
    ``user.<key>`` / ``address.<key>``."""
    if obj.keys() == _ALL_TOP_KEYS:  # the documented set: the extras in one C-level pass
        extra = dict(zip(_EXTRA_KEYS, _GET_EXTRA(obj)))
    else:
        extra = {key: value for key, value in obj.items() if key not in _TOP_KEYS and key != "user"}
    if not _USER_ALLOWED.issuperset(user):
        for key, value in user.items():
            if key != "address" and key not in _USER_MODELLED:
                extra["user." + key] = value
    if not _ADDRESS_MODELLED.issuperset(address):
        for key, value in address.items():
            if key not in _ADDRESS_MODELLED:
                extra["address." + key] = value
    if "user" in obj and "address" in user and user["address"] is None:
        extra["user.address"] = None
    return extra


class RawExtras(Mapping):
    """A participant's extra fields, decoded from its row's exact bytes on first use.

    A typed decode reads only the fields the model names; the fees, flags and any field the document
    does not list stay in the answer's bytes until a lossless output (the ``raceentry`` profile, a saved
    answer) asks for them. Compares equal to the dict it stands for."""

    __slots__ = ("_raw", "_data")

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._data: dict[str, Any] | None = None

    def _dict(self) -> dict[str, Any]:
        data = self._data
        if data is None:
            obj = msgspec.json.decode(self._raw)
            user = obj.get("user") or {}
            data = self._data = _extras_of(obj, user, user.get("address") or {})
            self._raw = None
            if data.get("imported") not in (None, "T", "F"):  # the documented flag outside the model
                from .wire import loose_flag

                data["imported"] = loose_flag(data["imported"], "imported")
        return data

    def __getitem__(self, key: str) -> Any:
        return self._dict()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._dict().get(key, default)

    def __iter__(self) -> Any:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return repr(self._dict())

    def __copy__(self) -> dict[str, Any]:
        return dict(self._dict())

    def copy(self) -> dict[str, Any]:
        return dict(self._dict())


_TOP_KEYS = {key for container, key in _FIELD_SOURCES.values() if container == ""}
_USER_MODELLED = {key for container, key in _FIELD_SOURCES.values() if container == "user"}
_ADDRESS_MODELLED = {key for container, key in _FIELD_SOURCES.values() if container == "address"}
_USER_ALLOWED = _USER_MODELLED | {"address"}
_read, _read_t, (_GET_TOP, _GET_USER, _GET_ADDRESS) = _compile_reader()
_ALL_TOP_KEYS = frozenset(PARTICIPANT_KEYS)
# The documented fields the model keeps in ``extra`` (fees, flags, giveaway...), in documented order.
_EXTRA_KEYS = tuple(k for k in PARTICIPANT_KEYS if k != "user" and k not in _TOP_KEYS)
_KNOWN_EXTRA = frozenset(_EXTRA_KEYS)
_GET_EXTRA = operator.itemgetter(*_EXTRA_KEYS)


def participant_to_api(p: Participant) -> dict[str, Any]:
    """Participant -> the participant object exactly as RaceEntry returns it (documented key order)."""
    if not p.types:
        extra = p.extra
        if extra.__class__ is dict and not extra:
            return _write_bare(p)
        out = _write_plain(p)
        if _KNOWN_EXTRA.issuperset(extra):
            return out
        return _add_extras(out, extra)
    return _to_api_generic(p)


def _id_value(v: str | None) -> Any:
    """An id/bib held as text -> the int RaceEntry sends when it is a canonical integer."""
    if v is None:
        return None
    if v.isascii() and v.isdigit() and (v[0] != "0" or len(v) == 1):
        return int(v)
    if v[:1] == "-" and _INT_RE.match(v):
        return int(v)
    return v


def _compile_writer() -> Any:
    """Straight-line participant_to_api for records with no recorded original types (nearly all):
    50,000 records per conversion made the generic loop over the field table the slowest step."""
    def expr(container: str, key: str) -> str:
        name = _API_TO_NAME.get((container, key))
        if name is None:
            return f"extra.get({key!r})"
        if name in _FLAG_FIELDS:
            return f'(None if p.{name} is None else ("T" if p.{name} else "F"))'
        if name in _ID_FIELDS or name in ("bib", "chip", "team_bib"):
            # _id_value inlined for its usual case (plain digits): 350,000 calls per 50,000 runners
            return (f"(None if (v := p.{name}) is None else int(v) if v.isdigit() and v.isascii() "
                    f"and (v[0] != '0' or len(v) == 1) else _id_value(v))")
        return f"p.{name}"

    def source(fn: str, no_extra: bool) -> str:
        def x(container: str, key: str) -> str:
            out = expr(container, key)
            return "None" if no_extra and out.startswith("extra.get(") else out
        address = ", ".join(f"{k!r}: {x('address', k)}" for k in ADDRESS_KEYS)
        user = ", ".join(f"{k!r}: " + ("address" if k == "address" else x("user", k)) for k in USER_KEYS)
        top = ", ".join(f"{k!r}: " + ("user" if k == "user" else x("", k)) for k in PARTICIPANT_KEYS)
        return (f"def {fn}(p):\n    extra = p.extra\n    address = {{{address}}}\n    user = {{{user}}}\n"
                f"    return {{{top}}}\n")
    namespace: dict[str, Any] = {"_id_value": _id_value}
    # write_bare: a record with no extra field (read from a timing file): no lookup per documented extra
    exec(source("write", False) + source("write_bare", True), namespace)  # noqa: S102 - constants only
    return namespace["write"], namespace["write_bare"]


def _add_extras(out: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    user, address = out["user"], out["user"]["address"]
    for key, value in extra.items():
        if key.startswith("user."):
            sub = key[5:]
            if sub == "address":
                user["address"] = value
            else:
                user[sub] = value
        elif key.startswith("address."):
            address[key[8:]] = value
        elif key not in out:
            out[key] = value
    return out


def _to_api_generic(p: Participant) -> dict[str, Any]:
    types = p.types
    address: dict[str, Any] = {}
    for key in ADDRESS_KEYS:
        name = _API_TO_NAME["address", key]
        address[key] = _api_value(name, getattr(p, name), types.get(key))
    user: dict[str, Any] = {}
    for key in USER_KEYS:
        if key == "address":
            user[key] = address
            continue
        name = _API_TO_NAME["user", key]
        user[key] = _api_value(name, getattr(p, name), types.get(key))
    out: dict[str, Any] = {}
    extra = p.extra
    for key in PARTICIPANT_KEYS:
        if key == "user":
            out[key] = user
        elif key in _TOP_KEYS:
            name = _API_TO_NAME["", key]
            out[key] = _api_value(name, getattr(p, name), types.get(key))
        else:
            out[key] = extra.get(key)
    return _add_extras(out, extra)


_API_TO_NAME = {(container, key): name for name, (container, key) in _FIELD_SOURCES.items()}
_write_plain, _write_bare = _compile_writer()


@contextlib.contextmanager
def gc_paused() -> Any:
    """Pause the cyclic GC while building many objects at once: its generation scans otherwise fire
    hundreds of times during a 50,000-participant parse (about 20% of the time) and find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse_participants(data: Any, source: str = "response") -> list[Participant]:
    """A participants (or removed_participants) response -> flat list of Participants.

    Accepts the grouped list RaceEntry returns (``[{"event": {...}, "participants": [...]}]``), groups
    without a ``participants`` key (the removed feed's empty events), the group's rows under
    ``event.participants`` instead, and a plain list of participant objects or ``{"participants": [...]}``.
    A participant without ``event_id`` takes its group's.
    """
    if isinstance(data, Answer):
        return data.participants
    if isinstance(data, dict):
        if "participants" in data and isinstance(data["participants"], list):
            data = [{"participants": data["participants"]}]
        else:
            raise ShapeError(f"{source}: expected a list of events with participants, got an object "
                             f"with keys {', '.join(sorted(data)[:5]) or '(none)'}")
    if not isinstance(data, list):
        raise ShapeError(f"{source}: expected a list of events with participants")
    with gc_paused():
        return _parse_groups(data, source)


def _parse_groups(data: list[Any], source: str) -> list[Participant]:
    out: list[Participant] = []
    for gi, group in enumerate(data):
        if not isinstance(group, dict):
            raise ShapeError(f"{source}[{gi}]: expected an object")
        if "user" in group and "registration_id" in group:  # a flat list of participants
            out.append(participant_from_api(group, f"{source}[{gi}]"))
            continue
        event = group.get("event") or {}
        event_id = as_int(event.get("event_id"), f"{source}[{gi}].event.event_id") if isinstance(event, dict) else None
        rows = group.get("participants")
        if not rows and isinstance(event, dict):
            rows = event.get("participants")
        for ri, row in enumerate(rows or ()):
            p = participant_from_api(row, f"{source}[{gi}].participants[{ri}]")
            if p.event_id is None:
                p.event_id = event_id
            out.append(p)
    return out


# ------------------------------------------------------------------------------------ typed decoding

@dataclass(slots=True)
class Answer:
    """A participants answer decoded in one typed pass (:mod:`converters.wire`): the participants, and the
    exact bytes of each row and event object, so that writing the answer back (a file's base, a snapshot)
    loses nothing RaceEntry sent, fields the document does not list included."""

    groups: list[tuple[int | None, Any, int]]  # (event id, the event object's bytes, row count), in order
    participants: list[Participant]
    rows: list[Any]  # each participant's bytes (msgspec.Raw or bytes), aligned with ``participants``
    removed: bool = False  # the removed feed: an event with nothing removed has no "participants" key

    def event_ids(self) -> list[int]:
        return [eid for eid, _, _ in self.groups if eid is not None]

    def events(self) -> list[dict[str, Any]]:
        """The groups' event objects, as sent."""
        return [msgspec.json.decode(event) for _, event, _ in self.groups]

    def pieces(self, rows_per_piece: int = 1000) -> Iterable[bytes]:
        """The grouped answer as JSON, in pieces of at most ``rows_per_piece`` rows."""
        if len(self.rows) != len(self.participants):
            raise ValueError("this answer was decoded without its bytes (keep_bytes=False)")
        yield b"["
        start = 0
        for i, (_, event, count) in enumerate(self.groups):
            head = (b"," if i else b"") + b'{"event":' + bytes(event)
            if count == 0 and self.removed:
                yield head + b"}"
                continue
            yield head + b',"participants":['
            end = start + count
            for at in range(start, end, rows_per_piece):
                yield (b"," if at > start else b"") + b",".join(self.rows[at:min(end, at + rows_per_piece)])
            yield b"]}"
            start = end
        yield b"]"

    def to_bytes(self) -> bytes:
        return b"".join(self.pieces(len(self.rows) or 1))

    def to_json(self) -> list[dict[str, Any]]:
        """The answer as plain JSON values (for callers that want dicts; costs what typed decoding saves)."""
        return msgspec.json.decode(self.to_bytes())


def _w_text(value: Any, key: str, types: dict[str, str], id_like: bool) -> str | None:
    """:func:`_text` for the typed reader of RaceEntry's answers: an id sent as text is reported."""
    if id_like and value.__class__ is str and key in _WIRE_ID_KEYS:
        from .wire import label, note

        note(f"RaceEntry sent {label(key)} as text; read as numbers")
    return _text(value, key, types, id_like)


def _w_int_field(value: Any, key: str, types: dict[str, str], where: str) -> int | None:
    """:func:`_int_field` for the typed reader: numbers as text reported; ``last_modified`` also as
    date-time text, read in the race's timezone (:func:`converters.wire.timestamp`)."""
    from . import wire

    if key == "last_modified":
        value = wire.timestamp(value, key, _READ_ZONE[0])
        if value is None or value.__class__ is int:
            return value
    elif value.__class__ is str and _INT_RE.match(value.strip()):
        wire.note(f"RaceEntry sent {wire.label(key)} as text; read as numbers")
    return _int_field(value, key, types, where)


def _w_flag(value: Any) -> bool | None:
    from .wire import loose_flag

    return as_flag(loose_flag(value, "flags"))


_WIRE_ID_KEYS = {"registration_id", "user_id", "team_id", "team_type_id"}
_READ_ZONE: list[str | None] = [None]  # the timezone of the race being decoded (set by decode_participants)


def _compile_wire_reader() -> Any:
    """Straight-line ``from_wire(w, types, extra)``: a decoded :class:`converters.wire.Participant` ->
    Participant, with the same conversions as :func:`participant_from_api` except where the typed
    decoder already guarantees the type (a field declared ``str | None`` is taken as it is)."""
    import typing

    from . import wire

    hints = {"": typing.get_type_hints(wire.Participant), "user": typing.get_type_hints(wire.User),
             "address": typing.get_type_hints(wire.Address)}
    obj = {"": "w", "user": "u", "address": "a"}
    args = []
    for name, (container, key) in _FIELD_SOURCES.items():
        v = f"{obj[container]}.{key}"
        if container == "address":
            v = f"(None if a is None else a.{key})"
        args.append(v if hints[container].get(key) == typing.Optional[str] else _conversion(name, key, v, "''"))
    src = ("def from_wire(w, types, extra):\n    u = w.user\n    a = u.address\n"
           f"    return Participant({', '.join(args)}, extra, types)\n")
    # the same conversions, their slow branches reporting what they normalise (the fast ones are untouched)
    namespace: dict[str, Any] = {"Participant": Participant, "_text": _w_text, "as_flag": _w_flag,
                                 "_int_field": _w_int_field}
    exec(src, namespace)  # noqa: S102 - source built from constants and the wire structs' declared types
    return namespace["from_wire"]


_from_wire = _compile_wire_reader()


def decode_participants(data: Any, source: str = "response", removed: bool = False,
                        keep_bytes: bool = True) -> Answer:
    """A participants answer's bytes -> :class:`Answer`, in one typed pass: each row is decoded straight
    into :class:`converters.wire.Participant` (types and required fields checked as it is built, a
    violation naming its JSON path), then into the canonical :class:`Participant`. The fields the model
    does not name stay in the row's bytes (:class:`RawExtras`).

    ``keep_bytes=False``: for an answer only compared, never written back (a file's base): the records
    carry no extra fields and the answer no rows, so the buffer is freed as soon as it is decoded."""
    from . import wire
    from .errors import SchemaError

    _READ_ZONE[0] = wire.zone_for(source)
    try:
        try:
            groups = wire.GROUPS_DECODER.decode(data)
        except msgspec.ValidationError:
            groups = _loose_groups(data)  # null for an empty list, say; else the strict error again
    except msgspec.ValidationError as exc:
        raise SchemaError(wire.path_of(str(exc), f"{source}: $")) from None
    except msgspec.DecodeError as exc:
        from .errors import InputError
        from .jsonio import loads

        loads(bytes(data), source)  # the line and column of the fault, when the JSON is malformed
        raise InputError(f"not JSON this reader can take ({exc}); re-download it", file=source) from None
    decode_row, decode_event = wire.PARTICIPANT_DECODER.decode, wire.EVENT_DECODER.decode
    from_wire = _from_wire
    participants: list[Participant] = []
    rows: list[Any] = []
    out_groups: list[tuple[int | None, Any, int]] = []
    with gc_paused():
        for gi, group in enumerate(groups):
            try:
                try:
                    event = decode_event(group.event)
                except msgspec.ValidationError:
                    event = _loose_event(group.event)
            except msgspec.ValidationError as exc:
                raise SchemaError(wire.path_of(str(exc), f"{source}: $[{gi}].event")) from None
            event_id = as_int(event.event_id, f"{source}[{gi}].event.event_id")
            where = "participants"
            raws = group.participants
            if not raws and event.participants:
                raws, where = event.participants, "event.participants"
            raws = raws or ()
            for ri, raw in enumerate(raws):
                try:
                    try:
                        p = from_wire(decode_row(raw), {}, RawExtras(raw) if keep_bytes else {})
                    except (msgspec.ValidationError, ShapeError):
                        p = _loose_row(raw, keep_bytes)  # the strict struct refused it: read liberally
                except msgspec.ValidationError as exc:
                    raise SchemaError(wire.path_of(str(exc), f"{source}: $[{gi}].{where}[{ri}]")) from None
                except ShapeError as exc:
                    raise ShapeError(f"{source}[{gi}].{where}[{ri}]{exc}") from None
                if p.event_id is None:
                    p.event_id = event_id
                participants.append(p)
            if keep_bytes:
                rows.extend(raws)
            out_groups.append((event_id, group.event if keep_bytes else b"{}", len(raws)))
    return Answer(out_groups, participants, rows, removed)


def _loose_row(raw: Any, keep_bytes: bool) -> Participant:
    """A row the strict struct refused, read liberally: its documented fields normalised
    (:func:`converters.wire.loosen_participant`), then through the same strict struct and converters, so
    what still cannot be read is refused with its path. Its extras stay those of the bytes as sent."""
    from . import wire

    obj = msgspec.json.decode(raw)
    fixed = msgspec.json.encode(wire.loosen_participant(obj))
    return _from_wire(wire.PARTICIPANT_DECODER.decode(fixed), {}, RawExtras(raw) if keep_bytes else {})


_LOOSE_GROUPS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])


def _loose_groups(data: Any) -> list[Any]:
    """The groups of an answer the strict decoder refused, read liberally (null for an empty list, an event
    id as 7.0): each group normalised, then decoded strictly again (a wrong type keeps its path). The rows
    stay the bytes they were sent as."""
    from . import wire

    out = []
    for group in _LOOSE_GROUPS.decode(data):
        parts = {k: v for k, v in group.items() if k in ("event", "participants")}
        if "participants" in parts:
            rows = msgspec.json.decode(parts["participants"], type=list[msgspec.Raw] | None | str)
            if rows in (None, ""):
                wire.note("RaceEntry sent null for empty participant lists; read as empty")
                rows = []
            parts["participants"] = rows
        if "event" in parts:
            event = wire.loosen_group({"event": msgspec.json.decode(parts["event"])})["event"]
            parts["event"] = msgspec.Raw(msgspec.json.encode(event))
        if "event" not in parts:
            wire.GROUPS_DECODER.decode(data)  # not a liberal reading's matter: the strict error, with its path
        out.append(wire.Group(**parts))
    return out


def _loose_event(raw: Any) -> Any:
    """An event object the strict struct refused, read liberally (null participants, id as 7.0)."""
    from . import wire

    event = wire.loosen_group({"event": msgspec.json.decode(raw)})["event"]
    return wire.EVENT_DECODER.decode(msgspec.json.encode(event))


def participant_from_json(raw: Any, where: str = "participant", event_id: int | None = None) -> Participant:
    """One participant object's JSON bytes -> Participant, in the same typed pass as
    :func:`decode_participants` (a saved row of the sync roster, say)."""
    from . import wire
    from .errors import SchemaError

    _READ_ZONE[0] = wire.zone_for(where)
    try:
        try:
            p = _from_wire(wire.PARTICIPANT_DECODER.decode(raw), {}, RawExtras(raw))
        except (msgspec.ValidationError, ShapeError):
            p = _loose_row(raw, True)
    except msgspec.ValidationError as exc:
        raise SchemaError(wire.path_of(str(exc), f"{where}: $")) from None
    except msgspec.DecodeError as exc:
        raise SchemaError(f"{where}: {exc}") from None
    except ShapeError as exc:
        raise ShapeError(f"{where}{exc}") from None
    if p.event_id is None:
        p.event_id = event_id
    return p


def as_answer(data: Any, source: str = "response", removed: bool = False, keep_bytes: bool = True) -> Answer:
    """An answer from whatever holds one: an Answer, its bytes, or plain JSON values (encoded, then
    decoded and checked in the same typed pass)."""
    if isinstance(data, Answer):
        return data
    if not isinstance(data, (bytes, bytearray, memoryview)):
        data = msgspec.json.encode(data)
    return decode_participants(data, source, removed, keep_bytes)


def event_ids_in(data: Any) -> list[int]:
    """The event ids a grouped response lists (including events with no participants)."""
    if isinstance(data, Answer):
        return data.event_ids()
    ids: list[int] = []
    if isinstance(data, list):
        for group in data:
            if isinstance(group, dict) and isinstance(group.get("event"), dict):
                eid = as_int(group["event"].get("event_id"))
                if eid is not None and eid not in ids:
                    ids.append(eid)
    return ids


def by_event(participants: Iterable[Participant], event_ids: Iterable[int] = ()
             ) -> dict[int | None, list[Participant]]:
    """Participants grouped by event, as RaceEntry groups its answer: ``event_ids`` in their order (empty
    groups included), then any other event in order of appearance."""
    groups: dict[int | None, list[Participant]] = {eid: [] for eid in event_ids}
    for p in participants:
        groups.setdefault(p.event_id, []).append(p)
    return groups


def participants_json(participants: Iterable[Participant], event_ids: Iterable[int] = (),
                      chunk: int = 1000) -> Iterable[bytes]:
    """:func:`participants_response` as indented JSON (the same bytes ``orjson`` indents the whole list
    to), made ``chunk`` participants at a time: a 50,000-runner answer never exists as dicts at once."""
    import orjson

    groups = by_event(participants, event_ids)
    indent = orjson.OPT_INDENT_2
    yield b"["
    for gi, (eid, rows) in enumerate(groups.items()):
        event = orjson.dumps({"event_id": eid, "participants": []}, option=indent).replace(b"\n", b"\n    ")
        yield (b"," if gi else b"") + b'\n  {\n    "event": ' + event + b',\n    "participants": ['
        for at in range(0, len(rows), chunk):
            body = orjson.dumps([participant_to_api(p) for p in rows[at:at + chunk]], option=indent)
            yield (b"," if at else b"") + b"\n    " + body[2:-2].replace(b"\n", b"\n    ")
        yield b"\n    ]\n  }" if rows else b"]\n  }"
    yield b"\n]\n" if groups else b"]\n"


def participants_response(participants: Iterable[Participant], event_ids: Iterable[int] = (),
                          removed: bool = False) -> list[dict[str, Any]]:
    """Participants -> the grouped list RaceEntry returns, one group per event (in ``event_ids`` order,
    then any other event in order of appearance). ``removed=True`` drops the ``participants`` key of
    empty groups, as the removed feed does."""
    out = []
    for eid, rows in by_event(participants, event_ids).items():
        group: dict[str, Any] = {"event": {"event_id": eid, "participants": []}}
        if rows or not removed:
            group["participants"] = [participant_to_api(p) for p in rows]
        out.append(group)
    return out


# ---------------------------------------------------------------------------------------------- teams

_TEAM_MODEL = {"team_id", "team_type_id", "team_name", "team_gender", "team_bib_num",
               "team_age_restriction_id", "last_modified_ts"}
TEAM_KEYS = ("team_id", "team_type_id", "team_name", "team_gender", "team_bib_num", "team_age_restriction_id",
             "last_modified_ts")


def parse_teams(data: Any, source: str = "teams response") -> list[Team]:
    """A teams response (a list, or ``{"race_teams": [...]}``) -> Teams."""
    if isinstance(data, dict):
        data = data.get("race_teams", data.get("teams"))
    if not isinstance(data, list):
        raise ShapeError(f"{source}: expected a list of teams")
    teams = []
    for i, obj in enumerate(data):
        if isinstance(obj, dict) and isinstance(obj.get("team"), dict):
            obj = obj["team"]
        if not isinstance(obj, dict):
            raise ShapeError(f"{source}[{i}]: expected an object")
        from .wire import loosen_team, zone_for

        obj = loosen_team(obj, zone_for(source))  # read liberally (a no-op on what the client checked)
        teams.append(Team(
            team_id=as_text(obj.get("team_id")), team_type_id=as_text(obj.get("team_type_id")),
            team_name=as_text(obj.get("team_name")), team_gender=as_text(obj.get("team_gender")),
            team_bib=as_text(obj.get("team_bib_num")),
            team_age_restriction_id=as_text(obj.get("team_age_restriction_id")),
            last_modified=as_int(obj.get("last_modified_ts"), f"{source}[{i}].last_modified_ts"),
            extra={k: v for k, v in obj.items() if k not in _TEAM_MODEL}))
    return teams


def team_to_api(t: Team) -> dict[str, Any]:
    out = {
        "team_id": _api_value("team_id", t.team_id, None),
        "team_type_id": _api_value("team_type_id", t.team_type_id, None),
        "team_name": t.team_name,
        "team_gender": t.team_gender,
        "team_bib_num": _api_value("team_bib", t.team_bib, None),
        "team_age_restriction_id": _api_value("team_id", t.team_age_restriction_id, None),
        "last_modified_ts": t.last_modified,
    }
    out.update(t.extra)
    return out


def parse_team_types(data: Any, source: str = "team types response") -> list[TeamType]:
    if isinstance(data, dict):
        data = data.get("race_team_types")
    if not isinstance(data, list):
        raise ShapeError(f"{source}: expected {{\"race_team_types\": [...]}}")
    out = []
    for i, obj in enumerate(data):
        from .wire import loosen_team_type

        obj = loosen_team_type(obj)  # read liberally (a no-op on what the client checked)
        if not isinstance(obj, dict) or obj.get("team_type_id") is None:
            raise ShapeError(f"{source}[{i}]: expected a team type with team_type_id")
        ids = [as_int(x, f"{source}[{i}].valid_event_ids") for x in obj.get("valid_event_ids") or []]
        out.append(TeamType(as_text(obj["team_type_id"]) or "", as_text(obj.get("team_type")),
                            [x for x in ids if x is not None], obj))
    return out


# ------------------------------------------------------------------------------------------- payloads

# Fields a participant POST can change, canonical name -> where it goes.
POSTABLE_FIELDS = ("first_name", "middle_name", "last_name", "email", "street", "city", "state", "zipcode",
                   "country_code", "dob", "gender", "phone", "team_id")


def participant_payload(p: Participant, changed: Iterable[str] | None = None) -> dict[str, Any]:
    """The POST race/{id}/participants row for ``p``.

    A create (no registration id) sends every field that has a value. An update sends the runner's
    complete record as ``p`` holds it (every field with a value), and the ``changed`` fields even when
    blank (sent as null: cleared). So a server that merges an update into the record and one that
    REPLACES the record (or its user or address object) with what was sent end up with the same runner:
    nothing unsent can be wiped. ``p`` must be RaceEntry's current record with the changes applied (see
    :func:`converters.diff.modify_payload`), never a file's row: an update sends no value nobody typed.
    A field blank in ``p`` and not changed stays out (a replacing server leaves it blank, as it was).

    The document is ambiguous: its example puts gender, phone and team_id beside ``user`` and the
    address zip under ``"zip code"``, its field table puts them inside ``user`` and responses say
    ``zipcode``. We send both spellings; a server reads the one it knows and ignores the other.
    """
    creating = not p.registration_id
    if changed is None or creating:
        fields = [f for f in POSTABLE_FIELDS if getattr(p, f) not in (None, "")]
    else:  # the whole record, plus the changed fields a change blanked (they must be cleared)
        wanted = set(changed)
        fields = [f for f in POSTABLE_FIELDS if f in wanted or getattr(p, f) not in (None, "")]
    user: dict[str, Any] = {"first_name": p.first_name or "", "last_name": p.last_name or ""}
    row: dict[str, Any] = {"registration_id": p.registration_id or "", "event_id": p.event_id, "user": user}
    address: dict[str, Any] = {}
    for f in fields:
        value = getattr(p, f)
        if value == "" and f != "gender":
            value = None
        if f in ("street", "city", "state", "country_code"):
            address[f] = value
        elif f == "zipcode":
            address["zipcode"] = value
            address["zip code"] = value
        elif f in ("gender", "phone", "team_id"):
            api_value = value
            if f == "team_id" and value is not None and _INT_RE.match(value):
                api_value = int(value)
            user[f] = api_value
            row[f] = api_value
        elif f not in ("first_name", "last_name"):
            user[f] = value
    if address:
        user["address"] = address
    return row


def participants_request(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"participants": rows}


def switch_request(pairs: Iterable[tuple[str, int]]) -> dict[str, Any]:
    return {"registrations": [{"registration_id": _api_value("registration_id", rid, None),
                               "new_event_id": eid} for rid, eid in pairs]}


def delete_request(registration_ids: Iterable[str]) -> dict[str, Any]:
    return {"registrations": [{"registration_id": _api_value("registration_id", rid, None)}
                              for rid in registration_ids]}


def teams_request(teams: Iterable[Team]) -> dict[str, Any]:
    return {"race_teams": [{"team_id": t.team_id or "",
                            "team_type_id": _api_value("team_type_id", t.team_type_id, None),
                            "team_name": t.team_name} for t in teams]}


def result_ids(data: Any, key: str = "participants", id_key: str = "registration_id") -> list[Any]:
    """The per-row results of a POST: list of ids (text) or ``{"error": msg}`` dicts, in request order."""
    rows = data.get(key) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ShapeError(f"POST response: expected {{\"{key}\": [...]}}")
    out: list[Any] = []
    for row in rows:
        if isinstance(row, dict) and row.get("error"):
            err = row["error"]
            msg = err.get("error_msg") or err.get("message") if isinstance(err, dict) else str(err)
            out.append({"error": str(msg)})
        elif isinstance(row, dict):
            out.append(as_text(row.get(id_key)))
        else:
            out.append(as_text(row))
    return out
