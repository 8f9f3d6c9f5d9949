"""RaceEntry's answers (participants, teams, team types) read into canonical records, and records written
back as the grouped participants answer.

:func:`decode_participants` reads a participants answer's bytes in one typed pass: each row straight into
:class:`converters.model.wire.Participant` (types checked as it is built), then into the canonical
:class:`~converters.model.Participant` by a reader compiled at import; a row or group the strict structs
refuse is read liberally (:mod:`converters.model.wire`'s "reading liberally") and reported. The result, an
:class:`Answer`, keeps each row's exact bytes so that writing it back loses nothing. :func:`parse_participants`
reads the same answer from plain JSON values (one object at a time, :func:`converters.model.codec.participant_from_api`);
:func:`participants_response` and :func:`participants_json` write records back in RaceEntry's grouped shape,
so JSON -> records -> JSON is lossless.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any, Iterable

import msgspec

from . import wire
from .codec import RawExtras, participant_from_api, participant_to_api, read_expression, read_int, read_text
from ..errors import InputError, SchemaError, ShapeError
from ..jsonio import loads
from . import FIELD_SOURCES, INT_TEXT, Participant, Team, TeamType, as_flag, as_int, as_text, gc_paused


# ------------------------------------------------------------------------------------------ plain JSON

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
    """A participants answer decoded in one typed pass (:mod:`converters.model.wire`): the participants, and the
    exact bytes of each row and event object, so that writing the answer back (a file's base, a snapshot)
    loses nothing RaceEntry sent, fields the document does not list included."""

    groups: list[tuple[int | None, Any, int]]  # (event id, the event object's bytes, row count), in order
    participants: list[Participant]
    rows: list[Any]  # each participant's bytes (msgspec.Raw or bytes), aligned with ``participants``
    removed: bool = False  # the removed feed: an event with nothing removed has no "participants" key

    def event_ids(self) -> list[int]:
        """The groups' event ids, in the answer's order."""
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
        """The whole answer as one JSON document."""
        return b"".join(self.pieces(len(self.rows) or 1))

    def to_json(self) -> list[dict[str, Any]]:
        """The answer as plain JSON values (for callers that want dicts; costs what typed decoding saves)."""
        return msgspec.json.decode(self.to_bytes())


def _w_text(value: Any, key: str, types: dict[str, str], id_like: bool) -> str | None:
    """:func:`converters.model.codec.read_text` for the typed reader of RaceEntry's answers: an id sent as text
    is reported."""
    if id_like and value.__class__ is str and key in _WIRE_ID_KEYS:
        wire.note(f"RaceEntry sent {wire.label(key)} as text; read as numbers")
    return read_text(value, key, types, id_like)


def _w_int_field(value: Any, key: str, types: dict[str, str], where: str) -> int | None:
    """:func:`converters.model.codec.read_int` for the typed reader: numbers as text reported; ``last_modified``
    also as date-time text, read in the race's timezone (:func:`converters.model.wire.timestamp`)."""
    if key == "last_modified":
        value = wire.timestamp(value, key, _READ_ZONE[0])
        if value is None or value.__class__ is int:
            return value
    elif value.__class__ is str and INT_TEXT.match(value.strip()):
        wire.note(f"RaceEntry sent {wire.label(key)} as text; read as numbers")
    return read_int(value, key, types, where)


def _w_flag(value: Any) -> bool | None:
    return as_flag(wire.loose_flag(value, "flags"))


_WIRE_ID_KEYS = {"registration_id", "user_id", "team_id", "team_type_id"}
_READ_ZONE: list[str | None] = [None]  # the timezone of the race being decoded (set by decode_participants)


def _compile_wire_reader() -> Any:
    """Straight-line ``from_wire(w, types, extra)``: a decoded :class:`converters.model.wire.Participant` ->
    Participant, with the same conversions as :func:`participant_from_api` except where the typed
    decoder already guarantees the type (a field declared ``str | None`` is taken as it is)."""
    hints = {"": typing.get_type_hints(wire.Participant), "user": typing.get_type_hints(wire.User),
             "address": typing.get_type_hints(wire.Address)}
    obj = {"": "w", "user": "u", "address": "a"}
    args = []
    for name, (container, key) in FIELD_SOURCES.items():
        v = f"{obj[container]}.{key}"
        if container == "address":
            v = f"(None if a is None else a.{key})"
        args.append(v if hints[container].get(key) == typing.Optional[str] else read_expression(name, key, v, "''"))
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
    into :class:`converters.model.wire.Participant` (types and required fields checked as it is built, a
    violation naming its JSON path), then into the canonical :class:`Participant`. The fields the model
    does not name stay in the row's bytes (:class:`RawExtras`).

    ``keep_bytes=False``: for an answer only compared, never written back (a file's base): the records
    carry no extra fields and the answer no rows, so the buffer is freed as soon as it is decoded."""
    _READ_ZONE[0] = wire.zone_for(source)
    try:
        try:
            groups = wire.GROUPS_DECODER.decode(data)
        except msgspec.ValidationError:
            groups = _loose_groups(data)  # null for an empty list, say; else the strict error again
    except msgspec.ValidationError as exc:
        raise SchemaError(wire.path_of(str(exc), f"{source}: $")) from None
    except msgspec.DecodeError as exc:
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
    (:func:`converters.model.wire.loosen_participant`), then through the same strict struct and converters, so
    what still cannot be read is refused with its path. Its extras stay those of the bytes as sent."""
    obj = msgspec.json.decode(raw)
    fixed = msgspec.json.encode(wire.loosen_participant(obj))
    return _from_wire(wire.PARTICIPANT_DECODER.decode(fixed), {}, RawExtras(raw) if keep_bytes else {})


_LOOSE_GROUPS = msgspec.json.Decoder(list[dict[str, msgspec.Raw]])


def _loose_groups(data: Any) -> list[Any]:
    """The groups of an answer the strict decoder refused, read liberally (null for an empty list, an event
    id as 7.0): each group normalised, then decoded strictly again (a wrong type keeps its path). The rows
    stay the bytes they were sent as."""
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
    event = wire.loosen_group({"event": msgspec.json.decode(raw)})["event"]
    return wire.EVENT_DECODER.decode(msgspec.json.encode(event))


def participant_from_json(raw: Any, where: str = "participant", event_id: int | None = None) -> Participant:
    """One participant object's JSON bytes -> Participant, in the same typed pass as
    :func:`decode_participants` (a saved row of the sync roster, say)."""
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


# --------------------------------------------------------------------------- records back to an answer

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
        obj = wire.loosen_team(obj, wire.zone_for(source))  # read liberally (a no-op on what the client checked)
        teams.append(Team(
            team_id=as_text(obj.get("team_id")), team_type_id=as_text(obj.get("team_type_id")),
            team_name=as_text(obj.get("team_name")), team_gender=as_text(obj.get("team_gender")),
            team_bib=as_text(obj.get("team_bib_num")),
            team_age_restriction_id=as_text(obj.get("team_age_restriction_id")),
            last_modified=as_int(obj.get("last_modified_ts"), f"{source}[{i}].last_modified_ts"),
            extra={k: v for k, v in obj.items() if k not in _TEAM_MODEL}))
    return teams



def parse_team_types(data: Any, source: str = "team types response") -> list[TeamType]:
    """A team types response (``{"race_team_types": [...]}`` or the bare list) -> TeamTypes, each keeping
    its object as sent in ``raw``."""
    if isinstance(data, dict):
        data = data.get("race_team_types")
    if not isinstance(data, list):
        raise ShapeError(f"{source}: expected {{\"race_team_types\": [...]}}")
    out = []
    for i, obj in enumerate(data):
        obj = wire.loosen_team_type(obj)  # read liberally (a no-op on what the client checked)
        if not isinstance(obj, dict) or obj.get("team_type_id") is None:
            raise ShapeError(f"{source}[{i}]: expected a team type with team_type_id")
        ids = [as_int(x, f"{source}[{i}].valid_event_ids") for x in obj.get("valid_event_ids") or []]
        out.append(TeamType(as_text(obj["team_type_id"]) or "", as_text(obj.get("team_type")),
                            [x for x in ids if x is not None], obj))
    return out

