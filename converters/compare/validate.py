"""Rows a push cannot send, and files that cannot be planned at all: a row's problems (names, date of
birth, gender, characters a wrong character set lost, event), a date of birth read two ways settled
against RaceEntry's day, and whole-file refusals (duplicate ids or bibs, a file for another race)."""

from __future__ import annotations

import re
from typing import Any, Container, Sequence

from .. import dates
from .damage import damage_of
from ..errors import PlanError
from ..model import Participant
from .values import clean_text, norm, rows_text

# Text that goes to RaceEntry: no control characters, no U+FFFD (characters a wrong character set lost).
TEXT_CHECKED = ("first_name", "middle_name", "last_name", "email", "street", "city", "state", "zipcode",
                "country_code", "phone", "team_name")
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # control characters, U+FFFD
GENDERS = {"", "M", "F"}
EARLIEST_DOB = "1900-01-01"


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
        return None, None, None, None  # not a date at all: row_problem says so
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


def dob_fine(dob: Any, today: str, earliest: str = EARLIEST_DOB) -> bool:
    """Whether ``dob`` is a date from ``earliest`` to ``today``."""
    parsed = dates.parse(dob)
    return parsed is not None and earliest <= parsed <= today


def row_problem(p: Participant, rid: str, present: set[str], events: set[int] | None, today: str,
                current: Participant | None = None, earliest: str = EARLIEST_DOB) -> str | None:
    """Why a row cannot be sent, or None. A registration's value the file leaves as RaceEntry has it is
    never held against the row (only what would be sent is checked; a changed value's characters are
    checked as the change is planned, in :mod:`converters.compare.fields`)."""
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
    if "gender" in present and (p.gender or "").strip().upper() not in GENDERS | {"MALE", "FEMALE"} and (
            current is None or norm("gender", current.gender) != norm("gender", p.gender)):
        problems.append(f"gender {clean_text(p.gender)!r} is not M, F or blank")
    for f in TEXT_CHECKED if not rid else ():  # a registration's fields are checked as they change
        value = getattr(p, f)
        if isinstance(value, str) and BAD_CHARS.search(value):
            what = ("holds \ufffd where characters were lost (the file was opened with the wrong character "
                    "set: open it again choosing UTF-8 or Windows-1252)" if "\ufffd" in value else
                    "holds a control character: retype the value")
            problems.append(f"{f.replace('_', ' ')} {clean_text(value)!r} {what}")
    if p.event_id is None and not rid:
        problems.append("no event")
    elif p.event_id is not None and events is not None and p.event_id not in events:
        problems.append(f"event {p.event_id} is not an event of this race")
    return "; ".join(problems) or None


def check_duplicates(file: Sequence[Participant], rows: Sequence[int], present: set[str],
                     source: str | None = None) -> None:
    """Raise PlanError when a registration id is on two rows, or a bib (when the file has bibs)."""
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
        raise PlanError(f"{prefix}registration id {rid} appears in rows {rows_text(where)}{more}: each registration "
                        f"must be on one row; remove the duplicate rows")
    dups = {k: v for k, v in by_bib.items() if len(v) > 1}
    if dups:
        bib, where = next(iter(dups.items()))
        more = f" (and {len(dups) - 1} more duplicated bibs)" if len(dups) > 1 else ""
        raise PlanError(f"{prefix}bib {bib} is on rows {rows_text(where)}{more}: give each runner their own bib")


def check_same_race(file: Sequence[Participant], rows: Sequence[int], race_id: int | None, events: set[int] | None,
                    current_count: int, current_ids: Container[str], base_ids: Container[str],
                    renamed: Container[str]) -> None:
    """Raise PlanError for a file for another race: most of its events are not this race's (``events``),
    or, in a race of 20 runners or more, most of its registration ids are unknown (neither RaceEntry's,
    nor the base's, nor an id a switch renamed)."""
    if events is not None:
        foreign = [(r, p.event_id) for p, r in zip(file, rows) if p.event_id is not None and p.event_id not in events]
        with_event = sum(1 for p in file if p.event_id is not None)
        if with_event and len(foreign) * 2 > with_event:
            shown = sorted({e for _, e in foreign})[:5]
            raise PlanError(f"the file looks like one for another race: rows {rows_text(r for r, _ in foreign)} "
                            f"have events {', '.join(map(str, shown))}, none of which is an event of race "
                            f"{race_id} (its events: {', '.join(map(str, sorted(events)))})")
    ids = [(r, p.registration_id.strip()) for p, r in zip(file, rows) if p.registration_id]
    unknown = [(r, rid) for r, rid in ids if rid not in current_ids and rid not in base_ids and rid not in renamed]
    if current_count >= 20 and ids and len(unknown) * 2 > len(ids):
        raise PlanError(f"the file looks like one for another race: the registration ids on rows "
                        f"{rows_text(r for r, _ in unknown)} are not in race {race_id}")
