"""The typed structs of ``converters/wire.py`` and the published schemas of ``schemas/`` agree, field by
field: the same property names, the same required set, the same JSON types (and the same patterns).

The structs are read with ``msgspec.inspect.type_info``; JSON types are compared as sets after one
normalisation: ``number`` includes ``integer`` (a field taking int and float is a ``number``). A nested struct
is an ``object``, a list an ``array`` (its items compared too), ``Union[X, None]`` is ``[X, null]``, and a
``msgspec.Raw`` field (kept as bytes, decoded in a second step) counts as whatever the schema declares for it.
A second, behavioural pass feeds each field values of every JSON type and checks the schema and the typed
decoders accept and refuse the same ones.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import msgspec
import pytest
from msgspec import inspect as mi

from converters.model import answers, schemas, wire
from converters.errors import SchemaError
from converters.model.schemas import schema

ROOT = Path(__file__).resolve().parent.parent

ALL_TYPES = frozenset({"string", "number", "integer", "boolean", "null", "array", "object"})


def _norm(types: set[str] | frozenset[str]) -> frozenset[str]:
    out = set(types)
    if "number" in out:
        out.discard("integer")
    return frozenset(out)


# ------------------------------------------------------------------------------------------- schema side

def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        extra = {k: v for k, v in node.items() if k != "$ref"}
        assert not extra, f"{ref}: keywords beside $ref are not compared: {sorted(extra)}"
        node = target
    return node


def schema_types(node: dict[str, Any], root: dict[str, Any]) -> frozenset[str]:
    """The JSON types a schema node accepts (every type when it names none)."""
    node = _resolve(node, root)
    for key in ("anyOf", "oneOf"):
        if key in node:
            out: set[str] = set()
            for sub in node[key]:
                out |= schema_types(sub, root)
            return _norm(out)
    if "type" not in node:
        return _norm(ALL_TYPES)
    t = node["type"]
    return _norm({t} if isinstance(t, str) else set(t))


def schema_items(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    node = _resolve(node, root)
    return node.get("items", {})


def schema_pattern(node: dict[str, Any], root: dict[str, Any]) -> str | None:
    return _resolve(node, root).get("pattern")


# ------------------------------------------------------------------------------------------- struct side

def _members(t: mi.Type) -> list[mi.Type]:
    if isinstance(t, mi.Metadata):
        return _members(t.type)
    if isinstance(t, mi.UnionType):
        return [m for u in t.types for m in _members(u)]
    return [t]


_SIMPLE = {mi.StrType: "string", mi.IntType: "integer", mi.FloatType: "number", mi.BoolType: "boolean",
           mi.NoneType: "null", mi.StructType: "object", mi.DictType: "object", mi.ListType: "array"}


def struct_types(t: mi.Type, declared: frozenset[str]) -> frozenset[str]:
    """The JSON types a struct field accepts. ``declared``: the schema's types for it (what a Raw counts as)."""
    out: set[str] = set()
    for m in _members(t):
        if isinstance(m, mi.RawType):
            out |= declared
        elif isinstance(m, mi.AnyType):
            out |= ALL_TYPES
        else:
            assert type(m) in _SIMPLE, f"no JSON type known for {m!r}"
            out.add(_SIMPLE[type(m)])
    return _norm(out)


def _list_of(t: mi.Type) -> mi.ListType | None:
    lists = [m for m in _members(t) if isinstance(m, mi.ListType)]
    return lists[0] if lists else None


def _struct_of(t: mi.Type) -> type | None:
    structs = [m for m in _members(t) if isinstance(m, mi.StructType)]
    return structs[0].cls if structs else None


def _pattern_of(t: mi.Type) -> str | None:
    patterns = {m.pattern for m in _members(t) if isinstance(m, mi.StrType)}
    assert len(patterns) <= 1
    return next(iter(patterns), None)


# ------------------------------------------------------------------------------------------------ pairs

def _def(name: str, *path: str) -> Callable[[], tuple[dict[str, Any], dict[str, Any]]]:
    def get() -> tuple[dict[str, Any], dict[str, Any]]:
        root = schema(name)
        node: Any = root
        for part in path:
            node = node[part]
        return root, _resolve(node, root)
    return get


