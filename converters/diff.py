"""Planning: from an edited timing file to the changes RaceEntry needs. Pure: no network, no files.

:func:`make_plan` compares the file's participants with RaceEntry's current participants (and, when a
base is given, with the participants the file was made from: a three-way comparison) and returns a
:class:`Plan`: teams to create, participants to add, fields to modify, event switches, deletions, plus
what cannot be pushed (bib, chip, age), conflicts and invalid rows. :func:`plan_requests` turns a plan
into the exact POST bodies; :func:`apply_plan` applies a plan to a list of participants (what RaceEntry
should look like afterwards), used by the tests and by push's verification.

Values are normalised before comparing (whitespace, email case, gender case, phone digits, ZIP leading
zeros, date formats, None == ""), so a file that went through a spreadsheet unchanged diffs empty.
"""

from __future__ import annotations

import datetime as _dt
import functools
import operator
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from . import countries, dates
from .errors import PlanError
from .bodies import (POSTABLE_FIELDS, delete_request, participant_payload, participants_request, switch_request,
                     teams_request)
from .model import Participant, Team, TeamType, gc_paused
from .records import ID_RE, INT_TEXT

# Fields compared one by one (team_id is compared through the team, see _team_key).
COMPARED_FIELDS = tuple(f for f in POSTABLE_FIELDS if f != "team_id")
UNPUSHABLE_FIELDS = ("bib", "chip")
# Text that goes to RaceEntry: no control characters, no U+FFFD (characters a wrong character set lost).
TEXT_CHECKED = ("first_name", "middle_name", "last_name", "email", "street", "city", "state", "zipcode",
                "country_code", "phone", "team_name")
MAX_DELETE_PER_REQUEST = 250

_WS = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"\D")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # control characters, U+FFFD
_GENDERS = {"", "M", "F"}
EARLIEST_DOB = "1900-01-01"
_GENDER_WORDS = {"MALE": "M", "FEMALE": "F", "MAN": "M", "WOMAN": "F"}


# --------------------------------------------------------------------------------------- normalising

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


@functools.lru_cache(maxsize=65536)
def fold_name(value: str) -> str:
    """A name as identity compares it: accents dropped, case folded, punctuation and spaces removed
    ("O'Neil-Smith " and "oneil smith" are one name; "Zoë" is "Zoe")."""
    import unicodedata

    text = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def identity(p: Participant) -> tuple[str, str]:
    """The key a runner is looked up by: first and last name, folded (see :func:`fold_name`)."""
    return (fold_name(clean_text(p.first_name)), fold_name(clean_text(p.last_name)))


def same_person(row: Participant, other: Participant) -> bool:
    """``other`` is the runner ``row`` describes. Identity is the folded first and last name plus the date
    of birth; when either side has no date of birth, the email (when both have one), else the event.
    Event and email never tell two runners with the same names and date of birth apart: the same person
    registered in another event is still that person (see :func:`best_match` for ties)."""
    if identity(row) != identity(other) or not identity(row)[1]:
        return False
    dob, odob = norm("dob", row.dob), norm("dob", other.dob)
    if dob and odob:
        return dob == odob
    email, oemail = norm("email", row.email), norm("email", other.email)
    if email and oemail:
        return email == oemail
    return row.event_id is None or other.event_id is None or row.event_id == other.event_id


def best_match(row: Participant, candidates: Iterable[Participant]) -> Participant | None:
    """The candidate who is ``row``'s runner (:func:`same_person`); between several, the one with the same
    email, then the same event, then the lowest registration id (the first registered)."""
    found = [c for c in candidates if same_person(row, c)]
    if len(found) <= 1:
        return found[0] if found else None
    email = norm("email", row.email)

    def rank(c: Participant) -> tuple:
        rid = str(c.registration_id or "")
        return (not (email and norm("email", c.email) == email), c.event_id != row.event_id,
                len(rid), rid)

    return min(found, key=rank)


# ---------------------------------------------------------------------------------------- the plan

@dataclass
class Change:
    field: str
    old: Any
    new: Any


@dataclass
class NewTeam:
    name: str
    team_type_id: str
    rows: list[int]


@dataclass
class Add:
    row: int
    participant: Participant
    new_team: str | None = None  # the name of a team created by this plan


@dataclass
class Modify:
    row: int
    registration_id: str
    event_id: int | None  # the registration's current event (an update must name it)
    changes: list[Change]
    current: Participant
    team_id: str | None = None
    new_team: str | None = None


@dataclass
class Switch:
    row: int
    registration_id: str
    old_event_id: int | None
    new_event_id: int
    current: Participant


@dataclass
class Delete:
    registration_id: str
    participant: Participant


@dataclass
class Unpushable:
    row: int
    registration_id: str | None
    field: str
    raceentry: Any
    file: Any
    reason: str
    who: str = ""  # the runner, for people


@dataclass
class Conflict:
    row: int | None
    registration_id: str | None
    field: str
    base: Any
    file: Any
    raceentry: Any
    resolution: str  # "not pushed", "file wins", "RaceEntry wins"
    who: str = ""  # the runner, for people


@dataclass
class Invalid:
    row: int
    registration_id: str | None
    message: str
    who: str = ""  # the runner on the row, for people


