"""RaceEntry's answers as typed structs, decoded in one pass (msgspec).

Every field the document lists is declared here with the JSON types RaceEntry may send it as (the API is
loose: ids as numbers or text, ``"T"``/``"F"`` flags, ``"$0.00"`` money). Decoding checks types and
required fields in the same pass that builds the objects; a violation names its JSON path
(``$[0].participants[12].user.first_name``). ``schemas/`` stays the published contract:
``tests/test_wire.py`` proves the two agree field by field.

A participant row is decoded from its own slice of the answer (``msgspec.Raw``, no copy), so the exact
bytes of each row stay at hand: a row with fields the document does not list is decoded again as a plain
object so that nothing RaceEntry sent is lost (see :func:`converters.model.decode_participants`).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

import msgspec
from msgspec import Meta, Raw, Struct

# JSON types, as the schemas name them.
Scalar = Union[str, int, float, bool, None]  # a field whose type the document shows only as null
Id = Union[int, str]
OptId = Union[int, str, None]
Text = Union[str, None]
Code = Union[str, int, float, None]  # bib, chip, phone, zipcode: numbers or text
Flag = Union[str, bool, None]
Dob = Union[Annotated[str, Meta(pattern=r"^(\d{4}-\d{2}-\d{2})?$")], None]


class Address(Struct, forbid_unknown_fields=True, gc=False):
    street: Code = None
    city: Code = None
    state: Code = None
    zipcode: Code = None
    country_code: Code = None


class User(Struct, forbid_unknown_fields=True, gc=False):
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


class Participant(Struct, forbid_unknown_fields=True, gc=False):
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
    participants: Union[list[Raw], None] = None


class Group(Struct, gc=False):
    """One event's group of a participants answer. The event object and each row stay as their exact
    bytes until decoded one by one (:func:`converters.model.decode_participants`)."""

    event: Raw
    participants: Union[list[Raw], None] = None


PARTICIPANT_DECODER = msgspec.json.Decoder(Participant)
EVENT_DECODER = msgspec.json.Decoder(Event)
GROUPS_DECODER = msgspec.json.Decoder(list[Group])


def path_of(message: str, prefix: str) -> str:
    """msgspec's ``... - at `$.user.first_name``` -> the message with the path under ``prefix``."""
    text, sep, where = message.rpartition(" - at `")
    if not sep:
        return f"{prefix}: {message}"
    return f"{prefix}{where.rstrip('`')[1:]}: {text}"

