"""Participants and teams <-> rows <-> files, both directions derived from ONE profile declaration.

JSON -> canonical records (model) -> profile -> rows -> CSV/TXT/XLSX, and back the same way: the reader
finds the profile's columns by header (case, spaces and punctuation ignored, any order, unknown columns
ignored) and undoes every transformation the writer applied (value maps, date formats, event naming,
formula neutralisation), repairing what spreadsheets do to files (bib 50004 -> 50004.0, ZIP 02134 -> 2134,
dates turned into date cells).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .errors import InputError, ProfileError, ShapeError
from .model import Participant, Team, as_flag, as_int, as_text
from .profiles import Column, Profile, load_profile, normalise_header

KINDS = ("csv", "txt", "xlsx")
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_INT_FIELDS = {"event_id", "age", "last_modified"}
_FLAG_FIELDS = {"checked_in"}
_FLOAT_INT = re.compile(r"-?[0-9]+\.0+\Z")
_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_US = {"", "US", "USA"}


@dataclass
class FileData:
    """What a file held, in canonical form."""

    participants: list[Participant]
    rows: list[int]  # 1-based spreadsheet row of each participant (header = row 1)
    teams: list[Team]
    warnings: list[str]
    present: set[str]  # canonical fields the file's columns carry
    team_rows: list[int] = field(default_factory=list)


# ------------------------------------------------------------------------------------ formula injection

def neutralize(value: str) -> str:
    """OWASP: prefix ``'`` to a value a spreadsheet would run as a formula. Values that already are
    apostrophes followed by a trigger get one more, so :func:`unneutralize` is an exact inverse."""
    if not value:
        return value
    rest = value.lstrip("'")
    if rest[:1] in _TRIGGERS and rest:
        return "'" + value
    return value


def unneutralize(value: str) -> str:
    """Inverse of :func:`neutralize`: drop exactly one leading ``'`` before (more ``'`` and) a trigger."""
    if value[:1] == "'":
        rest = value.lstrip("'")
        if rest and rest[0] in _TRIGGERS:
            return value[1:]
    return value


# ----------------------------------------------------------------------------------------------- races

def race_events(race: Any) -> dict[int, str]:
    """Event id -> name from a races response, ``{"race": {...}}``, one race object or a list of them."""
    out: dict[int, str] = {}
    if race is None:
        return out
    if isinstance(race, dict) and isinstance(race.get("races"), list):
        race = race["races"]
    items = race if isinstance(race, list) else [race]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("race"), dict):
            item = item["race"]
        if not isinstance(item, dict):
            raise ShapeError("race: expected a races response or a race object")
        for ev in item.get("events") or ():
            if isinstance(ev, dict) and ev.get("event_id") is not None:
                eid = as_int(ev.get("event_id"), "race.events.event_id")
                if eid is not None:
                    out[eid] = as_text(ev.get("name")) or str(eid)
    return out


def race_event_order(race: Any) -> list[int]:
    return list(race_events(race))


# --------------------------------------------------------------------------------------------- writing

def _date_out(value: str, fmt: str) -> str | None:
    try:
        return _dt.date.fromisoformat(value).strftime(fmt)
    except ValueError:
        return None


def _getter(col: Column) -> Callable[[Participant], Any]:
    if col.kind == "field":
        return lambda p, name=col.source: getattr(p, name)
    if col.kind == "extra":
        return lambda p, key=col.source: p.extra.get(key)
    fmt = col.source
    names = col.template_fields

    def template(p: Participant) -> str:
        values = {n: (as_text(p.get(n)) or "") for n in names}
        return " ".join(fmt.format(**values).split())
    return template


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (dict, list)):
        import orjson

        return orjson.dumps(value).decode()
    return as_text(value)


def _column_writer(col: Column, profile: Profile, events: dict[int, str], neutral: bool,
                   warn: Callable[[str], None]) -> Callable[[Participant, int], str | None]:
    get = _getter(col)
    header = col.header
    do_neutral = neutral and col.neutralize is not False
    width = col.max_width

    def finish(value: str | None, row: int) -> str | None:
        if value is None:
            return None
        if width is not None and len(value) > width:
            warn(f"row {row}, column {header!r}: {value!r} is longer than the {width} characters "
                 f"{profile.target} holds; it may be cut short there")
        if do_neutral and value[:1] in _TRIGGERS_OR_QUOTE:
            value = neutralize(value)
        return value

    if col.source == "event_id":
        mode = col.event or "id"
        if mode == "id":
            return lambda p, row: finish(None if p.event_id is None else str(p.event_id), row)
        table = events if mode == "name" else profile.event_map
        what = "--race FILE" if mode == "name" else "[event_map]"
        missing: set[Any] = set()

        def event_value(p: Participant, row: int) -> str | None:
            if p.event_id is None:
                return None
            name = table.get(p.event_id)
            if name is None:
                if p.event_id not in missing:
                    missing.add(p.event_id)
                    warn(f"column {header!r}: event {p.event_id} is not in {what}; its cells are left blank")
                return None
            return finish(str(name), row)
        return event_value

    if col.type == "date":
        fmt = col.date_format or "%Y-%m-%d"

        def date_value(p: Participant, row: int) -> str | None:
            value = get(p)
            if not value:
                return None
            out = _date_out(value, fmt)
            if out is None:
                warn(f"row {row}, column {header!r}: {value!r} is not a YYYY-MM-DD date; written unchanged")
                out = value
            return finish(out, row)
        return date_value

    if col.map or col.blank is not None:
        mapping = col.map
        blank = col.blank or None

        def mapped(p: Participant, row: int) -> str | None:
            value = _cell(get(p))
            if not value:
                return blank
            out = mapping.get(value)
            if out is None:
                if mapping:
                    warn(f"row {row}, column {header!r}: {value!r} has no value in the profile's map; "
                         f"written unchanged")
                out = value
            return finish(out, row)
        return mapped

    return lambda p, row: finish(_cell(get(p)), row)


_TRIGGERS_OR_QUOTE = _TRIGGERS + ("'",)


def participants_to_rows(participants: Iterable[Participant], profile: Profile | str, race: Any = None,
                         neutralize: bool = True) -> tuple[list[str], list[list[str | None]], list[str]]:
    """Participants -> (header, rows of text, warnings) for ``profile``.

    ``neutralize`` applies the profile's formula-injection policy (per-column ``neutralize = false`` wins).
    """
    if isinstance(profile, str):
        profile = load_profile(profile)
    warnings: list[str] = []
    events = race_events(race)
    needs_race = [c.header for c in profile.columns if c.source == "event_id" and c.event == "name"]
    if needs_race and not events:
        warnings.append(f"no --race given: column(s) {', '.join(repr(h) for h in needs_race)} (event names) "
                        f"are left blank")
    writers = [_column_writer(c, profile, events, neutralize, warnings.append) for c in profile.columns]
    rows = [[w(p, r) for w in writers] for r, p in enumerate(participants, start=2)]
    return profile.headers, rows, warnings


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


def kind_of(path: str | os.PathLike, kind: str | None = None) -> str:
    if kind:
        if kind not in KINDS:
            raise ProfileError(f"unknown file kind {kind!r}; choose csv, txt or xlsx")
        return kind
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in KINDS:
        raise InputError(f"cannot tell the file kind from {Path(path).suffix or 'no extension'!r}; "
                         f"use .csv, .txt or .xlsx", file=str(path))
    return ext


def teams_path(path: str | os.PathLike) -> Path:
    """``<stem>-teams.<ext>`` beside a CSV/TXT file: where its teams table goes."""
    p = Path(path)
    return p.with_name(f"{p.stem}-teams{p.suffix}")


def _neutralised(profile: Profile, kind: str) -> bool:
    return kind == "xlsx" or profile.neutralize_csv


def write_file(path: str | os.PathLike, participants: Sequence[Participant], profile: Profile | str,
               race: Any = None, teams: Sequence[Team] | None = None, kind: str | None = None) -> list[str]:
    """Write participants (and the teams table, when the profile declares one and ``teams`` is given)
    as CSV, tab-delimited TXT or XLSX. Atomic: readers see the old file or the new one. Returns warnings."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    kind = kind_of(path, kind)
    if kind not in profile.kinds:
        raise ProfileError(f"profile {profile.name} writes {', '.join(profile.kinds)}, not {kind}")
    neutral = _neutralised(profile, kind)
    header, rows, warnings = participants_to_rows(participants, profile, race, neutralize=neutral)
    team_table = None
    if teams is not None:
        if profile.team_columns:
            team_table = teams_to_rows(teams, profile, neutral=neutral)
        elif teams:
            warnings.append(f"profile {profile.name} has no [teams] table; {len(teams)} teams not written")
    if kind == "xlsx":
        from .xlsx import Sheet, write_xlsx

        sheets = [_sheet("Participants", header, rows, profile.columns)]
        if team_table is not None:
            sheets.append(_sheet("Teams", team_table[0], team_table[1], profile.team_columns))
        write_xlsx(path, sheets)
        return warnings
    from .tabular import write_rows

    delimiter = "\t" if kind == "txt" else profile.delimiter
    if team_table is not None:
        warnings += [f"{teams_path(path).name}: {w}" for w in
                     write_rows(teams_path(path), team_table[0], team_table[1], delimiter, profile.line_ending,
                                profile.encoding)]
    warnings += write_rows(path, header, rows, delimiter, profile.line_ending, profile.encoding)
    return warnings