@dataclass
class Plan:
    race_id: int | None
    three_way: bool = False
    teams: list[NewTeam] = field(default_factory=list)
    adds: list[Add] = field(default_factory=list)
    modifies: list[Modify] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    unpushable: list[Unpushable] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    matched: list[tuple[int, str]] = field(default_factory=list)  # (row, registration id) of rows without an id
    bound: list[tuple[int, str]] = field(default_factory=list)  # rows the binding's ledger gave their add's id
    not_in_file: list[str] = field(default_factory=list)  # RaceEntry ids missing from the file (no --delete)
    stale: int = 0  # fields changed only in RaceEntry since the base
    undecided: list[Conflict] = field(default_factory=list)  # differences no base can tell the author of
    repeats: list[tuple[int, int]] = field(default_factory=list)  # (row, earlier row): one runner typed twice
    suspect: str | None = None  # why the file looks scrambled (a column sorted on its own): never pushed
    base_note: str = ""  # which base the plan was compared with, in words
    adds_only: bool = False  # no base and no --two-way: only adds are sent, nothing deleted even with --delete
    read_note: str = ""  # how RaceEntry was read (its changes, or the whole race and why): the first line
    damaged: Counter = field(default_factory=Counter)  # cells a spreadsheet changed, by kind: not edits
    file_rows: int = 0
    current_count: int = 0
    event_names: dict[int, str] = field(default_factory=dict)  # event id -> the race's name for it
    type_names: dict[str, str] = field(default_factory=dict)  # team type id -> RaceEntry's name for it
    race_name: str = ""  # the race as RaceEntry names it

    def event(self, event_id: Any) -> str:
        """An event as RaceEntry names it, its id beside: "10K (68)" (the id alone when no name is known)."""
        return label(self.event_names.get(event_id) if isinstance(event_id, int) else None, event_id)

    def team_type(self, type_id: Any) -> str:
        """A team type as RaceEntry names it, its id beside: "Corporate Challenge (69)"."""
        return label(self.type_names.get(str(type_id)), type_id)

    def is_empty(self) -> bool:
        """Nothing to send."""
        return not (self.teams or self.adds or self.modifies or self.switches or self.deletes)

    def counts(self) -> dict[str, int]:
        return {"teams": len(self.teams), "adds": len(self.adds), "modifies": len(self.modifies),
                "switches": len(self.switches), "deletes": len(self.deletes),
                "unpushable": len(self.unpushable), "conflicts": len(self.conflicts),
                "invalid": len(self.invalid), "not_in_file": len(self.not_in_file),
                "undecided": len(self.undecided)}

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary: counts and every item (no secrets: plans hold no credentials). Ids are
        integers, as everywhere timersync prints JSON."""
        def who(p: Participant) -> str:
            return " ".join(x for x in (p.first_name, p.last_name) if x)

        return json_ids({
            "race_id": self.race_id,
            "three_way": self.three_way,
            "file_rows": self.file_rows,
            "raceentry_participants": self.current_count,
            "counts": self.counts(),
            "teams": [asdict(t) for t in self.teams],
            "adds": [{"row": a.row, "name": who(a.participant), "event_id": a.participant.event_id,
                      "new_team": a.new_team} for a in self.adds],
            "modifies": [{"row": m.row, "registration_id": m.registration_id, "name": who(m.current),
                          "changes": [asdict(c) for c in m.changes]} for m in self.modifies],
            "switches": [{"row": s.row, "registration_id": s.registration_id, "name": who(s.current),
                          "from_event_id": s.old_event_id, "to_event_id": s.new_event_id} for s in self.switches],
            "deletes": [{"registration_id": d.registration_id, "name": who(d.participant),
                         "event_id": d.participant.event_id} for d in self.deletes],
            "unpushable": [asdict(u) for u in self.unpushable],
            "conflicts": [asdict(c) for c in self.conflicts],
            "invalid": [asdict(i) for i in self.invalid],
            "undecided": [asdict(c) for c in self.undecided],
            "repeats": [{"row": r, "same_as_row": first} for r, first in self.repeats],
            "suspect": self.suspect,
            "base": self.base_note,
            "read": self.read_note,
            "matched": [{"row": r, "registration_id": rid} for r, rid in self.matched],
            "bound": [{"row": r, "registration_id": rid} for r, rid in self.bound],
            "not_in_file": list(self.not_in_file),
            "stale_fields": self.stale,
            "spreadsheet_damage": dict(self.damaged),
            "notes": list(self.notes),
        })


def label(name: Any, ident: Any) -> str:
    """A thing as RaceEntry names it, with its id beside where it helps: "5K (16)"; the id alone when
    there is no name."""
    return f"{name} ({ident})" if name not in (None, "") and str(name) != str(ident) else str(ident)


# ------------------------------------------------------------------------------------------ planning

def _decide(fv: str, cv: str, bv: str | None) -> str | None:
    """None (same), "push", "stale" (changed only in RaceEntry), "conflict" (changed on both sides), or
    the kind of spreadsheet damage (a value a spreadsheet makes of RaceEntry's or the base's: not an edit)."""
    if fv == cv:
        return None
    damage = damage_of(fv, cv) or (damage_of(fv, bv) if bv else None)
    if damage:
        return damage
    if bv and fv != bv and not bv.isascii() and fv in (_transliterated(bv), _question_marked(bv)):
        # "Ivanov" in a Windows-1252 file pulled when RaceEntry said "Иванов": the file holds the base as
        # the code page could; RaceEntry renamed the runner since. Stale, not a conflict to push over it.
        # RaceEntry still says "Иванов": the file is as pulled, nothing changed on either side.
        fv = bv
        if fv == cv:
            return None
    if fv and not cv.isascii() and fv in (_transliterated(cv), _question_marked(cv)):
        # A Windows-1252 file holds "Lukasz" (our writer transliterates) or "?ukasz" (a Windows spreadsheet
        # re-saved it as "CSV", writing "?" for what the code page lacks) for RaceEntry's "Łukasz": the save
        # lost characters, the timer edited nothing; sending it would overwrite the name in RaceEntry.
        return None
    if bv is None:
        return "push"
    if fv == bv:
        return "stale"
    if cv == bv:
        return "push"
    return "conflict"


_SCIENTIFIC = re.compile(r"[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+\Z")
_DAY_MONTH = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_PLAIN_NUMBER = re.compile(r"[0-9]+([.,][0-9]+)?\Z")
# A number as a spreadsheet's locale shows it: grouping by thousands ("1.234,5", "1,234.5", "1 234,5",
# "1'234.5"), a decimal comma ("1234,5"), or in scientific form with either mark ("1,00E+05", "1.23457E+11").
_GROUPED = re.compile(r"[0-9]{1,3}(?P<g>[.,\u00a0\u202f' ])[0-9]{3}((?P=g)[0-9]{3})*([.,][0-9]+)?\Z")
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]+\Z")
_SCIENTIFIC_ANY = re.compile(r"(?P<m>[0-9]+([.,](?P<f>[0-9]+))?)[eE](?P<e>[+-]?[0-9]+)\Z")
DAMAGE_KINDS = ("two-digit year", "day and month swapped", "lost leading zeros", "number as 1E5",
                "number in a locale's spelling", "long number rounded (1.23457E+11)", "TRUE/FALSE",
                "text as a date", "characters lost (\ufffd)", "formula guard")


def _decimal(text: str) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _number_damage(fv: str, ref: str) -> str | None:
    """The kind of damage when ``fv`` is a spreadsheet's spelling of the number ``ref`` is; else None."""
    sci = _SCIENTIFIC_ANY.match(fv)
    if _SCIENTIFIC.match(ref):  # "1E5" shown as 100000, 1.00E+05 or 1,00E+05
        shown = fv.replace(",", ".") if sci else fv if fv.replace(".", "", 1).isdigit() else None
        got, want = _decimal(shown) if shown else None, _decimal(ref)
        return "number as 1E5" if got is not None and want is not None and got == want else None
    if not _PLAIN_NUMBER.match(ref):
        return None
    want = _decimal(ref.replace(",", "."))
    if sci and ref.isdigit() and len(ref) > 11:  # a 12-digit chip shown as 1.23457E+11: rounded, not edited
        from decimal import ROUND_HALF_UP, Decimal

        got = _decimal(sci["m"].replace(",", ".") + "E" + sci["e"])
        digits = len(sci["m"].replace(",", "").replace(".", "").lstrip("0")) or 1
        drop = len(ref.lstrip("0")) - digits
        rounded = Decimal(int(ref)).scaleb(-drop).quantize(Decimal(1), ROUND_HALF_UP).scaleb(drop)
        return "long number rounded (1.23457E+11)" if drop > 0 and got == rounded else None
    if sci:
        got = _decimal(sci["m"].replace(",", ".") + "E" + sci["e"])
        return "number in a locale's spelling" if got is not None and got == want else None
    readings = []
    if _GROUPED.match(fv):
        group = _GROUPED.match(fv)["g"]
        decimal_mark = "," if group != "," else "."
        whole, _, part = fv.replace(group, "").partition(decimal_mark)
        readings.append(f"{whole}.{part}" if part else whole)
    elif _DECIMAL.match(fv):
        readings.append(fv.replace(",", "."))
    return "number in a locale's spelling" if any(_decimal(r) == want for r in readings) else None


def damage_of(file_value: str, ref: str | None) -> str | None:
    """The kind of damage when ``file_value`` is what a spreadsheet's defaults make of ``ref`` (both
    normalised): a two-digit year, a date read day first (day and month swapped), leading zeros dropped,
    a number in a locale's spelling ("1E5" as 100000 or 1,00E+05, 1234.5 as 1.234,5, a 12-digit chip as
    1.23457E+11), "True" as TRUE, "3/4" as a date (03/04/26, 4-Mar, 4. Mrz), characters a wrong character
    set turned into U+FFFD, the formula guard ``'`` an earlier version wrote into workbooks. None when it
    is not (a real edit, or the same)."""
    fv = file_value
    if not fv or not ref or fv == ref:
        return None
    if _ISO_DATE.match(ref):
        got = dates.readings(fv)
        day = (int(ref[5:7]), int(ref[8:10]))
        if any(yy == int(ref[2:4]) and {m, d} == set(day) for yy, m, d in got.short):
            return "two-digit year"
        if ref in got.dates or (dates.swapped(ref) or "-") in got.dates:
            return "day and month swapped"
        return None
    if ref.isdigit() and ref[0] == "0" and fv == (ref.lstrip("0") or "0"):
        return "lost leading zeros"
    number = _number_damage(fv, ref)
    if number:
        return number
    if ref.casefold() in ("true", "false") and fv == ref.upper():
        return "TRUE/FALSE"
    if fv == "'" + ref and ref[:1] in "=+-@":
        return "formula guard"
    dm = _DAY_MONTH.match(ref)
    if dm:  # "3/4" shown back as 03/04/26, 2026-03-04, 4-Mar, 04. Mrz, 4-mars ...
        got = dates.readings(fv)
        shown = dates.day_month(fv)
        parts = ({got.short[0][1], got.short[0][2]} if got.short else
                 {int(got.dates[0][5:7]), int(got.dates[0][8:10])} if got.dates else set(shown) if shown else None)
        if parts == {int(dm.group(1)), int(dm.group(2))}:
            return "text as a date"
    if "\ufffd" in fv and len(fv) == len(ref) and all(a == b or (a == "\ufffd" and not b.isascii())
                                                      for a, b in zip(fv, ref)):
        return "characters lost (\ufffd)"
    return None


def settle_dob(text: str, fmt: str | None, refs: Sequence[str], race_day: str,
               adding: bool) -> tuple[str | None, str | None, str | None, str | None]:
    """A date of birth the reader could not read as one day (two readings, or a two-digit year), judged:
    (the day, the damage kind, the row's problem, a note for the plan). ``refs``: RaceEntry's and the
    base's day for the runner; a value that is one of them read another way (day and month swapped, the
    year shortened) is damage. A row being added (``adding``) gets the single century that makes the
    runner 0 to 100 years old on ``race_day``; where two fit, or the day and month read either way,
    the row is invalid with both readings."""
    got = dates.readings(text, fmt)
    if not got:
        return None, None, None, None  # not a date at all: _invalid says so
    if got.one:
        return got.one, None, None, None  # one day (a day over 12, a month name): compared as any other
    shown = clean_text(text)
    for ref in refs:
        kind = damage_of(shown, ref)
        if kind in ("two-digit year", "day and month swapped"):
            return ref, kind, None, None
    if got.dates:
        return None, None, (f"date of birth {shown!r} can be read as {' or '.join(got.dates)} (day and month "
                            f"either way): type it as {dates.hint(fmt)}"), None
    if not adding:
        return None, None, (f"date of birth {shown!r} has a two-digit year (a spreadsheet shortened it) and is "
                            f"not RaceEntry's day: type the year in full, or open the file with that column as "
                            f"Text"), None
    days = dates.centuries(got.short, race_day)
    if len(days) == 1:
        return days[0], None, None, f"dob {shown} read as {days[0]}"
    if days:
        return None, None, (f"date of birth {shown!r} can be read as {' or '.join(days)} (a two-digit year): "
                            f"type the year in full"), None
    return None, None, (f"date of birth {shown!r} gives no age from 0 to 100 on race day ({race_day}): type "
                        f"the year in full"), None