PR = "participants.response"
# struct -> (its schema definition, how a value placed there is wrapped into a whole answer)
PAIRS: dict[type, tuple[Callable[[], tuple[dict[str, Any], dict[str, Any]]], str, Callable[[Any], Any]]] = {}


def _participant_answer(row: Any) -> Any:
    return [{"event": {"event_id": 16, "participants": []}, "participants": [row]}]


def _minimal_user() -> dict[str, Any]:
    return {"first_name": "Jo", "last_name": "Ru"}


def _minimal_participant() -> dict[str, Any]:
    return {"user": _minimal_user(), "registration_id": 30}


PAIRS[wire.Group] = (_def(PR, "$defs", "group"), PR, lambda g: [g])
PAIRS[wire.Event] = (_def(PR, "$defs", "event"), PR, lambda e: [{"event": e}])
PAIRS[wire.Participant] = (_def(PR, "$defs", "participant"), PR, _participant_answer)
PAIRS[wire.User] = (_def(PR, "$defs", "user"), PR,
                    lambda u: _participant_answer({"user": u, "registration_id": 30}))
PAIRS[wire.Address] = (_def(PR, "$defs", "address"), PR,
                       lambda a: _participant_answer({"user": {**_minimal_user(), "address": a},
                                                      "registration_id": 30}))
PAIRS[wire.Team] = (_def("teams.response", "items"), "teams.response", lambda t: [t])
PAIRS[wire.TeamTypes] = (_def("team_types.response"), "team_types.response", lambda x: x)
PAIRS[wire.TeamType] = (_def("team_types.response", "properties", "race_team_types", "items"),
                        "team_types.response", lambda t: {"race_team_types": [t]})

MINIMAL: dict[type, dict[str, Any]] = {
    wire.Group: {"event": {"event_id": 16}},
    wire.Event: {"event_id": 16},
    wire.Participant: _minimal_participant(),
    wire.User: _minimal_user(),
    wire.Address: {},
    wire.Team: {"team_id": 9, "team_name": "Sole Survivors"},
    wire.TeamTypes: {"race_team_types": []},
    wire.TeamType: {"team_type_id": 68},
}


def _decode_participants_wire(data: bytes) -> None:
    """The typed decoding of a participants answer, Raw parts included (as answers.decode_participants
    runs it, without the model's own conversions)."""
    for group in wire.GROUPS_DECODER.decode(data):
        event = wire.EVENT_DECODER.decode(group.event)
        for row in [*group.participants, *event.participants]:
            wire.PARTICIPANT_DECODER.decode(row)


DECODE: dict[str, Callable[[bytes], Any]] = {
    PR: _decode_participants_wire,
    "teams.response": wire.TEAMS_DECODER.decode,
    "team_types.response": wire.TEAM_TYPES_DECODER.decode,
}

STRUCTS = list(PAIRS)


def _id(cls: type) -> str:
    return cls.__name__


# ------------------------------------------------------------------------------------------------ tests

@pytest.mark.parametrize("cls", STRUCTS, ids=_id)
def test_same_properties(cls):
    _, node = PAIRS[cls][0]()
    assert node.get("additionalProperties", True) is not False, "undocumented fields must be accepted"
    assert not mi.type_info(cls).forbid_unknown_fields, "undocumented fields must be accepted"
    fields = [f.encode_name for f in mi.type_info(cls).fields]
    assert set(fields) == set(node["properties"]), (
        f"only in {cls.__name__}: {sorted(set(fields) - set(node['properties']))}; "
        f"only in the schema: {sorted(set(node['properties']) - set(fields))}")


@pytest.mark.parametrize("cls", STRUCTS, ids=_id)
def test_same_required(cls):
    _, node = PAIRS[cls][0]()
    required = {f.encode_name for f in mi.type_info(cls).fields if f.required}
    assert required == set(node.get("required", ())), cls.__name__


