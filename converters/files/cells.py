"""One column of a timing file's cells -> canonical values, rule by rule: what the writer did undone (a
guarding ``'``, an event written as its name, map or number, a value map) and what spreadsheets do repaired
(50004.0), then the cells checked for their field (whole numbers, T/F flags, dates, known events). Every
rule runs once per column (C-level searches over the column joined), never a call per cell; only a column
that needs it is walked cell by cell. Several event columns of one row are settled by
:func:`merge_event_columns`. The rows and the file are :mod:`converters.files.reader`'s."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import dates
from ..errors import InputError, ShapeError
from ..model import INT_TEXT, as_flag, as_int
from .profiles import Column, Profile
from .records import INT_FIELDS, FLAG_FIELDS, FLOAT_INT, INT_LINES, unneutralize, event_table

Bad = Callable[[int, str], InputError]  # (index of a cell in the column, message) -> the error naming it


class UnknownEvent(str):
    """An event name no event of the race has, left for the other event column to explain."""


class AmbiguousEvent(str):
    """An event name several events of --race carry (a races response lists every race, and two races
    may each have a "5K"): left for the row's event id column to settle among ``ids``."""

    ids: tuple[int, ...]

    def __new__(cls, value: str, ids: Sequence[int]) -> "AmbiguousEvent":
        self = super().__new__(cls, value)
        self.ids = tuple(ids)
        return self


def ambiguous_message(name: str, ids: Sequence[int]) -> str:
    """What to do about an event name several events of the race carry."""
    return (f"event {name!r} is ambiguous: events {', '.join(map(str, ids))} of --race all have that name; "
            f"fill in the event id column, or pass --race with only this race")


def read_column(col: Column, values: list[str], rownums: list[int], profile: Profile, events: dict[int, str],
                neutral: bool, file: str, lenient_events: bool = False, keep_bad_dates: bool = False) -> list[Any]:
    """One column of cell texts -> canonical values (inverse of :func:`converters.files.writer._column_values`).

    ``keep_bad_dates``: a cell that is not a date is kept as its text instead of raising, for a diff to
    list the row as invalid while the other rows go on.
    ``lenient_events``: an unknown event name becomes an :class:`UnknownEvent` instead of an error,
    for :func:`merge_event_columns` to judge against the row's event id."""
    # The checks below run on the column joined once (C-level searches), so clean columns skip the
    # per-cell work; a value holding a newline can only cause a false alarm, never a miss.
    joined = _joined(values)
    if neutral and "\n'" in joined:
        values, joined = undo_guarding(values)
    if (col.type in ("int", "code") or col.source == "event_id") and "." in joined:
        values, joined = undo_float_retyping(values)

    def bad(i: int, message: str) -> InputError:
        return InputError(message, file=file, row=rownums[i], column=col.header)

    if holds_event_names(col, events):
        return read_event_names(col, values, profile, events, lenient_events, bad)
    if col.source in INT_FIELDS:
        return read_whole_numbers(values, joined, col.source, bad)
    if col.source in FLAG_FIELDS:
        return read_flags(values, bad)
    if col.type == "date":
        return read_dates(values, col.date_format or "%Y-%m-%d", keep_bad_dates, bad)
    return read_texts(col, values, joined)


def _joined(values: list[str]) -> str:
    return "\n" + "\n".join(values) + "\n"


def undo_guarding(values: list[str]) -> tuple[list[str], str]:
    """The writer's guarding ``'`` (before a cell a spreadsheet would take as a formula) taken off."""
    values = [unneutralize(v) if v[:1] == "'" else v for v in values]
    return values, _joined(values)


def undo_float_retyping(values: list[str]) -> tuple[list[str], str]:
    """A spreadsheet re-typed the number as a float: 50004.0 -> 50004."""
    values = [v.split(".")[0] if "." in v and FLOAT_INT.match(v) else v for v in values]
    return values, _joined(values)


def holds_event_names(col: Column, events: dict[int, str]) -> bool:
    """An event column written as the event's name, the profile's [event_map], or its number in the race
    (read back as written ids too when the race's events are not known)."""
    return col.source == "event_id" and (col.event or "id") != "id" and (col.event != "order" or bool(events))


