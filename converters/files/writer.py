"""Writing: participants and teams -> rows -> CSV, tab-delimited TXT or XLSX, through a profile (value
maps, date formats, event naming, the formula guard, transliteration for Windows-1252 targets).
The reading direction, derived from the same profile, is :mod:`converters.files.reader`."""

from __future__ import annotations

import datetime as _dt
from collections import abc
import functools
import os
import re
from operator import attrgetter
from typing import Any, Callable, Iterable, Sequence

from ..errors import ProfileError
from ..model import Participant, Team, as_text, gc_paused
from .profiles import Column, Profile, load_profile, with_extra_columns
from ..model.races import race_events
from .records import TRIGGERS, INT_FIELDS, FLAG_FIELDS, neutralize, kind_of, teams_path, guarded, event_table

# --------------------------------------------------------------------------------------------- writing

def _date_out(value: str, fmt: str) -> str | None:
    try:
        return _dt.date.fromisoformat(value).strftime(fmt)
    except ValueError:
        return None


def _cell(value: Any) -> str | None:
    """A value as cell text: as_text, with objects and lists (rare extra fields) as JSON text."""
    if isinstance(value, (dict, list)):
        import orjson

        return orjson.dumps(value).decode()
    return as_text(value)


def _field_columns(ps: Sequence[Participant], names: Iterable[str]) -> dict[str, list[Any]]:
    """The named Participant fields of every participant, column by column (a C-level map per column:
    faster than one attrgetter of every name per participant and a transpose, which costs as much again)."""
    return {n: list(map(attrgetter(n), ps)) for n in dict.fromkeys(names)}


def _base_values(col: Column, ps: Sequence[Participant], empty: str | None,
                 fields: dict[str, list[Any]]) -> list[str | None]:
    """The column's source values for every participant, as text (``empty`` = no value). ``fields``:
    :func:`_field_columns` of the profile's field columns."""
    if col.kind == "field":
        got = fields[col.source]
        if col.source in INT_FIELDS:
            return [empty if v is None else str(v) for v in got]
        if col.source in FLAG_FIELDS:
            return [empty if v is None else "T" if v else "F" for v in got]
        # None -> empty, anything else as it is (a list shared by columns of one field: never changed in place)
        return got if None not in got else list(map({None: empty}.get, got, got))
    if col.kind == "extra":
        key = col.source
        if empty is None:
            return [_cell(p.extra.get(key)) for p in ps]
        return [empty if (v := _cell(p.extra.get(key))) is None else v for p in ps]
    fmt, names = col.source, col.template_fields
    return [" ".join(fmt.format(**{n: (as_text(p.get(n)) or "") for n in names}).split()) or empty for p in ps]


_ISO_DATES = re.compile(r"(?:[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}\n)*\Z")


@functools.lru_cache(maxsize=32)
def _iso_formatter(fmt: str) -> Callable[[Iterable[str]], dict[str, str]] | None:
    """For a format made of %d %m %Y and literal text: a compiled ``{iso: text}`` builder giving what
    ``strftime`` gives for years 1000-9999, without its per-call cost."""
    parts = []
    for part in re.split(r"(%.)", fmt):
        if part in ("%Y", "%m", "%d"):
            parts.append({"%Y": "v[:4]", "%m": "v[5:7]", "%d": "v[8:10]"}[part])
        elif "%" in part:
            return None
        elif part:
            parts.append(repr(part))
    src = f"def build(vs):\n    return {{v: {' + '.join(parts) or repr('')} for v in vs}}\n"
    namespace: dict[str, Any] = {}
    exec(src, namespace)  # noqa: S102 - built from the format's literal parts (repr) and slices only
    return namespace["build"]