def _transliterated(value: str) -> str:
    from .tabular import to_cp1252

    return clean_text(to_cp1252(value))


def _question_marked(value: str) -> str:
    """``value`` as a Windows-1252 save writes it: "?" for every character the code page cannot hold."""
    return clean_text(value.encode("cp1252", errors="replace").decode("cp1252"))


def _team_value(p: Participant, by_id: dict[str, Team], by_team_name: bool) -> str:
    if by_team_name:
        return norm("team_name", p.team_name)
    if p.team_id and p.team_id in by_id:
        return norm("team_name", by_id[p.team_id].team_name)
    return norm("team_name", p.team_id)


def _rows_text(rows: Iterable[int], limit: int = 8) -> str:
    rows = sorted(set(rows))
    text = ", ".join(str(r) for r in rows[:limit])
    return text + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _check_file(file: Sequence[Participant], rows: Sequence[int], present: set[str], source: str | None = None) -> None:
    prefix = f"{source}: " if source else ""
    first_rid: dict[str, int] = {}
    first_bib: dict[str, int] = {}
    by_rid: dict[str, list[int]] = {}  # duplicated ids only -> their rows
    by_bib: dict[str, list[int]] = {}
    bibs = "bib" in present
    for p, row in zip(file, rows):
        if p.registration_id:
            rid = p.registration_id.strip()
            if rid in first_rid:
                by_rid.setdefault(rid, [first_rid[rid]]).append(row)
            else:
                first_rid[rid] = row
        if bibs and p.bib:
            bib = (p.bib.lstrip("0") or "0") if p.bib.isdigit() else norm("bib", p.bib)
            if bib in first_bib:
                by_bib.setdefault(bib, [first_bib[bib]]).append(row)
            elif bib:
                first_bib[bib] = row
    dups = {k: v for k, v in by_rid.items() if len(v) > 1}
    if dups:
        rid, where = next(iter(dups.items()))
        more = f" (and {len(dups) - 1} more duplicated ids)" if len(dups) > 1 else ""
        raise PlanError(f"{prefix}registration id {rid} appears in rows {_rows_text(where)}{more}: each registration "
                        f"must be on one row; remove the duplicate rows")
    dups = {k: v for k, v in by_bib.items() if len(v) > 1}
    if dups:
        bib, where = next(iter(dups.items()))
        more = f" (and {len(dups) - 1} more duplicated bibs)" if len(dups) > 1 else ""
        raise PlanError(f"{prefix}bib {bib} is on rows {_rows_text(where)}{more}: give each runner their own bib")


def make_plan(file: Sequence[Participant], current: Sequence[Participant], *, rows: Sequence[int] | None = None,
              present: Iterable[str] | None = None, base: Sequence[Participant] | None = None,
              race_id: int | None = None, events: Iterable[int] | None = None, teams: Sequence[Team] = (),
              team_types: Sequence[TeamType] | Callable[[], Sequence[TeamType]] = (), delete: bool = False,
              team_type: str | None = None, prefer: str | None = None, renamed: dict[str, str] | None = None,
              source: str | None = None,
              removed: Iterable[str] | None = None, pushed: dict[str, Participant] | None = None,
              earliest_dob: str = EARLIEST_DOB, two_way: bool = False,
              new_runners: Iterable[int] | None = None, dob_format: str | None = None,
              race_day: str | None = None,
              event_names: dict[int, str] | None = None) -> Plan:
    """Compare the file's participants with RaceEntry's ``current`` ones (three-way when ``base`` is given).

    ``rows``: the file row of each participant (for messages); ``present``: canonical fields the file
    carries (others are never compared); ``events``: the race's event ids (rows naming others are
    invalid); ``renamed``: old -> new registration ids of switches pushed earlier (the file may be stale);
    ``prefer``: "file" or "raceentry" settles conflicts; ``source``: the file's name, for messages;
    ``removed``: registration ids in RaceEntry's removed feed (None when it was not read): a row's id that
    is neither current nor removed (nor in the base) was never issued; ``pushed``: registration id -> the
    participant as an earlier push sent it, the base of rows the base lacks (adds found by their id in
    push records). Without a base a timer's edit cannot be told from a later change in RaceEntry: unless
    ``two_way``, such a plan sends adds only and lists every other difference as undecided (never a
    modify, switch or delete). ``new_runners``: file rows to add even though they look like a live runner
    (else such a row is invalid). ``dob_format``: the file's date of birth format, read first in a
    date the reader left as text (:func:`settle_dob`); ``race_day``: the race's day (ISO; today when
    None), the day a late entry's two-digit year is read for; ``event_names``: event id -> name, so
    the plan and its messages name events as RaceEntry does; ``team_types``: the race's, or a function
    that reads them, called only when the plan creates or joins a team. Raises PlanError for a file that
    cannot be planned at all (duplicate ids or bibs, a file for another race, team types that cannot be chosen).
    """
    if prefer not in (None, "file", "raceentry"):
        raise PlanError(f"--prefer must be 'file' or 'raceentry', not {prefer!r}")
    # The cyclic collector adds nothing here (no cycles are made) but, triggered by the many small
    # allocations, doubles the time of a 50,000-row comparison.
    with gc_paused():
        return _make_plan(file, current, rows=rows, present=present, base=base, race_id=race_id, events=events,
                          teams=teams, team_types=team_types, delete=delete, team_type=team_type, prefer=prefer,
                          renamed=renamed, source=source, removed=removed, pushed=pushed, earliest_dob=earliest_dob,
                          two_way=two_way, new_runners=set(new_runners or ()), dob_format=dob_format,
                          race_day=race_day, event_names=event_names or {})