@pytest.mark.parametrize("cls", STRUCTS, ids=_id)
def test_same_types_field_by_field(cls):
    root, node = PAIRS[cls][0]()
    assert "object" in schema_types(node, root)
    problems = []
    for f in mi.type_info(cls).fields:
        prop = node["properties"][f.encode_name]
        declared = schema_types(prop, root)
        got = struct_types(f.type, declared)
        if got != declared:
            problems.append(f"{f.encode_name}: struct {sorted(got)}, schema {sorted(declared)}")
        if _pattern_of(f.type) != schema_pattern(prop, root):
            problems.append(f"{f.encode_name}: pattern {_pattern_of(f.type)!r} vs {schema_pattern(prop, root)!r}")
        lst = _list_of(f.type)
        if lst is not None:  # the items too
            items = schema_items(prop, root)
            item_declared = schema_types(items, root)
            item_got = struct_types(lst.item_type, item_declared)
            if item_got != item_declared:
                problems.append(f"{f.encode_name}[]: struct {sorted(item_got)}, schema {sorted(item_declared)}")
        nested = _struct_of(f.type)
        if nested is not None:  # a nested struct is the struct paired with the definition the schema names
            assert nested in PAIRS, nested
            if _resolve(prop, root) is not PAIRS[nested][0]()[1]:
                problems.append(f"{f.encode_name}: struct {nested.__name__} is not what the schema refers to")
    assert not problems, f"{cls.__name__} and its schema disagree:\n" + "\n".join(problems)


def test_every_struct_with_fields_is_paired():
    """A struct added to wire.py without a schema pairing here would escape the agreement tests."""
    structs = {v for v in vars(wire).values() if isinstance(v, type) and issubclass(v, msgspec.Struct)
               and v is not msgspec.Struct and v.__module__ == wire.__name__}
    assert structs == set(PAIRS)


@pytest.mark.parametrize("decoder, name, cls", [
    (wire.GROUPS_DECODER, PR, wire.Group),
    (wire.TEAMS_DECODER, "teams.response", wire.Team),
    (wire.TEAM_TYPES_DECODER, "team_types.response", wire.TeamTypes),
], ids=["groups", "teams", "team_types"])
def test_decoders_read_the_schemas_root(decoder, name, cls):
    root = schema(name)
    t = mi.type_info(decoder.type)
    if isinstance(t, mi.ListType):
        assert schema_types(root, root) == {"array"}
        assert t.item_type.cls is cls and _resolve(root["items"], root) is PAIRS[cls][0]()[1]
    else:
        assert t.cls is cls and root is PAIRS[cls][0]()[1]
    assert wire.PARTICIPANT_DECODER.type is wire.Participant and wire.EVENT_DECODER.type is wire.Event


# Every value type JSON has. Integral floats (7.0) are left out: JSON Schema counts 7.0 as an integer,
# msgspec's int does not (a known limit of the type-level agreement; RaceEntry sends ids as 7 or "7").
PROBES = ["text", "", "1990-05-05", "05/05/1990", 7, -7, 7.5, True, False, None, [], {}, [1], ["x"], [{}]]


@pytest.mark.parametrize("cls", STRUCTS, ids=_id)
def test_same_values_accepted_field_by_field(cls):
    """Behavioural check of the above: each field given values of every JSON type, in a whole answer, is
    accepted or refused alike by the published schema and by the typed decoders."""
    _, name, wrap = PAIRS[cls]
    validator = jsonschema_rs.validator_for(schema(name))
    decode = DECODE[name]

    def accepted_by_wire(doc: Any) -> bool:
        try:
            decode(msgspec.json.encode(doc))
        except msgspec.ValidationError:
            return False
        return True

    base = MINIMAL[cls]
    assert validator.is_valid(wrap(base)) and accepted_by_wire(wrap(base))
    undocumented = wrap({**base, "a_field_the_document_does_not_list": {"any": ["value"]}})
    assert validator.is_valid(undocumented) and accepted_by_wire(undocumented)
    problems = []
    for f in mi.type_info(cls).fields:
        for value in PROBES:
            doc = wrap({**base, f.encode_name: value})
            by_schema, by_wire = validator.is_valid(doc), accepted_by_wire(doc)
            if by_schema != by_wire:
                problems.append(f"{f.encode_name}={value!r}: schema {'accepts' if by_schema else 'refuses'}, "
                                f"wire {'accepts' if by_wire else 'refuses'}")
        if not f.required:
            doc = wrap({k: v for k, v in base.items() if k != f.encode_name})
            assert validator.is_valid(doc) and accepted_by_wire(doc), f"{f.encode_name} may be left out"
        else:
            doc = wrap({k: v for k, v in base.items() if k != f.encode_name})
            assert not validator.is_valid(doc) and not accepted_by_wire(doc), f"{f.encode_name} is required"
    assert not problems, f"{cls.__name__}:\n" + "\n".join(problems)