def _date_lookup(uniq: set[Any], fmt: str, empty: str | None) -> dict[Any, Any] | None:
    """Distinct canonical dates -> cell text in one pass, or None when some value is not a plain
    YYYY-MM-DD date (years 1000-9999) or the format is not %d/%m/%Y only (then the careful path runs)."""
    build = _iso_formatter(fmt)
    if build is None:
        return None
    dates = [v for v in uniq if v]
    try:
        joined = "\n".join(dates)
    except TypeError:
        return None
    if not _ISO_DATES.match(joined + "\n" if dates else ""):
        return None
    try:
        list(map(_dt.date.fromisoformat, dates))  # day/month ranges
    except ValueError:
        return None
    out = build(dates)
    for v in uniq:
        if not v:
            out[v] = empty
    return out



def _column_values(col: Column, profile: Profile, ps: Sequence[Participant], events: dict[int, str],
                   neutral: bool, warn: Callable[[str], None], empty: str | None,
                   fields: dict[str, list[Any]], row_of: Callable[[int], int] = int) -> list[str | None]:
    """One column of the output, top to bottom (column-wise: about 4x faster than cell by cell).
    ``empty`` is what an empty cell holds: None for :func:`participants_to_rows`, ``""`` for the writers
    (which then join rows without a per-cell check). ``row_of``: the file row of the value at spreadsheet
    row r of ``ps`` (when ``ps`` are only some of the file's rows, as in a write from a row cache)."""
    header = col.header
    if col.source == "event_id" and col.event == "order" and not events:
        warn(f"column {header!r}: no race known (--race, or a pulled file's binding), so RaceEntry's event ids are "
             f"written instead of numbers 1..n in the race's event order")
    if col.source == "event_id" and (col.event or "id") != "id" and (col.event != "order" or events):
        table = event_table(col, profile, events)
        what = "--race FILE" if col.event in ("name", "order") else "[event_map]"
        ids = fields["event_id"]
        missing = sorted({e for e in ids if e is not None and e not in table})
        if missing and table:
            warn(f"column {header!r}: event(s) {', '.join(map(str, missing))} not in {what}; their cells are "
                 f"left blank")
        values: list[str | None] = [empty if e is None else table.get(e, empty) for e in ids]
    else:
        values = _base_values(col, ps, empty, fields)
    if col.type == "date":
        fmt = col.date_format or "%Y-%m-%d"
        # One conversion per distinct value, then a C-level lookup per cell.
        lookup = _date_lookup(set(values), fmt, empty)
        if lookup is None:
            lookup = {}
            for v in set(values):
                lookup[v] = _date_out(v, fmt) if v else empty
            for r, v in enumerate(values, start=2):
                if v and lookup[v] is None:
                    warn(f"row {row_of(r)}, column {header!r}: {v!r} is not a YYYY-MM-DD date; written unchanged")
            lookup = {k: (k if d is None else d) for k, d in lookup.items()}
        values = list(map(lookup.__getitem__, values))
    elif col.map or col.blank is not None:
        mapping, blank = col.map, (col.blank or empty)
        lookup = {v: (mapping.get(v, v) if v else blank) for v in set(values)}
        lacking = sorted(v for v in lookup if v and v not in mapping) if mapping else []
        if lacking and col.other is not None:
            # A non-binary gender in a program that holds M and F only: written as the program expects
            # (the profile's `other`), said once; read back, it is compared as written (as_written).
            for v in lacking:
                lookup[v] = col.other or empty
            changed = [v for v in lacking if v != col.other]
            n = sum(1 for v in values if v in changed)
            if n:
                warn(f"{header!r}: {n} value{'s' if n > 1 else ''} {profile.target} has no code for "
                     f"({', '.join(map(repr, changed))}) written as {col.other!r}")
        elif lacking:
            for r, v in enumerate(values, start=2):
                if v and v not in mapping:
                    warn(f"row {row_of(r)}, column {header!r}: {v!r} has no value in the profile's map; "
                         f"written unchanged")
        values = list(map(lookup.__getitem__, values))
    width = col.max_width
    # The column joined once (writers: every cell is text) for the C-level scans below.
    joined = "\n" + "\n".join(values) if empty == "" and (width is not None or neutral) else None
    if width is not None and (_too_wide(width).search(joined) if joined is not None
                              else max(map(len, filter(None, values)), default=0) > width):
        for r, v in enumerate(values, start=2):
            if v and len(v) > width:
                warn(f"row {row_of(r)}, column {header!r}: {v!r} is longer than the {width} characters "
                     f"{profile.target} holds; it may be cut short there")
    if neutral:
        values = _guard(col, values, empty, profile.encoding.lower().replace("-", "") in ("cp1252", "windows1252"),
                        warn, profile.target if profile.reads_csv_directly else None, joined, row_of)
    return values