def _make_plan(file: Sequence[Participant], current: Sequence[Participant], *, rows: Sequence[int] | None,
               present: Iterable[str] | None, base: Sequence[Participant] | None, race_id: int | None,
               events: Iterable[int] | None, teams: Sequence[Team],
               team_types: Sequence[TeamType] | Callable[[], Sequence[TeamType]], delete: bool,
               team_type: str | None, prefer: str | None, renamed: dict[str, str] | None,
               source: str | None = None, removed: Iterable[str] | None = None,
               pushed: dict[str, Participant] | None = None, earliest_dob: str = EARLIEST_DOB,
               two_way: bool = False, new_runners: set[int] | None = None, dob_format: str | None = None,
               race_day: str | None = None,
               event_names: dict[int, str] | None = None) -> Plan:
    rows = list(rows) if rows is not None else list(range(2, len(file) + 2))
    present_set = set(present) if present is not None else set(POSTABLE_FIELDS) | {
        "event_id", "team_name", "registration_id", "bib", "chip", "age"}
    event_set = set(events) if events is not None else None
    renamed = dict(renamed or {})
    plan = Plan(race_id=race_id, three_way=base is not None, file_rows=len(file), current_count=len(current),
                event_names=dict(event_names or {}))
    _check_file(file, rows, present_set, source)

    cur_by_id = {str(p.registration_id): p for p in current if p.registration_id}
    base_by_id = {str(p.registration_id): p for p in base if p.registration_id} if base is not None else {}
    for rid, p in (pushed or {}).items():
        base_by_id.setdefault(rid, p)
    created = set(pushed or ())  # runners a push of this file added: RaceEntry may fill blanks on create
    team_by_id = {str(t.team_id): t for t in teams if t.team_id}
    team_by_name = {norm("team_name", t.team_name): t for t in teams if t.team_name}
    by_team_name = "team_name" in present_set
    compare_team = by_team_name or "team_id" in present_set
    fields = [f for f in COMPARED_FIELDS if f in present_set]
    get_fields = operator.attrgetter(*fields) if fields else (lambda p: None)  # C speed for unchanged rows
    text_fields = [f for f in TEXT_CHECKED if f in present_set or f in ("first_name", "last_name")]
    get_text = operator.attrgetter(*text_fields)
    compare_event = "event_id" in present_set

    # A file for another race: most of its events are not this race's, or most of its ids are unknown.
    if event_set is not None:
        foreign = [(r, p.event_id) for p, r in zip(file, rows) if p.event_id is not None and p.event_id not in event_set]
        with_event = sum(1 for p in file if p.event_id is not None)
        if with_event and len(foreign) * 2 > with_event:
            shown = sorted({e for _, e in foreign})[:5]
            raise PlanError(f"the file looks like one for another race: rows {_rows_text(r for r, _ in foreign)} "
                            f"have events {', '.join(map(str, shown))}, none of which is an event of race "
                            f"{race_id} (its events: {', '.join(map(str, sorted(event_set)))})")
    ids = [(r, p.registration_id.strip()) for p, r in zip(file, rows) if p.registration_id]
    unknown = [(r, rid) for r, rid in ids if rid not in cur_by_id and rid not in base_by_id and rid not in renamed]
    if len(current) >= 20 and ids and len(unknown) * 2 > len(ids):
        raise PlanError(f"the file looks like one for another race: the registration ids on rows "
                        f"{_rows_text(r for r, _ in unknown)} are not in race {race_id}")

    # Pass 1: validate rows, and tie rows with an id to RaceEntry's participants.
    today = _dt.date.today().isoformat()
    claimed: dict[str, int] = {}
    matched: list[tuple[Participant, int, Participant, Participant | None, bool]] = []
    orphans: list[tuple[Participant, int, str]] = []  # rows whose id is no longer in RaceEntry
    new_rows: list[tuple[Participant, int]] = []
    cur_by_user: dict[str, list[Participant]] = {}
    check_dob = "dob" in present_set
    fine_dobs: dict[Any, bool] = {}  # a race's runners share a few thousand birthdays: each read once

    def dob_fine(dob: Any) -> bool:
        fine = fine_dobs.get(dob)
        if fine is None:
            fine = fine_dobs[dob] = _dob_fine(dob, today, earliest_dob)
        return fine

    same_names: dict[tuple, list[Participant]] = {}  # RaceEntry's runners by identity, built when first needed
    for p, row in zip(file, rows):
        rid = p.registration_id.strip() if p.registration_id else ""
        if rid and not ID_RE.match(rid):
            plan.invalid.append(Invalid(row, rid, f"registration id {rid!r} is not a registration id (a positive "
                                                  f"whole number): fix the id, or clear it to add the runner"))
            continue
        if check_dob and isinstance(p.dob, str) and p.dob and not (len(p.dob) == 10 and p.dob[4] == "-"):
            # Read two ways, or a two-digit year: RaceEntry's or the base's day for the runner, else (a late
            # entry) the race's day settles it, or the row is invalid with both readings.
            if rid:
                known: Iterable[Participant | None] = (cur_by_id.get(renamed.get(rid, rid)), base_by_id.get(rid))
            else:  # a row without an id may be a runner RaceEntry has (an earlier push's late entry)
                if not same_names:
                    for c in current:
                        same_names.setdefault(identity(c), []).append(c)
                known = same_names.get(identity(p), ())
            refs = [norm("dob", r.dob) for r in known if r is not None and r.dob]
            dob, kind, problem, note = settle_dob(p.dob, dob_format, refs, race_day or today, adding=not rid)
            if problem:
                plan.invalid.append(Invalid(row, rid or None, problem))
                if rid:
                    claimed[rid] = row
                continue
            if dob:
                p = p.copy(dob=dob)
            if kind:
                plan.damaged[kind] += 1
            if note:
                plan.notes.append(f"row {row} ({who_of(p)}): {note}")
        # Most rows are fine: a quick look first, the full check (with messages) only when it fails.
        quick = (p.first_name and p.last_name and p.event_id is not None
                 and (event_set is None or p.event_id in event_set)
                 and (not p.dob or not check_dob or dob_fine(p.dob))
                 and (p.gender or "").upper() in _GENDERS
                 and not _BAD_CHARS.search("\x20".join(filter(None, get_text(p)))))
        problem = None if quick and p.first_name.strip() and p.last_name.strip() else _invalid(
            p, rid, present_set, event_set, today, cur_by_id.get(renamed.get(rid, rid)) if rid else None,
            earliest_dob)
        if problem:
            plan.invalid.append(Invalid(row, rid or None, problem))
            if rid:
                claimed[rid] = row  # an invalid row still stands for its registration: never delete it
            continue
        if not rid:
            new_rows.append((p, row))
            continue
        bp = base_by_id.get(rid)
        target = rid
        if target not in cur_by_id and target in renamed:
            target = renamed[target]
        if target not in cur_by_id and bp is not None and bp.user_id:
            # Switched since the base (RaceEntry gives a switched registration a new id): same user.
            if not cur_by_user:
                for c in current:
                    if c.user_id:
                        cur_by_user.setdefault(str(c.user_id), []).append(c)
            for cand in cur_by_user.get(str(bp.user_id), ()):
                if str(cand.registration_id) not in base_by_id and norm("last_name", cand.last_name) == norm(
                        "last_name", bp.last_name):
                    target = str(cand.registration_id)
                    break
        if target in cur_by_id:
            claimed[target] = row
            matched.append((p, row, cur_by_id[target], bp, False))
        else:
            claimed[rid] = row
            orphans.append((p, row, rid))

    # A runner typed (or pasted) twice is one runner: a row without an id that is the same person as
    # another row of the file is never a second add.
    if new_rows:
        new_rows = _repeats(plan, new_rows, [(m[0], m[1]) for m in matched], present_set)
    # Rows without an id that are already in RaceEntry (added by an earlier push whose ids the file lacks,
    # another laptop, or registered online meanwhile) are that runner, never a second one. Without a base
    # for them nobody can tell who changed what since, so their differences are only listed (undecided).
    unclaimed: dict[tuple, list[Participant]] = {}
    for p in current if new_rows else ():
        if str(p.registration_id) not in claimed:
            unclaimed.setdefault(identity(p), []).append(p)
    adds: list[tuple[Participant, int]] = []
    near_index: dict[tuple, list[Participant]] | None = None
    for p, row in new_rows:
        found = best_match(p, unclaimed.get(identity(p), ()))
        if found is not None:
            unclaimed[identity(p)].remove(found)
            claimed[str(found.registration_id)] = row
            plan.matched.append((row, str(found.registration_id)))
            matched.append((p, row, found, None, True))
            continue
        if row not in (new_runners or ()):
            if near_index is None:
                near_index = _near_index(c for group in unclaimed.values() for c in group)
            near = _near_match(p, near_index)
            if near is not None:
                plan.invalid.append(Invalid(row, None, f"{who_of(p)} looks like registration {near.registration_id} "
                                                       f"({who_of(near)}: {_near_why(p, near)}): if it is that "
                                                       f"runner, put {near.registration_id} in the row; if not, "
                                                       f"push with --new-runner {row}"))
                continue
        adds.append((p, row))
    # Rows whose registration id holds another live runner's name and date of birth: the ids were moved
    # (the Registration ID column sorted on its own). Never pushed: that would make one runner another.
    moved: list[tuple[int, str, Participant, Participant]] = []
    if {"first_name", "last_name"} <= present_set:
        renames = [m for m in matched if not m[4] and (m[0].first_name != m[2].first_name or m[0].last_name
                                                      != m[2].last_name) and identity(m[0]) != identity(m[2])]
        live_by_key = identity_index(current, {identity(m[0]) for m in renames})
        renaming = {id(m) for m in renames}
        kept = []
        for item in matched:
            p, row, cp, bp, adopted = item
            if id(item) in renaming:
                other = best_match(p, live_by_key.get(identity(p), ()))  # only rows whose names changed
                if other is not None and str(other.registration_id) != str(cp.registration_id) and (
                        p.dob and other.dob or p.email and other.email):
                    moved.append((row, str(cp.registration_id), cp, other))
                    continue
            kept.append(item)
        matched = kept
    for row, rid, cp, other in moved:
        plan.invalid.append(Invalid(row, rid, f"registration {rid} is {who_of(cp)} in RaceEntry, but the row holds "
                                              f"the name and date of birth of {who_of(other)} (registration "
                                              f"{other.registration_id}): the id looks moved to another row; fix "
                                              f"the id"))
    if len(moved) >= 3 and len(moved) * 20 >= len(file):
        plan.suspect = (f"{len(moved)} of {len(file)} rows hold another runner's registration id: it looks like "
                        f"the Registration ID column was sorted on its own")
    undecided_mode = plan.adds_only = base is None and not two_way

    team_needs: dict[str, tuple[str, list[int], set[int]]] = {}  # norm name -> (name, rows, events)

    def team_for(p: Participant, row: int, event_id: int | None) -> tuple[str | None, str | None]:
        """(existing team id, name of a team to create) for the file's team of ``p``."""
        if by_team_name:
            name = clean_text(p.team_name)
            if not name:
                return None, None
            key = norm("team_name", name)
            if key in team_by_name:
                return str(team_by_name[key].team_id), None
            entry = team_needs.setdefault(key, (name, [], set()))
            entry[1].append(row)
            if event_id is not None:
                entry[2].add(event_id)
            return None, name
        return (clean_text(p.team_id) or None), None

    # Pass 2: compare matched rows field by field.
    for p, row, cp, bp, adopted in matched:
        rid = str(cp.registration_id)
        changes: list[Change] = []
        for f in fields if get_fields(p) != get_fields(cp) else ():
            raw = getattr(p, f)
            if raw == getattr(cp, f):
                continue  # the common case, decided without normalising
            if (adopted or rid in created) and not norm(f, raw):
                continue  # RaceEntry filled it on create (email: the account's); the row did not set it
            decision = _decide(norm(f, raw), norm(f, getattr(cp, f)),
                               norm(f, getattr(bp, f)) if bp is not None else None)
            if decision == "push" and bp is None and (adopted or undecided_mode):
                _undecided(plan, row, rid, f, raw, getattr(cp, f), cp, adopted)
            elif decision == "stale":
                plan.stale += 1
            elif decision in DAMAGE_KINDS:
                plan.damaged[decision] += 1
            elif decision == "push" or (decision == "conflict" and _settle(plan, row, rid, f, bp, p, cp, prefer)):
                changes.append(Change(f, getattr(cp, f), push_value(f, getattr(p, f))))
        team_id = new_team = None
        if compare_team and not (by_team_name and p.team_name == cp.team_name):
            fv = _team_value(p, team_by_id, by_team_name)
            cv = norm("team_name", cp.team_name) if cp.team_name else _team_value(cp, team_by_id, False)
            bv = None
            if bp is not None:
                bv = norm("team_name", bp.team_name) if bp.team_name else _team_value(bp, team_by_id, False)
            decision = _decide(fv, cv, bv)
            if decision == "push" and bp is None and (adopted or undecided_mode):
                _undecided(plan, row, rid, "team", p.team_name if by_team_name else p.team_id, cp.team_name, cp,
                           adopted)
            elif decision == "stale":
                plan.stale += 1
            elif decision in DAMAGE_KINDS:
                plan.damaged[decision] += 1
            elif decision == "push" or (decision == "conflict" and _settle(
                    plan, row, rid, "team", bp, p, cp, prefer, "team_name")):
                team_id, new_team = team_for(p, row, cp.event_id)
                changes.append(Change("team", cp.team_name, clean_text(p.team_name) if by_team_name else team_id))
        bad = next((c for c in changes if isinstance(c.new, str) and _BAD_CHARS.search(c.new)), None)
        if bad is not None:  # never send a control character or a lost-character mark over a real value
            what = "holds \ufffd where characters were lost (the file was opened with the wrong character set)" \
                if "\ufffd" in bad.new else "holds a control character: retype the value"
            plan.invalid.append(Invalid(row, rid, f"{bad.field.replace('_', ' ')} {clean_text(bad.new)!r} {what}"))
        elif changes:
            plan.modifies.append(Modify(row, rid, cp.event_id, changes, cp, team_id, new_team))
        if compare_event and p.event_id is not None and p.event_id != cp.event_id:
            decision = _decide(str(p.event_id), str(cp.event_id), str(bp.event_id) if bp is not None else None)
            if decision == "push" and bp is None and (adopted or undecided_mode):
                _undecided(plan, row, rid, "event_id", p.event_id, cp.event_id, cp, adopted)
            elif decision == "stale":
                plan.stale += 1
            elif decision == "push" or (decision == "conflict" and _settle(
                    plan, row, rid, "event_id", bp, p, cp, prefer)):
                plan.switches.append(Switch(row, rid, cp.event_id, int(p.event_id), cp))
        for f in UNPUSHABLE_FIELDS:
            if f in present_set and getattr(p, f) != getattr(cp, f):
                fv, cv = norm(f, getattr(p, f)), norm(f, getattr(cp, f))
                if fv != cv and (bp is None or fv != norm(f, getattr(bp, f))):
                    kind = damage_of(fv, cv) or (damage_of(fv, norm(f, getattr(bp, f))) if bp is not None else None)
                    if kind:  # a 12-digit chip shown as 1.23457E+11: the spreadsheet's, not a change
                        plan.damaged[kind] += 1
                        continue
                    plan.unpushable.append(Unpushable(row, rid, f, getattr(cp, f), getattr(p, f),
                                                      f"RaceEntry's API has no {f} field: change it in RaceEntry "
                                                      f"by hand or keep it in the timing program", who_of(cp)))
        if "age" in present_set and p.age is not None and p.age != cp.age and (bp is None or p.age != bp.age):
            plan.unpushable.append(Unpushable(row, rid, "age", cp.age, p.age,
                                              "RaceEntry computes age from the date of birth: change dob instead",
                                              who_of(cp)))

    # Rows whose registration is gone from RaceEntry: deleted there, or never issued (a mistyped id).
    gone = set(removed) if removed is not None else None
    for p, row, rid in orphans:
        bp = base_by_id.get(rid)
        if bp is None and gone is not None and rid not in gone:
            plan.invalid.append(Invalid(row, rid, f"unknown registration id {rid}: RaceEntry never issued it in "
                                                  f"race {race_id}; fix the id, or clear it to add the runner"))
            continue
        edited = bp is None or any(norm(f, getattr(p, f)) != norm(f, getattr(bp, f)) for f in fields) or (
            compare_event and p.event_id is not None and p.event_id != bp.event_id)
        if not edited:
            plan.notes.append(f"row {row}: registration {rid} was deleted in RaceEntry; the row is ignored")
            continue
        what = "deleted in RaceEntry since the snapshot" if bp is not None else "not in RaceEntry (deleted?)"
        resolution = "file wins" if prefer == "file" else "not pushed"
        plan.conflicts.append(Conflict(row, rid, "(registration)", "present" if bp is not None else None,
                                       "edited", what, resolution, who_of(p)))
        if prefer == "file":
            twin = best_match(p, identity_index(current, {identity(p)}).get(identity(p), ()))
            if gone is None or rid not in gone:
                plan.notes.append(f"row {row}: registration {rid} is not in RaceEntry's removed participants; "
                                  f"not added again (check the id)")
            elif twin is not None:
                plan.notes.append(f"row {row}: registration {rid} was removed, but the runner is registered as "
                                  f"{twin.registration_id}; not added again (put {twin.registration_id} in the row)")
            else:
                adds.append((p.copy(registration_id=None), row))

    for p, row in adds:
        if p.country_code and countries.code(p.country_code) != p.country_code:
            p = p.copy(country_code=countries.code(p.country_code))  # as RaceEntry writes it: "US" -> "USA"
        existing, new_team = team_for(p, row, p.event_id) if by_team_name else (clean_text(p.team_id) or None, None)
        if existing and existing != p.team_id:
            p = p.copy(team_id=existing)  # a late entry joining a team RaceEntry has: sent with its id
        plan.adds.append(Add(row, p, new_team))
        for f in UNPUSHABLE_FIELDS:
            if f in present_set and norm(f, getattr(p, f)):
                plan.unpushable.append(Unpushable(row, None, f, None, getattr(p, f),
                                                  f"RaceEntry's API has no {f} field: the new registration "
                                                  f"gets no {f}; set it in RaceEntry by hand", who_of(p)))

    # RaceEntry participants missing from the file.
    for p in current:
        rid = str(p.registration_id)
        if rid in claimed:
            continue
        bp = base_by_id.get(rid)
        if base is not None and bp is None:
            plan.notes.append(f"registration {rid} ({clean_text(p.first_name)} {clean_text(p.last_name)}) joined "
                              f"RaceEntry after the snapshot; pull again to get it into the file")
            continue
        if bp is not None and (any(norm(f, getattr(p, f)) != norm(f, getattr(bp, f)) for f in fields)
                               or p.event_id != bp.event_id):
            resolution = "file wins" if prefer == "file" else "not pushed"
            plan.conflicts.append(Conflict(None, rid, "(registration)", "present", "deleted",
                                           "edited in RaceEntry since the snapshot", resolution, who_of(p)))
            if prefer != "file":
                continue
        if delete and not undecided_mode:
            plan.deletes.append(Delete(rid, p))
        else:
            plan.not_in_file.append(rid)
    if delete and undecided_mode and plan.not_in_file:
        plan.notes.append(f"nothing deleted: without the version the file was made from, a runner missing from "
                          f"it may have registered since; --two-way deletes them ({len(plan.not_in_file)})")

    if callable(team_types):
        team_types = team_types() if team_needs or _joins_a_team(plan) else ()
    plan.type_names = {str(t.team_type_id): t.team_type for t in team_types if t.team_type}
    plan.teams = _team_types_for(team_needs, team_types, team_type, plan)
    _check_team_sizes(plan, current, teams, team_types, rows)
    if plan.suspect is None:
        plan.suspect = _sorted_column(plan, current)
    if plan.invalid:  # each invalid row names its runner: as RaceEntry names them, else as the file does
        by_row = dict(zip(rows, file))
        for i in plan.invalid:
            cur = cur_by_id.get(str(i.registration_id)) if i.registration_id else None
            i.who = i.who or who_of(cur or by_row.get(i.row) or Participant())
    return plan


