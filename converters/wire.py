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
:func:`converters.model.decode_participants`).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta, Raw, Struct

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
    street: Code = None
    street2: Code = None
    city: Code = None
    state: Code = None
    zipcode: Code = None
    country_code: Code = None


class User(Struct, gc=False):
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
    bytes until decoded one by one (:func:`converters.model.decode_participants`)."""

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
ANSWERS: dict[str, Any] = {"teams.response": list[Team], "team_types.response": TeamTypes}


def check(value: Any, type_: Any, what: str) -> None:
    """Raise SchemaError naming the JSON path where ``value`` (plain JSON values) breaks ``type_``."""
    from .errors import SchemaError

    try:
        msgspec.convert(value, type_)
    except msgspec.ValidationError as exc:
        raise SchemaError(path_of(str(exc), f"{what}: $")) from None