def event_lookup(col: Column, profile: Profile, events: dict[int, str]) -> tuple[dict[int, str], dict[str, Any]]:
    """(event id -> what the column holds for it, that text casefolded -> event id). A name several events
    carry maps to an :class:`AmbiguousEvent`, never to whichever came last; a column of event numbers
    also takes the event ids (a file written before contest numbers)."""
    table = event_table(col, profile, events)
    lookup: dict[str, Any] = {}
    for k, v in table.items():
        key = str(v).strip().casefold()
        if key in lookup:  # one name, several events: never resolve it to whichever came last
            have = lookup[key]
            lookup[key] = AmbiguousEvent(str(v).strip(), (*(have.ids if isinstance(have, AmbiguousEvent)
                                                             else (have,)), k))
        else:
            lookup[key] = k
    if col.event == "order":  # a file written with event ids (before contest numbers): still read
        for k in table:
            lookup.setdefault(str(k), k)
    return table, lookup


def read_event_names(col: Column, values: list[str], profile: Profile, events: dict[int, str],
                     lenient: bool, bad: Bad) -> list[Any]:
    """Event names (or map entries, or numbers) -> event ids; an unknown or ambiguous name is an error,
    unless ``lenient``: then it is left for the row's other event column to settle."""
    table, lookup = event_lookup(col, profile, events)
    what = ("the race's events (--race)" if col.event in ("name", "order") else "the profile's [event_map]")
    out: list[Any] = []
    for i, v in enumerate(values):
        v = v.strip()
        if not v:
            out.append(None)
            continue
        eid = lookup.get(v.casefold())
        if isinstance(eid, AmbiguousEvent) and not lenient:
            raise bad(i, ambiguous_message(v, eid.ids))
        if eid is None and lenient:
            out.append(UnknownEvent(v))
            continue
        if eid is None:
            known = ", ".join(repr(str(x)) for x in table.values()) or "none"
            raise bad(i, f"unknown event {v!r}; not in {what} (known: {known})")
        out.append(eid)
    return out


def read_whole_numbers(values: list[str], joined: str, source: str, bad: Bad) -> list[Any]:
    """Whole numbers (an empty cell is None); a cell that is none is an error naming the field's kind."""
    if INT_LINES.match(joined):  # every cell a canonical integer or empty: as_int is int()
        return [int(v) if v else None for v in values] if "\n\n" in joined else list(map(int, values))
    out = []
    for i, v in enumerate(values):
        try:
            out.append(as_int(v.strip()))
        except ShapeError:
            raise bad(i, f"{v!r} is not {'an event id' if source == 'event_id' else 'a whole number'}") from None
    return out


def read_flags(values: list[str], bad: Bad) -> list[Any]:
    """T/F flags (as :func:`converters.model.as_flag` reads them)."""
    out = []
    for i, v in enumerate(values):
        try:
            out.append(as_flag(v))
        except ShapeError:
            raise bad(i, f"{v!r} is not T or F") from None
    return out


def read_dates(values: list[str], fmt: str, keep_bad_dates: bool, bad: Bad) -> list[Any]:
    """Dates in ``fmt`` -> ISO dates: the whole column in one pass when every cell is a clean date, else
    cell by cell (each distinct text read once), where a cell that is no date is an error
    (:func:`not_a_date`) or, with ``keep_bad_dates``, kept as its text."""
    fast = dates.column(values, fmt)
    if fast is not None:
        return fast
    cache: dict[str, str | None] = {}
    out: list[Any] = []
    for i, v in enumerate(values):
        v = v.strip()
        if not v:
            out.append(None)
            continue
        iso = cache.get(v)
        if iso is None:
            got = dates.readings(v, fmt)
            iso = cache[v] = got.one
            if iso is None and keep_bad_dates:
                out.append(v)  # the diff judges it against RaceEntry's day and the race's (diff.settle_dob)
                continue
            if iso is None:
                raise bad(i, not_a_date(v, got, fmt))
        out.append(iso)
    return out