def _undecided(plan: Plan, row: int, rid: str, name: str, file_value: Any, raceentry: Any, cp: Participant,
               adopted: bool) -> None:
    why = ("the row has no registration id and is this runner in RaceEntry: not sent" if adopted else
           "no base: cannot tell who changed this (--two-way sends it)")
    plan.undecided.append(Conflict(row, rid, name, None, file_value, raceentry, why, who_of(cp)))


def _levenshtein_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def _near_index(live: Iterable[Participant]) -> dict[tuple, list[Participant]]:
    """Live runners by (folded last name, dob) and by (folded first name, dob, email)."""
    index: dict[tuple, list[Participant]] = {}
    for c in live:
        first, last = identity(c)
        dob = norm("dob", c.dob)
        if not dob:
            continue
        index.setdefault(("last", last, dob), []).append(c)
        email = norm("email", c.email)
        if email:
            index.setdefault(("first", first, dob, email), []).append(c)
    return index


def _near_match(p: Participant, index: dict[tuple, list[Participant]]) -> Participant | None:
    """A live runner a new row is probably, though not by identity: the same last name and date of birth
    with a first name that is a short form or a typo of theirs (Walk/Walker, Jon/John) or the same email;
    or the same first name, date of birth and email under another last name (a typo, a marriage). Such a
    row is never added on its own: two runners is a duplicate nobody wants to untangle on race day."""
    dob = norm("dob", p.dob)
    if not dob:
        return None
    first, last = identity(p)
    email = norm("email", p.email)
    for c in index.get(("last", last, dob), ()):
        cfirst = identity(c)[0]
        if email and email == norm("email", c.email) or first and cfirst and (
                first.startswith(cfirst) or cfirst.startswith(first) or _levenshtein_at_most(first, cfirst, 1)):
            return c
    if email:
        return next(iter(index.get(("first", first, dob, email), ())), None)
    return None