def _sheet(name: str, header: list[str], rows: list[list[str | None]], cols: Sequence[Column]) -> Any:
    from .xlsx import Sheet

    text = {i for i, c in enumerate(cols) if c.type == "code"}
    numbers = {i for i, c in enumerate(cols) if c.type == "int"}
    return Sheet(name, header, rows, text, numbers)


# --------------------------------------------------------------------------------------------- reading

def _locate(header: Sequence[str], cols: Sequence[Column], profile: Profile, file: str,
            what: str = "") -> dict[int, int]:
    """Profile column index -> file column index; missing required columns -> one InputError."""
    where: dict[str, int] = {}
    for i, h in enumerate(header):
        key = normalise_header(h)
        if key and key not in where:
            where[key] = i
    found: dict[int, int] = {}
    missing = []
    for ci, col in enumerate(cols):
        if col.kind == "template":
            continue
        if col.key in where:
            found[ci] = where[col.key]
        elif col.required or col.source == "registration_id":
            missing.append(col.header)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise InputError(f"missing column{plural} {', '.join(repr(m) for m in missing)}{what} required by "
                         f"profile {profile.name}; found: {', '.join(repr(h) for h in header if h) or 'none'}",
                         file=file)
    return found


def _parse_date(text: str, fmt: str) -> str | None:
    for f in (fmt, "%Y-%m-%d"):
        try:
            return _dt.datetime.strptime(text, f).date().isoformat()
        except ValueError:
            continue
    # A date cell with a time part (2000-04-13 00:00:00) or written by a US/European spreadsheet.
    try:
        return _dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return None