# ------------------------------------------------------------------------------- the document's fields

# The keys of a participant object in the Timer API document's example answer (PARTICIPANT DATA,
# GET race/{id}/participants, "Success: Response code: 200"; removed_participants shows the same keys),
# in the document's order.
DOC_PARTICIPANT_KEYS = (
    "user", "registration_id", "event_id", "rsu_transaction_id", "transaction_id", "bib_num", "chip_num",
    "age", "registration_date", "team_id", "team_name", "team_type_id", "team_type", "team_gender",
    "team_bib_num", "last_modified", "imported", "race_fee", "offline_payment_amount", "processing_fee",
    "processing_fee_paid_by_user", "processing_fee_paid_by_race", "partner_fee", "affiliate_profit",
    "extra_fees", "amount_paid", "usatf_discount_amount_in_cents", "usatf_discount_additional_field",
    "giveaway", "giveaway_option_id", "race_corral_id", "race_corral_name", "checked_in", "checkin_date",
    "checked_in_by_user_id",
)
# ... of its "user" object, and of the user's "address" object (same example).
DOC_USER_KEYS = ("user_id", "first_name", "middle_name", "last_name", "email", "address", "dob", "gender",
                 "phone", "profile_image_url")
DOC_ADDRESS_KEYS = ("street", "city", "state", "zipcode", "country_code")
# The keys of GET race/{id}/teams's and GET race/{id}/teams/team_types's examples (TEAM DATA).
DOC_TEAM_KEYS = ("team_id", "team_type_id", "team_name", "team_gender", "team_bib_num", "team_age_restriction_id",
                 "last_modified_ts")
DOC_TEAM_TYPE_KEYS = (
    "team_type_id", "team_type", "team_type_desc", "min_members", "max_members", "min_male_members",
    "max_male_members", "min_female_members", "max_female_members", "max_num_teams", "valid_event_ids",
    "require_gender_selection", "allow_all_male_team", "allow_all_female_team", "allow_coed_team",
    "require_age_range_selection", "team_age_restrictions",
)

DOC_KEYS = {wire.Participant: DOC_PARTICIPANT_KEYS, wire.User: DOC_USER_KEYS, wire.Address: DOC_ADDRESS_KEYS,
            wire.Team: DOC_TEAM_KEYS, wire.TeamType: DOC_TEAM_TYPE_KEYS}


@pytest.mark.parametrize("cls", list(DOC_KEYS), ids=_id)
def test_every_documented_field_is_declared_in_both(cls):
    _, node = PAIRS[cls][0]()
    fields = {f.encode_name for f in mi.type_info(cls).fields}
    keys = DOC_KEYS[cls]
    assert [k for k in keys if k not in node["properties"]] == [], "missing from the schema"
    assert [k for k in keys if k not in fields] == [], f"missing from wire.{cls.__name__}"


def _doc_participant_objects(answer: Any) -> list[dict[str, Any]]:
    return [row for group in answer for row in group.get("participants", [])]


def test_document_samples_have_the_documented_keys():
    """samples/doc holds the document's examples (syntax slips fixed): they carry exactly the keys above."""
    for sample in ("participants.json", "removed_participants.json"):
        rows = _doc_participant_objects(json.loads((ROOT / "samples" / "doc" / sample).read_text()))
        assert rows
        for row in rows:
            assert tuple(row) == DOC_PARTICIPANT_KEYS
            assert tuple(row["user"]) == DOC_USER_KEYS
            assert tuple(row["user"]["address"]) == DOC_ADDRESS_KEYS
    teams = json.loads((ROOT / "samples" / "doc" / "teams.json").read_text())
    assert all(tuple(t) == DOC_TEAM_KEYS for t in teams)
    types = json.loads((ROOT / "samples" / "doc" / "team_types.json").read_text())["race_team_types"]
    assert all(tuple(t) == DOC_TEAM_TYPE_KEYS for t in types)