def _near_why(p: Participant, c: Participant) -> str:
    same = ["last name" if identity(p)[1] == identity(c)[1] else "first name", "date of birth"]
    if norm("email", p.email) and norm("email", p.email) == norm("email", c.email):
        same.append("email")
    return "same " + ", ".join(same[:-1]) + " and " + same[-1]


def _repeats(plan: Plan, new_rows: list[tuple[Participant, int]], with_ids: list[tuple[Participant, int]],
             present: set[str]) -> list[tuple[Participant, int]]:
    """The rows without an id that are not another row's runner again. A row that repeats an earlier
    row's values is left out (one runner, noted in ``plan.repeats``); one that is the same runner with
    other values is invalid, naming both rows."""
    seen: dict[tuple, list[tuple[Participant, int]]] = {}
    for p, row in with_ids:
        seen.setdefault(identity(p), []).append((p, row))
    fields = [f for f in COMPARED_FIELDS if f in present]
    out = []
    for p, row in new_rows:
        twin = next(((q, r) for q, r in seen.get(identity(p), ()) if same_person(p, q)), None)
        if twin is None:
            seen.setdefault(identity(p), []).append((p, row))
            out.append((p, row))
            continue
        q, first = twin
        if all(norm(f, getattr(p, f)) == norm(f, getattr(q, f)) for f in fields) and (
                q.event_id == p.event_id or p.event_id is None):
            plan.repeats.append((row, first))
            plan.notes.append(f"row {row} repeats row {first} ({who_of(p)}): one runner, not added twice")
        else:
            plan.invalid.append(Invalid(row, None, f"{who_of(p)} is on rows {first} and {row} (same name and "
                                                   f"date of birth) with different values: keep one row"))
    return out


def _joins_a_team(plan: Plan) -> bool:
    """Whether the plan puts a runner on a team (so the team's type says whether there is room)."""
    return (any(a.new_team or a.participant.team_id for a in plan.adds)
            or any(c.field == "team" for m in plan.modifies for c in m.changes))


def _check_team_sizes(plan: Plan, current: Sequence[Participant], teams: Sequence[Team],
                      team_types: Sequence[TeamType], rows: Sequence[int]) -> None:
    """Runners the plan puts on a team, one RaceEntry has or one the plan creates: the team's type must
    take their event and have room (its max_members). A row that does not fit is invalid (nothing of it
    sent), before anything goes: RaceEntry would refuse it after the rest was sent."""
    if not team_types or not (teams or plan.teams):
        return
    by_id = {str(t.team_id): t for t in teams if t.team_id}
    types = {str(t.team_type_id): t for t in team_types}
    new_types = {norm("team_name", t.name): str(t.team_type_id) for t in plan.teams}
    members: Counter = Counter(str(p.team_id) for p in current if p.team_id)
    leaving = {m.registration_id for m in plan.modifies if any(c.field == "team" for c in m.changes)}
    for p in current:
        if p.team_id and str(p.registration_id) in leaving:
            members[str(p.team_id)] -= 1
    # (row, registration id, team key, team name, team type, event, plan item), in file order
    joining: list[tuple[int, str | None, str, str, TeamType | None, int | None, Any]] = []
    for a in plan.adds:
        if a.new_team:
            key = "new:" + norm("team_name", a.new_team)
            joining.append((a.row, None, key, a.new_team, types.get(new_types.get(key[4:], "")),
                            a.participant.event_id, a))
        elif a.participant.team_id and str(a.participant.team_id) in by_id:
            team = by_id[str(a.participant.team_id)]
            joining.append((a.row, None, str(team.team_id), team.team_name or str(team.team_id),
                            types.get(str(team.team_type_id)), a.participant.event_id, a))
    for m in plan.modifies:
        if not any(c.field == "team" for c in m.changes):
            continue
        if m.new_team:
            key = "new:" + norm("team_name", m.new_team)
            joining.append((m.row, m.registration_id, key, m.new_team, types.get(new_types.get(key[4:], "")),
                            m.event_id, m))
        elif m.team_id and str(m.team_id) in by_id:
            team = by_id[str(m.team_id)]
            joining.append((m.row, m.registration_id, str(team.team_id), team.team_name or str(team.team_id),
                            types.get(str(team.team_type_id)), m.event_id, m))
    refused: list[Any] = []
    for row, rid, key, name, kind, event_id, item in sorted(joining, key=lambda j: j[0]):
        if kind is None:
            continue
        limit = kind.raw.get("max_members") if isinstance(kind.raw, dict) else None
        kind_name = plan.team_type(kind.team_type_id)
        if kind.valid_event_ids and event_id is not None and event_id not in kind.valid_event_ids:
            problem = (f"team {name!r} ({kind.team_type}) takes events "
                       f"{', '.join(plan.event(e) for e in kind.valid_event_ids)}, not event {plan.event(event_id)}")
        elif isinstance(limit, int) and members[key] >= limit:
            problem = (f"new team {name!r} would be full ({kind_name} takes {limit} members; earlier rows fill it)"
                       if key.startswith("new:") else f"team {name!r} is full ({members[key]} of {limit} members)")
        else:
            members[key] += 1
            continue
        plan.invalid.append(Invalid(row, rid, f"{problem}: choose another team or leave it blank"))
        refused.append(item)
    if refused:
        plan.adds = [a for a in plan.adds if a not in refused]
        plan.modifies = [m for m in plan.modifies if m not in refused]
        # A new team none of whose runners can join is not created either.
        joined = {norm("team_name", x.new_team) for x in (*plan.adds, *plan.modifies) if x.new_team}
        plan.teams = [t for t in plan.teams if norm("team_name", t.name) in joined]


_SORT_FIELDS = ("first_name", "last_name", "dob", "email", "gender", "phone", "street", "city", "zipcode")


def _sorted_column(plan: Plan, current: Sequence[Participant]) -> str | None:
    """Why the plan looks like one column sorted on its own (a spreadsheet's "continue with the current
    selection"): many rows changed just one field, each to a value another runner has. None when not."""
    single: Counter = Counter()
    for m in plan.modifies:
        if len(m.changes) == 1 and m.changes[0].field in _SORT_FIELDS:
            single[m.changes[0].field] += 1
    if not single:
        return None
    name, n = single.most_common(1)[0]
    if n < 5 or n * 5 < plan.file_rows:
        return None
    held = {norm(name, getattr(p, name)) for p in current}
    moved = sum(1 for m in plan.modifies if len(m.changes) == 1 and m.changes[0].field == name
                and norm(name, m.changes[0].new) in held)
    if moved < 5 or moved * 5 < plan.file_rows:
        return None
    label = {"dob": "date of birth", "zipcode": "ZIP"}.get(name, name.replace("_", " "))
    return (f"{moved} of {plan.file_rows} rows changed their {label} and nothing else, each to another runner's: "
            f"it looks like one column was sorted on its own")


def _settle(plan: Plan, row: int, rid: str, name: str, bp: Participant | None, p: Participant,
            cp: Participant, prefer: str | None, attr: str | None = None) -> bool:
    """Record a conflict; True when ``--prefer file`` says to push the file's value anyway."""
    attr = attr or name
    resolution = {"file": "file wins", "raceentry": "RaceEntry wins"}.get(prefer or "", "not pushed")
    plan.conflicts.append(Conflict(row, rid, name, getattr(bp, attr) if bp is not None else None,
                                   getattr(p, attr), getattr(cp, attr), resolution, who_of(cp)))
    return prefer == "file"


def identity_index(records: Iterable[Participant], wanted: set[tuple[str, str]] | None = None
                   ) -> dict[tuple, list[Participant]]:
    """``records`` by :func:`identity`; with ``wanted``, for those identities only (a record whose folded
    last name no wanted identity has is passed over without folding its first name)."""
    out: dict[tuple, list[Participant]] = {}
    if wanted is None:
        for c in records:
            out.setdefault(identity(c), []).append(c)
        return out
    last_names = {w[1] for w in wanted}
    for c in records:
        if last_names and fold_name(clean_text(c.last_name)) in last_names:
            key = identity(c)
            if key in wanted:
                out.setdefault(key, []).append(c)
    return out


def _dob_fine(dob: Any, today: str, earliest: str = EARLIEST_DOB) -> bool:
    parsed = dates.parse(dob)
    return parsed is not None and earliest <= parsed <= today