def _fmt_hint(fmt: str) -> str:
    return fmt.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY").replace("%y", "YY")


def _reader(col: Column, profile: Profile, events: dict[int, str], neutral: bool, file: str
            ) -> Callable[[str, int], Any]:
    """A function (cell text, row number) -> canonical value for ``col``."""
    header = col.header
    undo = neutral and col.neutralize is not False
    source = col.source

    def text(raw: str) -> str:
        return unneutralize(raw) if undo and raw[:1] == "'" else raw

    if source == "event_id":
        mode = col.event or "id"
        if mode == "id":
            def event_id(raw: str, row: int) -> Any:
                try:
                    return as_int(raw.strip())
                except ShapeError:
                    raise InputError(f"{raw!r} is not an event id (a whole number)", file=file, row=row,
                                     column=header) from None
            return event_id
        table = events if mode == "name" else profile.event_map
        lookup = {str(v).strip().casefold(): k for k, v in table.items()}
        what = "the race's events (--race)" if mode == "name" else "the profile's [event_map]"

        def event_name(raw: str, row: int) -> Any:
            value = text(raw).strip()
            if _FLOAT_INT.match(value):
                value = value.split(".")[0]
            eid = lookup.get(value.casefold())
            if eid is None:
                known = ", ".join(repr(str(v)) for v in table.values()) or "none"
                raise InputError(f"unknown event {value!r}; not in {what} (known: {known})", file=file,
                                 row=row, column=header)
            return eid
        return event_name

    if col.type == "date":
        fmt = col.date_format or "%Y-%m-%d"

        def date(raw: str, row: int) -> Any:
            value = text(raw).strip()
            if not value:
                return None
            iso = _parse_date(value, fmt)
            if iso is None:
                raise InputError(f"{value!r} is not a date in the form {_fmt_hint(fmt)}", file=file, row=row,
                                 column=header)
            return iso
        return date

    if source in _INT_FIELDS:
        def integer(raw: str, row: int) -> Any:
            try:
                return as_int(raw.strip())
            except ShapeError:
                raise InputError(f"{raw!r} is not a whole number", file=file, row=row, column=header) from None
        return integer

    if source in _FLAG_FIELDS:
        def flag(raw: str, row: int) -> Any:
            try:
                return as_flag(raw)
            except ShapeError:
                raise InputError(f"{raw!r} is not T or F", file=file, row=row, column=header) from None
        return flag

    numeric = col.type in ("int", "code")
    extra_int = col.kind == "extra" and col.type == "int"
    reverse = col.reverse
    blank = col.blank.casefold() if col.blank else None
    is_gender = source == "gender"

    def plain(raw: str, row: int) -> Any:
        value = text(raw)
        if numeric and _FLOAT_INT.match(value):
            value = value.split(".")[0]
        if reverse or blank:
            folded = value.casefold()
            if blank and folded == blank:
                return ""
            value = reverse.get(folded, value)
        if extra_int and _INT_TEXT.match(value):
            return int(value)
        if value == "" and not is_gender:
            return None
        return value
    return plain


