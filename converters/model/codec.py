"""One RaceEntry participant or team object <-> one canonical record (:mod:`converters.model`).

RaceEntry's JSON is loose (ids as strings or numbers, ``"T"``/``"F"`` flags, ``"$0.00"`` money, ``""``
gender). :func:`participant_from_api` normalises an object into a :class:`~converters.model.Participant`,
recording in its ``types`` what a round trip must keep and in ``extra`` every field the model does not
name; :func:`participant_to_api` writes the object back exactly as RaceEntry sent it (documented key order).
The field-by-field readers and writers are compiled once, at import, from
:data:`converters.model.FIELD_SOURCES`: they run 50,000 times per pull. :func:`read_expression`,
:func:`read_text` and :func:`read_int` are the conversions the typed reader of whole answers
(:mod:`converters.model.answers`) shares.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import ShapeError
from . import (ADDRESS_KEYS, FIELD_SOURCES, INT_TEXT, PARTICIPANT_KEYS, USER_KEYS, Participant, Team, as_flag,
               as_int, as_text)
from .wire import loose_flag

# How each canonical attribute is typed. "id": kept as text, written back as int when it is a plain
# integer (RaceEntry sends ints, sometimes strings). "code": bib/chip style text whose leading zeros
# matter; written back as int only when the text is a canonical integer. "int": a number.
# "flag": bool from "T"/"F". Everything else is text (or None).
_ID_FIELDS = {"registration_id", "user_id", "team_id", "team_type_id"}
_CODE_FIELDS = {"bib", "chip", "team_bib", "phone", "zipcode"}
_INT_FIELDS = {"event_id", "age", "last_modified"}
_FLAG_FIELDS = {"checked_in"}


def api_value(name: str, value: Any, original_type: str | None) -> Any:
    """Canonical value -> the JSON value RaceEntry would send."""
    if value is None:
        return None
    if name in _FLAG_FIELDS:
        return "T" if value else "F"
    if name in _INT_FIELDS:
        return value
    if name in _ID_FIELDS or (name in _CODE_FIELDS and name not in ("phone", "zipcode")):
        if original_type == "str" or not INT_TEXT.match(value):
            return value
        return int(value)
    if original_type == "int" and INT_TEXT.match(value):  # e.g. phone sent as a number
        return int(value)
    return value


# --------------------------------------------------------------------------------------- participants

def read_text(value: Any, key: str, types: dict[str, str], id_like: bool) -> str | None:
    """as_text, remembering when RaceEntry sent an int-looking id as a string or a code as a number."""
    if value is None:
        return None
    if value.__class__ is str:
        if id_like and value.isdigit() and INT_TEXT.match(value):
            types[key] = "str"
        return value
    if not id_like and isinstance(value, (int, float)) and not isinstance(value, bool):
        types[key] = "int"
    return as_text(value)


def read_expression(name: str, key: str, value: str, where: str) -> str:
    """The expression that turns a loose JSON value (the source expression ``value``) into the canonical
    attribute ``name`` (API key ``key``), recording in ``types`` what a round trip must keep: the one
    conversion both generated readers (from dicts, from typed structs) use. The expression calls
    ``_text``, ``_int_field`` and ``as_flag``: the namespace it is compiled in binds them (here to
    :func:`read_text`, :func:`read_int` and :func:`converters.model.as_flag`)."""
    if name in _INT_FIELDS:
        return f"(v if (v := {value}) is None or v.__class__ is int else _int_field(v, {key!r}, types, {where}))"
    if name in _FLAG_FIELDS:
        return f'(None if (v := {value}) is None else True if v == "T" else False if v == "F" else as_flag(v))'
    if name in _ID_FIELDS or name in ("bib", "chip", "team_bib"):
        return (f"(None if (v := {value}) is None else str(v) if v.__class__ is int "
                f"else _text(v, {key!r}, types, True))")
    return f"(v if (v := {value}) is None or v.__class__ is str else _text(v, {key!r}, types, False))"


def _compile_reader() -> Any:
    """Build the field-by-field body of participant_from_api from FIELD_SOURCES.

    A generic loop over the field table cost about 3x more; this runs 50,000 times per pull, so the
    loop is unrolled once, at import, into straight-line code. Two variants: ``read_t`` takes the values
    as tuples fetched by one itemgetter call per object (objects with every documented key: the usual
    case, a third faster), ``read`` takes ``dict.get`` functions (objects with keys missing).
    """
    order = {"": [], "user": [], "address": []}
    for name, (container, key) in FIELD_SOURCES.items():
        order[container].append(key)
    tuple_of = {"": "t", "user": "u", "address": "a"}
    getter = {"": "og", "user": "ug", "address": "ag"}
    convert = []
    args = []
    for i, (name, (container, key)) in enumerate(FIELD_SOURCES.items()):
        convert.append(f"    f{i} = {read_expression(name, key, 'v', 'where')}")
        args.append(f"f{i}")
    lines = ["def read(og, ug, ag, types, where):"]
    for i, (name, (container, key)) in enumerate(FIELD_SOURCES.items()):
        lines += [f"    v = {getter[container]}({key!r})", convert[i]]
    lines.append(f"    return Participant({', '.join(args)})")
    lines.append("def read_t(t, u, a, types, where):")
    for i, (name, (container, key)) in enumerate(FIELD_SOURCES.items()):
        lines += [f"    v = {tuple_of[container]}[{order[container].index(key)}]", convert[i]]
    lines.append(f"    return Participant({', '.join(args)})")
    namespace: dict[str, Any] = {"Participant": Participant, "_text": read_text, "as_flag": as_flag,
                                 "_int_field": read_int}
    exec("\n".join(lines), namespace)  # noqa: S102 - source built above from constants only
    getters = tuple(operator.itemgetter(*order[c]) for c in ("", "user", "address"))
    return namespace["read"], namespace["read_t"], getters


def read_int(value: Any, key: str, types: dict[str, str], where: str) -> int | None:
    """as_int, remembering when RaceEntry sent a number as text; ``where`` names the object in errors."""
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


_TOP_KEYS = {key for container, key in FIELD_SOURCES.values() if container == ""}
_USER_MODELLED = {key for container, key in FIELD_SOURCES.values() if container == "user"}
_ADDRESS_MODELLED = {key for container, key in FIELD_SOURCES.values() if container == "address"}
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
    if v[:1] == "-" and INT_TEXT.match(v):
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
        address[key] = api_value(name, getattr(p, name), types.get(key))
    user: dict[str, Any] = {}
    for key in USER_KEYS:
        if key == "address":
            user[key] = address
            continue
        name = _API_TO_NAME["user", key]
        user[key] = api_value(name, getattr(p, name), types.get(key))
    out: dict[str, Any] = {}
    extra = p.extra
    for key in PARTICIPANT_KEYS:
        if key == "user":
            out[key] = user
        elif key in _TOP_KEYS:
            name = _API_TO_NAME["", key]
            out[key] = api_value(name, getattr(p, name), types.get(key))
        else:
            out[key] = extra.get(key)
    return _add_extras(out, extra)


_API_TO_NAME = {(container, key): name for name, (container, key) in FIELD_SOURCES.items()}
_write_plain, _write_bare = _compile_writer()


# ---------------------------------------------------------------------------------------------- teams

def team_to_api(t: Team) -> dict[str, Any]:
    """Team -> the team object as RaceEntry returns it (ids as numbers when they are plain integers),
    with the fields the model does not name put back from ``extra``."""
    out = {
        "team_id": api_value("team_id", t.team_id, None),
        "team_type_id": api_value("team_type_id", t.team_type_id, None),
        "team_name": t.team_name,
        "team_gender": t.team_gender,
        "team_bib_num": api_value("team_bib", t.team_bib, None),
        "team_age_restriction_id": api_value("team_id", t.team_age_restriction_id, None),
        "last_modified_ts": t.last_modified,
    }
    out.update(t.extra)
    return out
