"""The canonical participant and team records that the API, files, diff and sync all speak.

A :class:`Participant` holds one registration in canonical form (ids and codes as text, numbers as ints,
flags as bools); :class:`Team` and :class:`TeamType` the same for teams. :data:`FIELD_SOURCES` says where
each canonical attribute sits in RaceEntry's participant object; the mapping itself is
:mod:`converters.model.codec`'s, reading whole answers :mod:`converters.model.answers`', and the POST bodies
:mod:`converters.compare.bodies`'. The value helpers here (:func:`as_text`, :func:`as_int`, :func:`as_flag`) read
RaceEntry's loose JSON scalars (ids as strings or numbers, ``"T"``/``"F"`` flags).
"""

from __future__ import annotations

import contextlib
import gc
import re
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import ShapeError

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

# Canonical attribute -> (container, API key). container: "" top level, "user", "address". The mapping
# itself is converters/codec.py's. Keep the order of Participant's fields: the compiled readers pass them
# positionally.
FIELD_SOURCES: dict[str, tuple[str, str]] = {
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

# A canonical integer as text (no sign but "-", no leading zero): what may be written back as a JSON number.
INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)\Z")


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
        if name in FIELD_SOURCES:
            return getattr(self, name)
        return self.extra.get(name)

    def copy(self, **changes: Any) -> "Participant":
        """A copy with ``changes`` applied; its ``extra`` and ``types`` are copies too (plain dicts)."""
        new = msgspec.structs.replace(self, **changes)
        new.extra = dict(self.extra)
        new.types = dict(self.types)
        return new


CANONICAL_FIELDS = tuple(FIELD_SOURCES)


@dataclass(slots=True)
class Team:
    """One team, as canonical as a participant: ids as text; fields the model does not name in ``extra``."""

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
    """One team type: its id, name and the events its teams may hold, and the object as RaceEntry sent it."""

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
    """Loose JSON scalar -> whole number (None and "" -> None; "7", 7.0 -> 7); else ShapeError naming ``what``."""
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
        if INT_TEXT.match(text):
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
    """A flag in any usual spelling ("T"/"F", "yes"/"no", 1/0, JSON booleans) -> bool (None and "" -> None)."""
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