@functools.lru_cache(maxsize=None)
def _too_wide(width: int) -> "re.Pattern[str]":
    """A line of a joined column longer than ``width`` characters (tried at line starts only: one pass)."""
    return re.compile("\n[^\n]{%d}" % (width + 1))


_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ().\-/]*(\s*(x|ext\.?)\s*[0-9]+)?\Z", re.IGNORECASE)


def _guard(col: Column, values: list[str | None], empty: str | None, cp1252: bool,
           warn: Callable[[str], None], direct: str | None = None, joined: str | None = None,
           row_of: Callable[[int], int] = int) -> list[str | None]:
    """Values a spreadsheet would run as a formula, with a leading ``'`` (OWASP), each one reported. In
    every column: one marked ``neutralize = false`` (a phone) keeps a value raw only when it looks like a
    phone number. For a Windows-1252 file the test is made on the transliterated value (a full-width
    "＝1+1" becomes a live "=1+1" otherwise). ``direct``: the program that imports the file as it is (it
    will show the guard), named in the warning."""
    from .charsets import to_cp1252

    trig = _TRIGGERS_OR_QUOTE
    if joined is not None:
        check_translit = cp1252 and not joined.isascii()
        if not check_translit and not _LINE_TRIGGER.search(joined):
            return values
    else:
        check_translit = cp1252 and any(v and not v.isascii() for v in values)
        if not _may_trigger(values, empty) and not check_translit:
            return values
    raw_ok = col.neutralize is False
    out = list(values)
    rows: Iterable[tuple[int, str | None]] = enumerate(values, start=2)
    if joined is not None and not check_translit and joined.count("\n") == len(values):
        rows = _trigger_rows(joined, values)  # only the rows the scan found, not 50,000 in Python
    for r, v in rows:
        if not v:
            continue
        first = v[0] if v.isascii() or not check_translit else (to_cp1252(v)[:1] or v[0])
        if first not in trig or (raw_ok and _PHONE_LIKE.match(v)):
            continue
        out[r - 2] = neutralize(v) if v[0] in trig else "'" + v
        if v.lstrip("'")[:1] in TRIGGERS or first != v[0]:  # a quote that only doubles one is not news
            warn(f"row {row_of(r)}, {col.header!r}: {v!r} written as {out[r - 2]!r} (else a formula"
                 + (f"; {direct} shows the ')" if direct else ")"))
    return out


def _trigger_rows(joined: str, values: list[str | None]) -> Iterable[tuple[int, str | None]]:
    """(spreadsheet row, value) of each value starting with a trigger, found by one regex scan of the
    joined column (``"\n" + "\n".join(values)``, no value holding a newline)."""
    row, at = 1, 0
    for m in _LINE_TRIGGER.finditer(joined):
        row += joined.count("\n", at, m.start() + 1)
        at = m.start() + 1
        yield row, values[row - 2]


_TRIGGERS_OR_QUOTE = frozenset(TRIGGERS + ("'",))
_LINE_TRIGGERS = tuple("\n" + t for t in _TRIGGERS_OR_QUOTE)
_LINE_TRIGGER = re.compile("\n[" + re.escape("".join(_TRIGGERS_OR_QUOTE)) + "]")


def _may_trigger(values: list[str | None], empty: str | None) -> bool:
    """Whether some value starts with a formula trigger or ``'``: one join and seven substring searches
    instead of a Python-level test per cell (a value holding a newline may give a false alarm; never a miss)."""
    if empty != "":
        return True
    joined = "\n" + "\n".join(values)
    return any(t in joined for t in _LINE_TRIGGERS)