def rows_to_participants(header: Sequence[str], rows: Sequence[Sequence[str]], profile: Profile, race: Any = None,
                         file: str = "file", neutral: bool = True, first_row: int = 2) -> FileData:
    """Rows of text (header apart) -> canonical participants, via ``profile``."""
    events = race_events(race)
    found = _locate(header, profile.columns, profile, file)
    # An event id column wins over an event name/map column: it needs no lookup.
    event_cols = [ci for ci in found if profile.columns[ci].source == "event_id"]
    if len(event_cols) > 1:
        best = min(event_cols, key=lambda ci: {"id": 0, "map": 1, "name": 2}[profile.columns[ci].event or "id"])
        for ci in event_cols:
            if ci != best:
                del found[ci]
    for ci in found:
        col = profile.columns[ci]
        if col.source == "event_id" and col.event == "name" and not events:
            raise InputError(f"column {col.header!r} holds event names; pass --race FILE (the race with its "
                             f"events) so they can be matched to event ids", file=file)
    plan = [(fi, profile.columns[ci], _reader(profile.columns[ci], profile, events, neutral, file))
            for ci, fi in found.items()]
    setters = []
    for fi, col, read in plan:
        setters.append((fi, col.source, col.kind == "extra", read))
    zip_cols = [col for _, col, _ in plan if col.zero_pad and col.source == "zipcode"]
    pad = zip_cols[0].zero_pad if zip_cols else None
    participants: list[Participant] = []
    numbers: list[int] = []
    for r, row in enumerate(rows, start=first_row):
        if not any(row):
            continue
        p = Participant()
        n = len(row)
        for fi, source, is_extra, read in setters:
            raw = row[fi] if fi < n else ""
            value = read(raw, r) if raw or source == "gender" else None
            if is_extra:
                p.extra[source] = value
            else:
                setattr(p, source, value)
        if pad and p.zipcode and len(p.zipcode) < pad and p.zipcode.isdigit() \
                and (p.country_code or "").strip().upper() in _US:
            p.zipcode = p.zipcode.zfill(pad)
        participants.append(p)
        numbers.append(r)
    present = {col.source for _, col, _ in plan if col.kind == "field"}
    return FileData(participants, numbers, [], [], present)