def _invalid(p: Participant, rid: str, present: set[str], events: set[int] | None, today: str,
             current: Participant | None = None, earliest: str = EARLIEST_DOB) -> str | None:
    """Why a row cannot be sent, or None. A registration's value the file leaves as RaceEntry has it is
    never held against the row (only what would be sent is checked; see also _bad_change)."""
    problems = []
    if not rid or "first_name" in present:
        if not p.first_name or not p.first_name.strip():
            problems.append("first name is missing")
    if not rid or "last_name" in present:
        if not p.last_name or not p.last_name.strip():
            problems.append("last name is missing")
    if p.dob and "dob" in present:
        dob = dates.parse(p.dob)
        if dob is None and clean_text(p.dob):
            problems.append(f"date of birth {clean_text(p.dob)!r} is not a date")
        elif dob is not None and dob > today:
            problems.append(f"date of birth {dob} is in the future")
        elif dob is not None and dob < earliest:
            problems.append(f"date of birth {dob} is before {earliest}: check the year (or widen the profile's "
                            f"earliest_dob)")
    if "gender" in present and (p.gender or "").strip().upper() not in _GENDERS | {"MALE", "FEMALE"} and (
            current is None or norm("gender", current.gender) != norm("gender", p.gender)):
        problems.append(f"gender {clean_text(p.gender)!r} is not M, F or blank")
    for f in TEXT_CHECKED if not rid else ():  # a registration's fields are checked as they change
        value = getattr(p, f)
        if isinstance(value, str) and _BAD_CHARS.search(value):
            what = ("holds \ufffd where characters were lost (the file was opened with the wrong character "
                    "set: open it again choosing UTF-8 or Windows-1252)" if "\ufffd" in value else
                    "holds a control character: retype the value")
            problems.append(f"{f.replace('_', ' ')} {clean_text(value)!r} {what}")
    if p.event_id is None and not rid:
        problems.append("no event")
    elif p.event_id is not None and events is not None and p.event_id not in events:
        problems.append(f"event {p.event_id} is not an event of this race")
    return "; ".join(problems) or None


def _team_types_for(needs: dict[str, tuple[str, list[int], set[int]]], team_types: Sequence[TeamType],
                    chosen: str | None, plan: Plan | None = None) -> list[NewTeam]:
    ev = plan.event if plan is not None else str
    out = []
    known = {str(t.team_type_id): t for t in team_types}
    if chosen is not None and known and str(chosen) not in known:
        raise PlanError(f"--team-type {chosen} is not a team type of this race; choose one of: "
                        f"{_type_options(team_types, ev)}")
    for name, rows, event_ids in needs.values():
        if chosen is not None:
            kind = known.get(str(chosen))
            outside = sorted(event_ids - set(kind.valid_event_ids)) if kind and kind.valid_event_ids else []
            if outside:
                # RaceEntry would create the team and then refuse its members (or worse, accept them).
                fits = [t for t in team_types if event_ids and event_ids <= set(t.valid_event_ids)]
                raise PlanError(f"--team-type {chosen} ({kind.team_type}) does not cover event "
                                f"{', '.join(map(ev, outside))} of new team {name!r} (rows {_rows_text(rows)}); "
                                f"choose one of: {_type_options(fits or team_types, ev)}")
            out.append(NewTeam(name, str(chosen), sorted(rows)))
            continue
        fits = [t for t in team_types if event_ids and event_ids <= set(t.valid_event_ids)]
        if len(fits) != 1:
            why = "more than one team type fits" if fits else "no team type fits its events"
            raise PlanError(f"cannot choose a team type for new team {name!r} (rows {_rows_text(rows)}, events "
                            f"{', '.join(map(ev, sorted(event_ids))) or 'none'}): {why}; use --team-type with one "
                            f"of: {_type_options(fits or team_types, ev)}")
        out.append(NewTeam(name, str(fits[0].team_type_id), sorted(rows)))
    return out


def _type_options(types: Sequence[TeamType], ev: Any = str) -> str:
    """The team types to choose from: the id to type, then the name and events as RaceEntry names them."""
    return ", ".join(f"{t.team_type_id} ({t.team_type}, events {', '.join(map(ev, t.valid_event_ids))})"
                     for t in types) or "(this race has no team types)"


# ------------------------------------------------------------------------------------------ requests