def as_written(participants: Iterable[Participant], reference: Iterable[Participant], profile: Profile) -> None:
    """Compare as written: in a column with an ``other`` code, a value read back from that code stands for
    the reference's (the base's, or RaceEntry's) value it was written from, so that value is put back; a
    non-binary gender written "U" for The Race Director is no edit to push as blank."""
    columns = [c for c in profile.columns if c.kind == "field" and c.other is not None]
    if not columns:
        return
    by_id = {p.registration_id: p for p in reference if p.registration_id}
    for col in columns:
        other = col.other.casefold()
        back = "" if not other or (col.blank and col.blank.casefold() == other) else col.other
        for p in participants:
            ref = by_id.get(p.registration_id) if p.registration_id else None
            if ref is None:
                continue
            was = getattr(ref, col.source)
            if was and was not in col.map and (getattr(p, col.source) or "") == back:
                setattr(p, col.source, was)


def participants_to_rows(participants: Iterable[Participant], profile: Profile | str, race: Any = None,
                         neutralize: bool = True) -> tuple[list[str], list[list[str | None]], list[str]]:
    """Participants -> (header, rows of text, warnings) for ``profile``.

    ``neutralize`` applies the profile's formula-injection policy (per-column ``neutralize = false`` wins).
    """
    if isinstance(profile, str):
        profile = load_profile(profile)
    header, rows, warnings = _rows(participants, profile, race, neutralize)
    return header, [list(r) for r in rows], warnings


def _columns(participants: Iterable[Participant], profile: Profile, race: Any, neutral: bool,
             empty: str | None = None, row_of: Callable[[int], int] = int
             ) -> tuple[list[str], list[list[str | None]], list[str]]:
    """The output column by column (each a list, top to bottom), with the warnings."""
    ps = participants if isinstance(participants, (list, tuple)) else list(participants)
    warnings: list[str] = []
    if profile.extra_columns:  # every field the profile has no column for gets one (nothing RaceEntry sent is lost)
        profile = with_extra_columns(profile, dict.fromkeys(k for p in ps for k in p.extra))
    events = race_events(race)
    needs_race = [c.header for c in profile.columns if c.source == "event_id" and c.event == "name"]
    if needs_race and not events:
        warnings.append(f"no --race given: column(s) {', '.join(repr(h) for h in needs_race)} (event names) "
                        f"are left blank")
    fields = _field_columns(ps, [c.source for c in profile.columns if c.kind == "field"])
    columns = [_column_values(c, profile, ps, events, neutral, warnings.append, empty, fields, row_of)
               for c in profile.columns]
    return profile.headers, columns, warnings


def _rows(participants: Iterable[Participant], profile: Profile, race: Any, neutral: bool,
          empty: str | None = None, row_of: Callable[[int], int] = int
          ) -> tuple[list[str], list[tuple[str | None, ...]], list[str]]:
    """:func:`participants_to_rows` with rows as tuples (what the writers need; saves a copy per row).
    ``empty=""`` gives empty cells as ``""`` instead of None (all-text rows join in one call)."""
    header, columns, warnings = _columns(participants, profile, race, neutral, empty, row_of)
    return header, list(zip(*columns)), warnings


def teams_to_rows(teams: Iterable[Team], profile: Profile, neutral: bool = True
                  ) -> tuple[list[str], list[list[str | None]]]:
    """Teams -> (header, rows) for the profile's ``[teams]`` table."""
    cols = profile.team_columns
    rows = []
    for t in teams:
        row = []
        for c in cols:
            value = _cell(getattr(t, c.source))
            if value and neutral and c.neutralize is not False:
                value = neutralize(value)
            row.append(value)
        rows.append(row)
    return [c.header for c in cols], rows


