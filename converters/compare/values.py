"""Values as the comparison sees them and as people read them: a field's normalised form (whitespace,
email case, gender words, phone digits, date formats, None == ""), the value to send for a changed field,
the fields compared, ids as JSON integers, and runners, things and rows named for messages."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable

from .. import countries, dates
from .bodies import POSTABLE_FIELDS
from ..model import Participant
from ..files.records import ID_RE

# Fields compared one by one (team_id is compared through the team, see converters.compare.fields).
COMPARED_FIELDS = tuple(f for f in POSTABLE_FIELDS if f != "team_id")
UNPUSHABLE_FIELDS = ("bib", "chip")

_WS = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"\D")
_GENDER_WORDS = {"MALE": "M", "FEMALE": "F", "MAN": "M", "WOMAN": "F"}


def clean_text(value: Any) -> str:
    """Text with surrounding whitespace stripped and inner runs of whitespace collapsed; None -> ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        # Fast path (50,000-row files): most values hold no run of whitespace to collapse.
        if "  " not in text and "\t" not in text and "\n" not in text and "\r" not in text and "\xa0" not in text:
            return text
        return _WS.sub(" ", text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _WS.sub(" ", str(value)).strip()


def norm(name: str, value: Any) -> str:
    """The comparable form of a canonical field's value (never None)."""
    text = clean_text(value)
    if not text:
        return ""
    if name == "email":
        return text.casefold()
    if name == "gender":
        upper = text.upper()
        return _GENDER_WORDS.get(upper, upper)
    if name == "phone":
        return _NON_DIGIT.sub("", text)
    if name == "zipcode":
        upper = text.upper()
        if re.fullmatch(r"\d+\.0", upper):  # a spreadsheet turned it into a number
            upper = upper[:-2]
        # Never padded here: Sydney's 2000 and Zurich's 8001 are whole postcodes. A US ZIP a spreadsheet
        # stripped is padded by the reader (the profile's zero_pad, US rows only); any other stripped zero
        # is recognised as damage of RaceEntry's value (damage_of: "lost leading zeros"), never sent.
        return upper
    if name == "dob":
        return dates.parse(text) or text
    if name == "country_code":
        return countries.code(text)  # "US" is RaceEntry's "USA"
    if name == "state":
        return text.upper()
    if name in ("bib", "chip", "team_bib"):
        if text.isdigit():
            return text.lstrip("0") or "0"
        if re.fullmatch(r"\d+(\.0)?", text):  # "001" == "1" == "1.0": zero padding is presentation
            return str(int(float(text)))
        return text.upper()
    if name in ("team_name", "first_name", "last_name"):
        return text.casefold() if name == "team_name" else text
    return text


def push_value(name: str, value: Any) -> str | None:
    """The value to send for a changed field: the file's text, tidied (None clears the field)."""
    text = clean_text(value)
    if not text:
        return "" if name == "gender" else None
    if name == "dob":
        return dates.parse(text) or text
    if name == "gender":
        return norm("gender", text)
    if name in ("zipcode", "country_code"):
        return norm(name, text)
    return text


_ID_KEYS = {"registration_id", "event_id", "team_id", "team_type_id", "user_id", "race_id", "from_event_id",
            "to_event_id", "not_in_file"}


def json_ids(obj: Any, key: str | None = None) -> Any:
    """``obj`` with every id (under an id key) that is a whole number written as an integer."""
    if isinstance(obj, dict):
        return {k: json_ids(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_ids(v, key) for v in obj]
    if key in _ID_KEYS and isinstance(obj, str) and ID_RE.match(obj):
        return int(obj)
    return obj


def who_of(p: Participant) -> str:
    """A runner's name as people say it."""
    return " ".join(clean_text(x) for x in (p.first_name, p.last_name) if clean_text(x))


def named(p: Participant) -> str:
    """A runner's name as people say it, else their registration ("registration 1042")."""
    return who_of(p) or f"registration {p.registration_id}"


def label(name: Any, ident: Any) -> str:
    """A thing as RaceEntry names it, with its id beside where it helps: "5K (16)"; the id alone when
    there is no name."""
    return f"{name} ({ident})" if name not in (None, "") and str(name) != str(ident) else str(ident)


def rows_text(rows: Iterable[int], limit: int = 8) -> str:
    """File rows for a message: "3, 7, 9", the first ``limit`` of them and how many more."""
    rows = sorted(set(rows))
    text = ", ".join(str(r) for r in rows[:limit])
    return text + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def comparable(p: Participant, present: Iterable[str] | None = None) -> tuple:
    """A participant's normalised compared fields, event and team (for tests and verification)."""
    names = [f for f in COMPARED_FIELDS if present is None or f in present]
    return tuple(norm(f, getattr(p, f)) for f in names) + (p.event_id, norm("team_name", p.team_name))


def counter(participants: Iterable[Participant], present: Iterable[str] | None = None) -> Counter:
    """How many participants have each :func:`comparable` form (for tests and verification)."""
    present = list(present) if present is not None else None
    return Counter(comparable(p, present) for p in participants)