def add_payload(a: Add, team_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The POST participants row creating ``a``'s participant (new team ids from ``team_ids``)."""
    p = a.participant.copy(registration_id=None)
    for f in POSTABLE_FIELDS:
        if f != "team_id":
            setattr(p, f, push_value(f, getattr(p, f)))
    p.team_id = _team_id(p.team_id, a.new_team, team_ids, p.team_name)
    return participant_payload(p)


def modify_payload(m: Modify, team_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """The POST participants row updating ``m``'s runner (event: the current one): the runner's complete
    record as RaceEntry has it (``m.current``, from the read the plan was made from) with the file's
    changes applied (user, address, team), so a RaceEntry that replaces the record (or its user or
    address object) on update keeps every field, as one that merges does. Values come from RaceEntry's
    record or the file's changes only, never from the file's unchanged cells; a field RaceEntry has blank
    stays out (see :func:`converters.model.participant_payload`)."""
    p = m.current.copy(event_id=m.event_id)
    changed = []
    for c in m.changes:
        if c.field == "team":
            p.team_id = _team_id(m.team_id, m.new_team, team_ids, None) or ""
            changed.append("team_id")
        else:
            setattr(p, c.field, c.new)
            changed.append(c.field)
    return participant_payload(p, changed)


def _team_id(existing: str | None, new_team: str | None, team_ids: dict[str, str] | None,
             fallback_name: str | None) -> str | None:
    if new_team:
        key = norm("team_name", new_team)
        if team_ids and key in team_ids:
            return team_ids[key]
        # Not created yet (plan files): a placeholder naming the team; push replaces it with the new id.
        return f"new team: {new_team}"
    return existing


def participant_rows(plan: Plan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The POST participants rows of the plan's adds and modifies, built once per plan (the push sends
    them, the plan folder keeps them): a team the plan creates is named by its placeholder, which
    :func:`with_team_id` replaces with the id RaceEntry gave it."""
    rows = plan.__dict__.get("_participant_rows")
    if rows is None:
        rows = plan.__dict__["_participant_rows"] = (
            [add_payload(a) for a in plan.adds], [modify_payload(m) for m in plan.modifies])
    return rows


def with_team_id(row: dict[str, Any], new_team: str | None, team_ids: dict[str, str]) -> dict[str, Any]:
    """``row`` (from :func:`participant_rows`) with the id of the new team it joins in place of the
    placeholder (a copy; the plan's row stays as it is)."""
    placeholder = f"new team: {new_team}" if new_team else None
    if placeholder is None or row.get("team_id", row["user"].get("team_id")) != placeholder:
        return row
    real = _team_id(None, new_team, team_ids, None)
    value = int(real) if real is not None and INT_TEXT.match(real) else real  # as participant_payload
    out = dict(row, user=dict(row["user"]))
    for part in (out, out["user"]):
        if part.get("team_id") == placeholder:
            part["team_id"] = value
    return out


def plan_requests(plan: Plan, team_ids: dict[str, str] | None = None,
                  delete_batch: int = MAX_DELETE_PER_REQUEST) -> dict[str, Any]:
    """The request bodies of a plan: ``teams``, ``participants``, ``switch_participant_events`` and
    ``delete_participants`` (a list of bodies, at most 250 deletes each); empty ones left out."""
    out: dict[str, Any] = {}
    if plan.teams:
        out["teams"] = teams_request(Team(team_id=None, team_type_id=t.team_type_id, team_name=t.name)
                                     for t in plan.teams)
    adds, modifies = participant_rows(plan)
    rows = adds + modifies
    if team_ids:
        rows = ([with_team_id(r, a.new_team, team_ids) for r, a in zip(adds, plan.adds)]
                + [with_team_id(r, m.new_team, team_ids) for r, m in zip(modifies, plan.modifies)])
    if rows:
        out["participants"] = participants_request(rows)
    if plan.switches:
        out["switch_participant_events"] = switch_request((s.registration_id, s.new_event_id) for s in plan.switches)
    if plan.deletes:
        ids = [d.registration_id for d in plan.deletes]
        out["delete_participants"] = [delete_request(ids[i:i + delete_batch]) for i in range(0, len(ids), delete_batch)]
    return out


# ---------------------------------------------------------------------------------------- applying

def apply_plan(participants: Sequence[Participant], plan: Plan) -> list[Participant]:
    """What RaceEntry should hold after ``plan``: modifies, switches and deletes applied by registration id,
    adds appended (without ids). Pure: the input list and its participants are left untouched."""
    out = [p.copy() for p in participants]
    by_id = {str(p.registration_id): p for p in out if p.registration_id}
    for m in plan.modifies:
        p = by_id[m.registration_id]
        for c in m.changes:
            if c.field == "team":
                p.team_name = m.new_team or c.new or None
                p.team_id = m.team_id
            else:
                setattr(p, c.field, c.new)
    for s in plan.switches:
        by_id[s.registration_id].event_id = s.new_event_id
    gone = {d.registration_id for d in plan.deletes}
    out = [p for p in out if str(p.registration_id) not in gone]
    for a in plan.adds:
        out.append(a.participant.copy(registration_id=None))
    return out


def comparable(p: Participant, present: Iterable[str] | None = None) -> tuple:
    """A participant's normalised compared fields, event and team (for tests and verification)."""
    names = [f for f in COMPARED_FIELDS if present is None or f in present]
    return tuple(norm(f, getattr(p, f)) for f in names) + (p.event_id, norm("team_name", p.team_name))


def counter(participants: Iterable[Participant], present: Iterable[str] | None = None) -> Counter:
    present = list(present) if present is not None else None
    return Counter(comparable(p, present) for p in participants)


# ------------------------------------------------------------------------------------------ summary

def summary_rows(plan: Plan) -> list[list[Any]]:
    """One line per planned item: kind, file row, registration id, the runner, details."""
    def show(v: Any) -> str:
        return "(blank)" if v in (None, "") else str(v)

    rows: list[list[Any]] = []
    for t in plan.teams:
        rows.append(["new team", _rows_text(t.rows, 3), "", t.name, f"team type {plan.team_type(t.team_type_id)}"])
    for a in plan.adds:
        rows.append(["add", a.row, "", who_of(a.participant), f"event {plan.event(a.participant.event_id)}"
                     + (f", new team {a.new_team}" if a.new_team else "")])
    for m in plan.modifies:
        rows.append(["modify", m.row, m.registration_id, who_of(m.current),
                     "; ".join(f"{c.field}: {show(c.old)} -> {show(c.new)}" for c in m.changes)])
    for s in plan.switches:
        rows.append(["switch", s.row, s.registration_id, who_of(s.current),
                     f"event {plan.event(s.old_event_id)} -> {plan.event(s.new_event_id)}"])
    for d in plan.deletes:
        rows.append(["delete", "", d.registration_id, who_of(d.participant), f"event {plan.event(d.participant.event_id)}"])
    for u in plan.unpushable:
        rows.append(["not pushable", u.row, u.registration_id or "", u.who,
                     f"{u.field}: {show(u.raceentry)} -> {show(u.file)}: {u.reason}"])
    for c in plan.conflicts:
        if c.field == "(registration)":  # the runner is gone from RaceEntry (or was never there)
            hint = " (--prefer file adds them again)" if c.resolution == "not pushed" else ""
            detail = f"{c.file} in the file, {c.raceentry}: {c.resolution}{hint}"
        else:
            detail = (f"{c.field}: pulled {show(c.base)}, file {show(c.file)}, RaceEntry {show(c.raceentry)}: "
                      f"{c.resolution}")
        rows.append(["CONFLICT", c.row or "", c.registration_id or "", c.who, detail])
    for c in plan.undecided:
        rows.append(["cannot tell", c.row or "", c.registration_id or "", c.who,
                     f"{c.field}: file {show(c.file)}, RaceEntry {show(c.raceentry)}: {c.resolution}"])
    for i in plan.invalid:
        rows.append(["INVALID", i.row, i.registration_id or "", i.who, i.message])
    return rows


def blocked(plan: Plan, skip_invalid: bool = False) -> bool:
    """Whether invalid rows stop the plan from being pushed (push refuses them unless --skip-invalid)."""
    return bool(plan.invalid) and not skip_invalid


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 add``, ``2 adds``, ``1 switch``, ``0 switches``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary_lines(plan: Plan) -> list[str]:
    """The plan in a few lines: totals by kind, modifies by field, what cannot go, and the notes."""
    c = plan.counts()
    import textwrap

    lines = [line for note in (plan.read_note, plan.base_note) if note
             for line in textwrap.wrap(note, 80, subsequent_indent="  ")]
    lines += [f"{'Three-way' if plan.three_way else 'Two-way'} diff of {plural(plan.file_rows, 'file row')} with "
             f"{plural(plan.current_count, 'RaceEntry participant')} of race {plan.race_id}:",
             f"  {plural(c['teams'], 'team')} to create, {plural(c['adds'], 'add')}, "
             f"{plural(c['modifies'], 'modify', 'modifies')}, {plural(c['switches'], 'switch', 'switches')}, "
             f"{plural(c['deletes'], 'delete')}"]
    if plan.modifies:
        by_field: Counter = Counter()
        case_only: Counter = Counter()
        for m in plan.modifies:
            for ch in m.changes:
                by_field[ch.field] += 1
                if isinstance(ch.old, str) and isinstance(ch.new, str) and ch.old != ch.new and (
                        ch.old.casefold() == ch.new.casefold()):
                    case_only[ch.field] += 1
        parts = []
        for f, n in by_field.most_common():
            note = (" (all capitalisation only)" if case_only[f] == n else
                    f" ({case_only[f]} capitalisation only)" if case_only[f] else "")
            parts.append(f"{f} {n}{note}")
        lines.append(f"  modifies by field: {', '.join(parts)}")
    if c["unpushable"] or c["conflicts"] or c["invalid"]:
        lines.append(f"  {plural(c['unpushable'], 'change')} RaceEntry's API cannot take, "
                     f"{plural(c['conflicts'], 'conflict')}, {plural(c['invalid'], 'invalid row')}")
    if plan.suspect:
        lines.append(f"  REFUSED: {plan.suspect}; nothing will be sent (undo the sort, or pull the file again)")
    if plan.undecided:
        lines.append(f"  {plural(len(plan.undecided), 'difference')} nobody can tell the author of: listed, "
                     f"not sent")
    if plan.bound:
        lines.append(f"  {plural(len(plan.bound), 'row')} without an id "
                     f"{'is a runner' if len(plan.bound) == 1 else 'are runners'} a push added (not added again)")
    if plan.matched:
        lines.append(f"  {plural(len(plan.matched), 'row')} without an id {'is' if len(plan.matched) == 1 else 'are'} "
                     f"a runner RaceEntry has (name, dob): not added")
    if plan.not_in_file:
        # Without a base, --delete deletes nothing (a runner missing may have registered since): no hint to it.
        how = ("a file with no base deletes nothing" if plan.adds_only else
               f"use --delete to delete {'it' if len(plan.not_in_file) == 1 else 'them'}")
        lines.append(f"  {plural(len(plan.not_in_file), 'RaceEntry participant')} "
                     f"{'is' if len(plan.not_in_file) == 1 else 'are'} not in the file ({how})")
    if plan.stale:
        lines.append(f"  {plural(plan.stale, 'field')} changed only in RaceEntry since the file was pulled "
                     f"(not pushed back; pull to refresh the file)")
    if plan.damaged:
        kinds = ", ".join(f"{k} {n}" for k, n in plan.damaged.most_common())
        lines += textwrap.wrap(f"{plural(sum(plan.damaged.values()), 'cell')} a spreadsheet changed, recognised "
                               f"and not sent ({kinds})", 80, initial_indent="  ", subsequent_indent="    ")
    for note in plan.notes[:10]:
        lines += textwrap.wrap(f"note: {note}", 80, initial_indent="  ", subsequent_indent="    ")
    if len(plan.notes) > 10:
        lines.append(f"  ... and {len(plan.notes) - 10} more notes")
    return lines


def summary_text(plan: Plan, width: int | None = None, skip_invalid: bool = False) -> str:
    """The plan for a person: the summary first, then a table of every item (fitted to ``width``
    columns, the terminal's by default), then whether anything is to be pushed: nothing while rows are
    invalid (push refuses them, unless ``skip_invalid``)."""
    lines = summary_lines(plan)
    rows = summary_rows(plan)
    if rows:
        lines += ["", table(rows, ["kind", "row", "reg_id", "who", "details"], width, caps=(12, 6, 8, 22))]
    if blocked(plan, skip_invalid):
        import textwrap

        n = len(plan.invalid)
        lines += textwrap.wrap(f"Nothing will be pushed until {plural(n, 'invalid row')} {'is' if n == 1 else 'are'} "
                               f"fixed" + ("." if plan.is_empty() else " (or push --skip-invalid)."), 80)
    else:
        lines.append("No changes to push." if plan.is_empty() else "")
    return "\n".join(lines).rstrip("\n")


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (with "…")."""
    if text_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = text_width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken at spaces where it can be."""
    lines, line = [], ""
    for word in text.split(" "):
        while text_width(word) > width:  # a word longer than the column: break it
            room = width - text_width(line) - (1 if line else 0)
            if room <= 0:
                lines.append(line)
                line, room = "", width
            cut = _fit(word, room + 1)[:-1] if text_width(word) > room else word
            cut = cut or word[:1]
            line = f"{line} {cut}" if line else cut
            word = word[len(cut):]
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def table(rows: list[list[Any]], header: list[str], width: int | None = None,
          caps: Sequence[int] = ()) -> str:
    """A table fitted to ``width`` columns (the terminal's; 80 when unknown), East Asian wide characters
    counted as two: a column is cut with "…" past its cap (``caps``, else 24), the last column wraps onto
    following lines, never cut."""
    import shutil

    total = width or shutil.get_terminal_size((80, 24)).columns
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    last = len(header) - 1
    widths = [text_width(h) for h in header]
    for row in cells:
        for i, c in enumerate(row[:last]):
            widths[i] = max(widths[i], text_width(c))
    longest = max([text_width(r[last]) for r in cells] + [text_width(header[last])])
    if sum(widths[:last]) + 2 * last + min(longest, 30) > total:  # too wide: the columns give way first
        widths = [min(w, caps[i] if i < len(caps) else 24) for i, w in enumerate(widths)]
    detail = max(20, total - sum(widths[:last]) - 2 * last)

    def pad(text: str, w: int) -> str:
        text = _fit(text, w)
        return text + " " * (w - text_width(text))

    def fmt(row: list[str]) -> list[str]:
        lead = "  ".join(pad(c, widths[i]) for i, c in enumerate(row[:last]))
        wrapped = _wrap(row[last], detail)
        indent = " " * (sum(widths[:last]) + 2 * last)
        return [f"{lead}  {wrapped[0]}".rstrip()] + [f"{indent}{more}".rstrip() for more in wrapped[1:]]

    out = fmt(header) + fmt(["-" * w for w in widths[:last]] + ["-" * min(detail, longest)])
    for row in cells:
        out += fmt(row)
    return "\n".join(out)