def rows_to_teams(header: Sequence[str], rows: Sequence[Sequence[str]], profile: Profile, file: str,
                  neutral: bool = True) -> tuple[list[Team], list[int]]:
    where: dict[str, int] = {}
    for i, h in enumerate(header):
        where.setdefault(normalise_header(h), i)
    missing = [c.header for c in profile.team_columns if c.required and c.key not in where]
    if missing:
        raise InputError(f"teams table: missing column(s) {', '.join(repr(m) for m in missing)} required by "
                         f"profile {profile.name}", file=file)
    teams, numbers = [], []
    for r, row in enumerate(rows, start=2):
        if not any(row):
            continue
        t = Team()
        for c in profile.team_columns:
            i = where.get(c.key)
            raw = row[i] if i is not None and i < len(row) else ""
            if neutral and c.neutralize is not False:
                raw = unneutralize(raw)
            if c.type in ("int", "code") and _FLOAT_INT.match(raw):
                raw = raw.split(".")[0]
            if c.source == "last_modified":
                try:
                    setattr(t, c.source, as_int(raw.strip()))
                except ShapeError:
                    raise InputError(f"{raw!r} is not a whole number", file=file, row=r, column=c.header) from None
            else:
                setattr(t, c.source, raw or None)
        teams.append(t)
        numbers.append(r)
    return teams, numbers


def _split(table: list[list[str]], file: str) -> tuple[list[str], list[list[str]]]:
    if not table or not any(cell.strip() for cell in table[0]):
        if not any(any(row) for row in table):
            raise InputError("the file is empty; expected a header row and participants", file=file)
        raise InputError("row 1 is empty; expected the header row", file=file)
    return [h.strip() for h in table[0]], table[1:]


def read_file(path: str | os.PathLike, profile: Profile | str, race: Any = None,
              encoding: str | None = None) -> FileData:
    """Read a CSV/TXT/XLSX file written for ``profile`` (or edited by a person or timing program) back
    into canonical participants (and teams: the ``Teams`` sheet or ``<stem>-teams.<ext>``)."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    file = str(path)
    kind = kind_of(path)
    neutral = _neutralised(profile, kind)
    team_table: tuple[list[str], list[list[str]], str] | None = None
    if kind == "xlsx":
        from .xlsx import read_xlsx

        sheets = read_xlsx(path)
        header, rows = _split(sheets[0][1] if sheets else [], file)
        if profile.team_columns:
            for name, table in sheets[1:]:
                if name.strip().casefold() == "teams" and table:
                    team_table = (table[0], table[1:], f"{file} (sheet {name})")
    else:
        from .tabular import read_rows

        delimiter = "\t" if kind == "txt" else profile.delimiter
        header, rows = _split(read_rows(path, delimiter, encoding), file)
        tpath = teams_path(path)
        if profile.team_columns and tpath.is_file():
            table = read_rows(tpath, delimiter, encoding)
            if table:
                team_table = (table[0], table[1:], str(tpath))
    data = rows_to_participants(header, rows, profile, race, file, neutral)
    if team_table is not None:
        data.teams, data.team_rows = rows_to_teams(team_table[0], team_table[1], profile, team_table[2], neutral)
    return data