def not_a_date(text: str, got: dates.Readings, fmt: str) -> str:
    """Why ``text`` (read as ``got``: :func:`converters.dates.readings`) is no date in ``fmt``: a
    two-digit year (never a guessed century here), day and month either way, or no date at all."""
    if got.short:
        return (f"{text!r} has a two-digit year (a spreadsheet shortened it): type the year in full, or open "
                f"the file with that column as Text")
    if got.dates:
        return (f"{text!r} can be read as {' or '.join(got.dates)} (day and month either way): type it as "
                f"{dates.hint(fmt)}")
    return f"{text!r} is not a date in the form {dates.hint(fmt)}"


def undo_value_map(col: Column, values: list[str]) -> list[str]:
    """The profile's value map read backwards (``F`` -> ``Female``), and its text for an empty value
    (``blank``) back to empty."""
    reverse = col.reverse
    blank = col.blank.casefold() if col.blank else None
    mapped = []
    for v in values:
        f = v.casefold()
        mapped.append("" if blank and f == blank else reverse.get(f, v))
    return mapped


def read_texts(col: Column, values: list[str], joined: str) -> list[Any]:
    """Text fields: the value map undone, an empty cell None (a gender stays "", RaceEntry's own blank),
    and an extra column of whole numbers read as numbers."""
    mapped = bool(col.reverse or col.blank)
    if mapped:
        values = undo_value_map(col, values)
    if col.source == "gender":
        return values  # RaceEntry's own blank gender is ""
    if col.kind == "extra" and col.type == "int":
        return [int(v) if INT_TEXT.match(v) else (v or None) for v in values]
    if not mapped and "\n\n" not in joined:
        return values  # no empty cell
    return [v or None for v in values]


_IDS_OR_BLANK = {int, type(None)}


def merge_event_columns(results: list[tuple[Column, list[Any]]], rownums: list[int], events: dict[int, str],
                        file: str, known: list[int | None] | None = None) -> list[Any]:
    """One event id per row from every event column read; columns that disagree are an error.

    An event name the race does not know (:class:`UnknownEvent`) is an error (a typo). An id that is
    not one of the race's events stands over the other columns, so that a file from another race is
    reported as such by the diff rather than as a disagreement here."""
    if len(results) == 1:
        return results[0][1]
    first = results[0][1]
    if all(values == first for _, values in results[1:]) and set(map(type, first)) <= _IDS_OR_BLANK:
        return first  # every column says the same event ids (the common case): nothing to settle

    def show(eid: int) -> str:
        return f"{eid} ({events[eid]})" if eid in events else str(eid)

    known_names = ", ".join(repr(x) for x in events.values()) or "none"
    merged: list[Any] = []
    for i, row in enumerate(zip(*(values for _, values in results))):
        cells = [(col, v) for (col, _), v in zip(results, row) if v is not None]
        if any(isinstance(v, AmbiguousEvent) for _, v in cells):
            ids = {v for _, v in cells if isinstance(v, int)}
            for n, (col, v) in enumerate(cells):
                if isinstance(v, AmbiguousEvent):
                    fit = [x for x in v.ids if x in ids]
                    if len(fit) != 1:
                        raise InputError(ambiguous_message(str(v), v.ids), file=file, row=rownums[i],
                                         column=col.header)
                    cells[n] = (col, fit[0])
        foreign = [v for _, v in cells if not isinstance(v, (UnknownEvent, AmbiguousEvent)) and v not in events]
        if foreign:
            merged.append(foreign[0])
            continue
        typo = next(((col, v) for col, v in cells if isinstance(v, UnknownEvent)), None)
        if typo:
            raise InputError(f"unknown event {str(typo[1])!r}; not in the race's events (known: {known_names})",
                             file=file, row=rownums[i], column=typo[0].header)
        distinct = {v for _, v in cells}
        if len(distinct) == 2 and known and known[i] in distinct:
            merged.append(next(v for v in distinct if v != known[i]))  # the edited column wins
            continue
        if len(distinct) > 1:
            (c1, v1), (c2, v2) = cells[0], next(c for c in cells if c[1] != cells[0][1])
            raise InputError(f"column {c1.header!r} says event {show(v1)} but column {c2.header!r} says "
                             f"{show(v2)}; make them agree (or clear one of the two)", file=file, row=rownums[i])
        merged.append(cells[0][1] if cells else None)
    return merged