def _examples_after(text: str, heading: str) -> Any:
    """The JSON example that follows ``heading``'s "Response code: 200" in the document's text, its
    trailing commas (a slip of the document) removed."""
    at = text.index("Response code: 200", text.index(heading))
    start = min(i for i in (text.find("[", at), text.find("{", at)) if i >= 0)
    depth, end = 0, start
    for end in range(start, len(text)):
        c = text[end]
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                break
    return json.loads(re.sub(r",(\s*[\]}])", r"\1", text[start:end + 1]))


@pytest.mark.skipif(not os.environ.get("TIMERSYNC_API_DOC"),
                    reason="set TIMERSYNC_API_DOC to the Timer API document's text to check the key lists")
def test_key_lists_match_the_document():
    text = Path(os.environ["TIMERSYNC_API_DOC"]).read_text(encoding="utf-8")
    for heading in ("GET race/{id}/participants", "GET race/{id}/removed_participants"):
        rows = _doc_participant_objects(_examples_after(text, "\n" + heading + "\n"))
        assert rows
        for row in rows:
            assert tuple(row) == DOC_PARTICIPANT_KEYS
            assert tuple(row["user"]) == DOC_USER_KEYS
            assert tuple(row["user"]["address"]) == DOC_ADDRESS_KEYS
    assert all(tuple(t) == DOC_TEAM_KEYS for t in _examples_after(text, "\nGET race/{id}/teams\n"))
    types = _examples_after(text, "\nGET race/{id}/teams/team_types\n")["race_team_types"]
    assert all(tuple(t) == DOC_TEAM_TYPE_KEYS for t in types)


@pytest.mark.parametrize("sample, name, decode", [
    ("participants.json", PR, _decode_participants_wire),
    ("removed_participants.json", PR, _decode_participants_wire),
    ("teams.json", "teams.response", wire.TEAMS_DECODER.decode),
    ("team_types.json", "team_types.response", wire.TEAM_TYPES_DECODER.decode),
])
@pytest.mark.parametrize("folder", ["doc", "race"])
def test_samples_pass_both(folder, sample, name, decode):
    path = ROOT / "samples" / folder / sample
    if not path.exists():
        pytest.skip(f"no {folder}/{sample}")
    data = path.read_bytes()
    assert jsonschema_rs.validator_for(schema(name)).is_valid(json.loads(data))
    decode(data)


# ---------------------------------------------------------------------------- decoding with the model

def _row(**changes: Any) -> dict[str, Any]:
    rows = _doc_participant_objects(json.loads((ROOT / "samples" / "doc" / "participants.json").read_text()))
    row = json.loads(json.dumps(rows[0]))
    row.update(changes)
    return row


def test_undocumented_field_is_accepted_and_kept():
    row = _row(some_new_field={"nested": [1, "two"]})
    row["user"]["user_new_field"] = "u"
    row["user"]["address"]["street2"] = "Apt 4"
    data = msgspec.json.encode(_participant_answer(row))
    assert jsonschema_rs.validator_for(schema(PR)).is_valid(json.loads(data))
    answer = answers.decode_participants(data)
    (p,) = answer.participants
    assert p.first_name == "John" and p.registration_id == "30"
    assert p.extra["some_new_field"] == {"nested": [1, "two"]}
    assert p.extra["user.user_new_field"] == "u"
    assert p.extra["address.street2"] == "Apt 4"
    assert p.extra["race_fee"] == "$0.00"
    assert answer.to_json() == json.loads(data)  # written back as sent


def test_wrong_type_names_its_json_path():
    row = _row()
    row["user"]["first_name"] = 7
    with pytest.raises(SchemaError, match=r"\$\[0\]\.participants\[0\]\.user\.first_name") as got:
        answers.decode_participants(msgspec.json.encode(_participant_answer(row)))
    assert "response: $[0].participants[0].user.first_name:" in str(got.value)
    # and the published schema refuses it at the same path
    with pytest.raises(SchemaError, match=r"\$\[0\]\.participants\[0\]\.user\.first_name"):
        schemas.validate(PR, _participant_answer(row))