def write_file(path: str | os.PathLike, participants: Sequence[Participant], profile: Profile | str,
               race: Any = None, teams: Sequence[Team] | None = None, kind: str | None = None,
               cache: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Write participants (and the teams table, when the profile declares one and ``teams`` is given)
    as CSV, tab-delimited TXT or XLSX. Atomic: readers see the old file or the new one. Returns warnings.

    ``cache``: the CSV/TXT rows rendered by an earlier write of this file with this profile and race, by
    registration id (sync's rounds keep one per file): only the participants not in it are rendered (and
    added to it), and their warnings name their rows in the file. Ignored for XLSX and for profiles whose
    columns vary with the data (``extra_columns``)."""
    with gc_paused():
        return _write_file(path, participants, profile, race, teams, kind, cache)


def _cached_rows(participants: Sequence[Participant], profile: Profile, race: Any, neutral: bool,
                 cache: dict[str, tuple[str, ...]]) -> tuple[list[str], list[tuple[str, ...]], list[str]]:
    """The rows of ``participants``, rendering only those ``cache`` lacks (and keeping them in it)."""
    todo = [i for i, p in enumerate(participants) if not p.registration_id or p.registration_id not in cache]
    header, fresh, warnings = _rows([participants[i] for i in todo], profile, race, neutral, empty="",
                                    row_of=lambda r: todo[r - 2] + 2)
    made = dict(zip(todo, fresh))
    for i, row in made.items():
        if participants[i].registration_id:
            cache[participants[i].registration_id] = row
    rows = [made[i] if i in made else cache[p.registration_id] for i, p in enumerate(participants)]
    return header, rows, warnings


def _write_file(path: str | os.PathLike, participants: Sequence[Participant], profile: Profile | str,
                race: Any, teams: Sequence[Team] | None, kind: str | None,
                cache: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    if isinstance(profile, str):
        profile = load_profile(profile)
    kind = kind_of(path, kind)
    if kind not in profile.kinds:
        raise ProfileError(f"profile {profile.name} writes {', '.join(profile.kinds)}, not {kind}")
    neutral = guarded(profile, kind)
    rows: Sequence[Any] | None = None
    if cache is not None and kind != "xlsx" and not profile.extra_columns:
        header, rows, warnings = _cached_rows(participants, profile, race, neutral, cache)
    else:
        header, columns, warnings = _columns(participants, profile, race, neutral, empty="")
    team_table = None
    if teams is not None:
        if profile.team_columns:
            team_table = teams_to_rows(teams, profile, neutral=neutral)
        elif teams:
            warnings.append(f"profile {profile.name} has no [teams] table; {len(teams)} teams not written")
    if kind == "xlsx":
        from .xlsx_write import write_xlsx

        sheets = [_sheet("Participants", header, [], profile.columns, columns)]
        if team_table is not None:
            sheets.append(_sheet("Teams", team_table[0], team_table[1], profile.team_columns))
        write_xlsx(path, sheets)
        return warnings
    from .delimited_write import write_rows

    delimiter = "\t" if kind == "txt" else profile.delimiter
    if team_table is not None:
        warnings += [f"{teams_path(path).name}: {w}" for w in
                     write_rows(teams_path(path), team_table[0], team_table[1], delimiter, profile.line_ending,
                                profile.encoding)]
    warnings += write_rows(path, header, _RowView(columns) if rows is None else rows, delimiter, profile.line_ending,
                           profile.encoding)
    return warnings


class _RowView(abc.Sequence):
    """The rows of a column-wise table, without building them: iterating zips the columns (C-level);
    indexing makes the one row asked for (the few rows a writer quotes or fixes)."""

    def __init__(self, columns: list[list[str | None]]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __iter__(self) -> Any:
        return zip(*self.columns)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return list(zip(*(c[i] for c in self.columns)))
        return tuple(c[i] for c in self.columns)


def _sheet(name: str, header: list[str], rows: list[list[str | None]], cols: Sequence[Column],
           columns: list[list[str | None]] | None = None) -> Any:
    from .xlsx_write import Sheet

    text = {i for i, c in enumerate(cols) if c.type == "code"}
    numbers = {i for i, c in enumerate(cols) if c.type == "int"}
    dates = {i: c.date_format or "%Y-%m-%d" for i, c in enumerate(cols) if c.xlsx_date}
    return Sheet(name, header, rows, text, numbers, dates, columns)

