"""Reading: CSV, tab-delimited TXT or XLSX -> rows -> canonical participants and teams, through a profile:
columns found by header (case, spaces and punctuation ignored, any order), every transformation the
writer applied undone, and what spreadsheets do to files repaired (50004.0, ZIP 2134, date cells,
double-encoded UTF-8). Each column's cells are read by :mod:`converters.files.cells`; this module finds the sheet,
the columns and the rows, and builds the participants. The writing direction is :mod:`converters.files.writer`."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping, Sequence

from .cells import merge_event_columns, read_column
from ..errors import InputError, ShapeError
from ..model import Participant, Team, as_int, gc_paused
from .profiles import Column, Profile, load_profile, normalise_header, with_extra_columns
from ..model.races import race_events
from .records import (FLOAT_INT, STR_ONLY, FLOAT_ONLY, PARTICIPANT_ARGS, FileData, unneutralize, kind_of,
                      teams_path, guarded)

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
    for ci, col in enumerate(cols):
        if ci in found or col.kind == "template" or not (col.required or col.source == "registration_id"):
            continue
        if col.source == "event_id" and any(cols[i].source == "event_id" for i in found):
            continue  # an event name (or map) column stands in for the event id column
        missing.append(col.header)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise InputError(f"missing column{plural} {', '.join(repr(m) for m in missing)}{what} required by "
                         f"profile {profile.name}; found: {', '.join(repr(h) for h in header if h) or 'none'}",
                         file=file)
    return found


def _repair_mojibake(columns: dict[int, list[str]], profile: Profile, warnings: list[str]) -> dict[int, list[str]]:
    """Workbook text that is UTF-8 once read as Windows-1252 ("LÃ³pez": a CSV opened in a spreadsheet with
    the wrong character set, then saved as .xlsx) turned back into what it said.

    CSV/TXT files get the same repair when decoded (tabular.decode). In a workbook the text arrives
    decoded, so the same strict whole-file test runs over every column read, joined."""
    joined = {ci: "\x1e".join(values) for ci, values in columns.items()}
    whole = "\x1d".join(joined.values())
    if whole.isascii():
        return columns
    from .charsets import undo_double_encoding

    fixed = undo_double_encoding(whole)
    parts = fixed.split("\x1d")
    if fixed == whole or len(parts) != len(joined):
        return columns
    out = dict(columns)
    repaired = []
    for (ci, before), after in zip(joined.items(), parts):
        if after != before:
            cells = after.split("\x1e")
            if len(cells) != len(columns[ci]):
                return columns
            out[ci] = cells
            repaired.append(profile.columns[ci].header)
    warnings.append(f"text saved with the wrong character set (e.g. 'Ã©' for 'é') was repaired in column(s) "
                    f"{', '.join(map(repr, repaired))}")
    return out


def rows_to_participants(header: Sequence[str], rows: Sequence[Sequence[Any]], profile: Profile, race: Any = None,
                         file: str = "file", neutral: bool = True, first_row: int = 2, raw: bool = False,
                         known_events: Mapping[str, int] | None = None, keep_bad_dates: bool = False,
                         consume: bool = False) -> FileData:
    """Rows of text (header apart) -> canonical participants, via ``profile``. ``raw=True``: rows hold
    spreadsheet cell values (numbers, dates) that :func:`converters.files.xlsx.cell_text` turns into text,
    column by column and only where a column holds any. ``consume``: ``rows`` (a list the caller has no
    further use for) is emptied once its columns are taken, so the rows and the texts of the cells read
    as numbers go before the participants are built (a 50,000-row file: about 25 MB less at the peak)."""
    events = race_events(race)
    if profile.extra_columns:  # a column the profile does not name holds a field RaceEntry sent: read it back
        profile = with_extra_columns(profile, (str(h).strip() for h in header if h is not None and str(h).strip()))
    found = _locate(header, profile.columns, profile, file)
    event_cols, unread = _event_columns(found, profile, events, file)
    kept = _kept_rows(rows, first_row, raw)
    rownums = [r for r, _ in kept]
    blank_note = _blank_rows(rownums, first_row, profile, file)
    table = _transposed(kept, max([len(header)] + [fi + 1 for fi in found.values()]))
    n = len(kept)
    del kept
    if consume and isinstance(rows, list):
        rows.clear()
    warnings: list[str] = [blank_note] if blank_note else []
    texts = _column_texts(found, table, raw)
    del table  # each column is in ``texts`` now, and each goes as soon as it is read (50,000 rows: MBs)
    if raw:
        texts = _repair_mojibake(texts, profile, warnings)
    participants = _participants(*_read_columns(texts, profile, rownums, events, neutral, file, known_events,
                                                lenient_events=len(event_cols) > 1, keep_bad_dates=keep_bad_dates),
                                 n)
    padded = _restore_zip_zeros(participants, rownums, profile, found, race)
    if padded:
        warnings.append(padded)
    warnings.extend(_column_notes(header, found, unread, profile))
    present = {profile.columns[ci].source for ci in found if profile.columns[ci].kind == "field"}
    return FileData(participants, rownums, [], warnings, present)


def _event_columns(found: dict[int, int], profile: Profile, events: dict[int, str],
                   file: str) -> tuple[list[int], list[int]]:
    """(the profile's event columns found, file columns of event names left unread for want of the race's
    events). Several event columns (e.g. RunScore's "Event" name and "Event ID") are all read and must
    agree row by row: a timer who switches a runner by retyping the event name, leaving the id as it was,
    must not have the switch silently ignored. A blank cell defers to the other column. Names without a
    race to match them to are an error, unless an id column can speak alone (then the names column is
    taken out of ``found``)."""
    event_cols = [ci for ci in found if profile.columns[ci].source == "event_id"]
    unread: list[int] = []
    for ci in event_cols:
        col = profile.columns[ci]
        if col.event == "name" and not events:
            if len(event_cols) > 1:
                unread.append(found.pop(ci))  # no race context to resolve names; the id column speaks alone
                continue
            raise InputError(f"column {col.header!r} holds event names; pass --race FILE (the race with its "
                             f"events) so they can be matched to event ids", file=file)
    return event_cols, unread


def _kept_rows(rows: Sequence[Sequence[Any]], first_row: int, raw: bool) -> list[tuple[int, Sequence[Any]]]:
    """(row number, row) of every row that holds anything."""
    if raw:
        from .xlsx import cell_text

        # A raw row is falsy-only when every cell is "" or None, or a 0 / False that has text ("0", "FALSE").
        return [(r, row) for r, row in enumerate(rows, start=first_row)
                if row and (any(row) or any(cell_text(v) for v in row))]
    return [(r, row) for r, row in enumerate(rows, start=first_row) if any(row)]


def _blank_rows(rownums: list[int], first_row: int, profile: Profile, file: str) -> str | None:
    """A note naming the blank rows between the first and last row kept (the first 8), or None; an error
    for a timing program that stops importing at a blank row."""
    gaps: list[int] = []  # the first 8 blank rows between the first and last row kept
    blanks = rownums[-1] - first_row + 1 - len(rownums) if rownums else 0  # all of them
    if blanks:
        kept_rows = set(rownums)
        gaps = list(itertools.islice((r for r in range(first_row, rownums[-1]) if r not in kept_rows), 8))
    if not gaps:
        return None
    shown = ", ".join(map(str, gaps)) + (f" and {blanks - 8} more" if blanks > 8 else "")
    if profile.stops_at_blank_row:
        raise InputError(f"row{'s' if blanks > 1 else ''} {shown} {'are' if blanks > 1 else 'is'} blank: "
                         f"{profile.target} stops importing at a blank row; delete the blank rows", file=file)
    return f"row{'s' if blanks > 1 else ''} {shown} {'are' if blanks > 1 else 'is'} blank (skipped)"


def _transposed(kept: list[tuple[int, Sequence[Any]]], width: int) -> list[tuple[Any, ...]]:
    """The kept rows, each padded or cut to ``width`` cells, as one tuple per file column."""
    body = [row if len(row) == width else (list(row) + [""] * (width - len(row)))[:width] for _, row in kept]
    return list(zip(*body)) if body else [()] * width


def _column_texts(found: dict[int, int], table: list[tuple[Any, ...]], raw: bool) -> dict[int, list[str]]:
    """Profile column index -> the texts of its file column's cells (spreadsheet values as their texts,
    a column at a time, only where a column holds any)."""
    texts: dict[int, list[str]] = {}
    for ci, fi in found.items():
        values = list(table[fi])
        if raw:
            types = set(map(type, values))
            if types == FLOAT_ONLY and all(map(float.is_integer, values)):
                values = list(map(str, map(int, values)))  # cell_text of whole numbers, in C
            elif types != STR_ONLY:
                from .xlsx import cell_text

                values = [v if type(v) is str else cell_text(v) for v in values]
        texts[ci] = values
    return texts


def _read_columns(texts: dict[int, list[str]], profile: Profile, rownums: list[int], events: dict[int, str],
                  neutral: bool, file: str, known_events: Mapping[str, int] | None, lenient_events: bool,
                  keep_bad_dates: bool) -> tuple[list[str], list[list[Any]], list[str], list[list[Any]]]:
    """Every column read (:func:`converters.files.cells.read_column`), each column's texts dropped from ``texts``
    as soon as it is: (fields, their values, extra fields, their values), the event columns merged into
    one ``event_id``."""
    names: list[str] = []
    extras: list[str] = []
    canon_cols: list[list[Any]] = []
    extra_cols: list[list[Any]] = []
    event_results: list[tuple[Column, list[Any]]] = []
    for ci in list(texts):
        values = texts.pop(ci)
        col = profile.columns[ci]
        result = read_column(col, values, rownums, profile, events, neutral, file,
                             lenient_events=lenient_events, keep_bad_dates=keep_bad_dates)
        if col.source == "event_id":
            event_results.append((col, result))
        elif col.kind == "extra":
            extras.append(col.source)
            extra_cols.append(result)
        else:
            names.append(col.source)
            canon_cols.append(result)
    if event_results:
        rids = canon_cols[names.index("registration_id")] if "registration_id" in names else None
        known = [known_events.get(r) for r in rids] if known_events and rids else None
        names.append("event_id")
        canon_cols.append(merge_event_columns(event_results, rownums, events, file, known))
    return names, canon_cols, extras, extra_cols


def _participants(names: list[str], canon_cols: list[list[Any]], extras: list[str], extra_cols: list[list[Any]],
                  n: int) -> list[Participant]:
    """The columns read, as ``n`` participants (the extra fields in each one's ``extra``)."""
    # Positional construction in field order: ~3x faster than keyword dicts for 50,000 rows.
    by_name = dict(zip(names, canon_cols))
    # One repeat() per missing field: map() draws from every iterable once per record.
    ordered = [by_name[f] if f in by_name else itertools.repeat(None, n) for f in PARTICIPANT_ARGS]
    participants = list(map(Participant, *ordered))  # no per-row argument tuple
    if extras:
        for p, vals in zip(participants, zip(*extra_cols)):
            p.extra = dict(zip(extras, vals))
    return participants


def _restore_zip_zeros(participants: list[Participant], rownums: list[int], profile: Profile,
                       found: dict[int, int], race: Any) -> str | None:
    """The leading zeros a spreadsheet stripped from US ZIP codes put back (when the profile pads them),
    and a note saying so, or None. Only a US ZIP code: another country's postcode (Sydney's 2000, Zurich's
    8001) is kept as typed."""
    pad = next((profile.columns[ci].zero_pad for ci in found
                if profile.columns[ci].source == "zipcode" and profile.columns[ci].zero_pad), None)
    if not pad:
        return None
    from ..countries import in_us, race_country

    where = race_country(race)
    padded = []
    for p, r in zip(participants, rownums):
        z = p.zipcode
        if z and len(z) < pad and z.isdigit() and in_us(p.country_code, where):
            p.zipcode = z.zfill(pad)
            padded.append((r, z, p.zipcode))
    if not padded:
        return None
    r, z, fixed = padded[0]
    header_zip = next(profile.columns[ci].header for ci in found if profile.columns[ci].source == "zipcode")
    return (f"column {header_zip!r}: leading zeros restored on {len(padded)} US ZIP code"
            f"{'s' if len(padded) > 1 else ''} a spreadsheet had stripped (first: row {r}, "
            f"{z!r} -> {fixed!r})")


def _column_notes(header: Sequence[str], found: dict[int, int], unread: list[int], profile: Profile) -> list[str]:
    """Notes on the file's columns not read: event names without a race, columns the profile lacks."""
    notes = []
    used = set(found.values()) | set(unread)
    ignored = [h for i, h in enumerate(header) if h and i not in used]
    if unread:
        notes.append(f"column {header[unread[0]]!r} (event names) was not read: no race given to match "
                     f"names to events (--race FILE); the event id column was used")
    if ignored:
        notes.append(f"columns not in profile {profile.name} were ignored: {', '.join(map(repr, ignored))}")
    return notes


def rows_to_teams(header: Sequence[str], rows: Sequence[Sequence[str]], profile: Profile, file: str,
                  neutral: bool = True) -> tuple[list[Team], list[int]]:
    """The Teams sheet's rows, read through the profile's team columns: (teams, their row numbers)."""
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
            if neutral:
                raw = unneutralize(raw)
            if c.type in ("int", "code") and FLOAT_INT.match(raw):
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


def participants_sheet(sheets: Sequence[tuple[str, list[list[Any]]]], profile: Profile) -> int:
    """Which sheet holds the participants: the first whose header row has the profile's registration id
    column and most of its other headers, whatever the order of the tabs (0 when none stands out)."""
    wanted = {c.key for c in profile.columns if c.kind != "template"}
    rid = next((c.key for c in profile.columns if c.source == "registration_id"), None)
    best, best_hits = 0, 0
    for i, (_, table) in enumerate(sheets):
        if not table:
            continue
        keys = {normalise_header(_cell_texts(table[0])[j]) for j in range(len(table[0]))}
        hits = len(keys & wanted)
        if rid in keys and hits > best_hits:
            best, best_hits = i, hits
    return best


def _split(table: list[list[str]], file: str) -> tuple[list[str], list[list[str]]]:
    if not table or not any(cell.strip() for cell in table[0]):
        if not any(any(row) for row in table):
            raise InputError("the file is empty; expected a header row and participants", file=file)
        raise InputError("row 1 is empty; expected the header row", file=file)
    return [h.strip() for h in table[0]], table[1:]


def _cell_texts(row: Sequence[Any]) -> list[str]:
    from .xlsx import cell_text

    return [v if type(v) is str else cell_text(v) for v in row]


def prefetch(path: str | os.PathLike) -> Future[Any] | None:
    """Start parsing an .xlsx file in a background thread; pass the result to :func:`read_file`.

    python-calamine parses without holding the GIL, so the parse (about half of reading a 50,000-row
    workbook) overlaps with whatever the caller does meanwhile: loading the snapshot, fetching RaceEntry.
    Returns None for CSV/TXT, which gain nothing."""
    if Path(path).suffix.lower() != ".xlsx" or not os.path.isfile(path):
        return None
    from .xlsx import read_xlsx

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="timersync-xlsx")
    future = pool.submit(read_xlsx, path, True)
    pool.shutdown(wait=False)
    return future


def check_complete(path: str | os.PathLike) -> None:
    """Raise CutShort when a dropped file looks incomplete (the same checks reading makes): a CSV/TXT row
    short of cells or a last line without its line ending, an .xlsx whose zip is incomplete, a .json
    that ends early."""
    from ..errors import CutShort

    kind = Path(path).suffix.lower().lstrip(".")
    if kind == "xlsx":
        from .xlsx_guard import check_zip

        check_zip(path)
    elif kind in ("csv", "txt"):
        from .delimited import read_rows

        read_rows(path, "\t" if kind == "txt" else ",")
    elif kind == "json":
        from ..jsonio import load_file

        try:
            load_file(path)
        except InputError as exc:
            if "unexpected end" in str(exc):
                raise CutShort(f"{exc} (the file looks cut short: copy it again)") from None


def read_file(path: str | os.PathLike, profile: Profile | str, race: Any = None,
              encoding: str | None = None, known_events: Mapping[str, int] | None = None,
              prefetched: Future[Any] | None = None, keep_bad_dates: bool = False) -> FileData:
    """Read a CSV/TXT/XLSX file written for ``profile`` (or edited by a person or timing program) back
    into canonical participants (and teams: the ``Teams`` sheet or ``<stem>-teams.<ext>``).

    ``known_events`` (registration id -> event id, from the snapshot the file was made from or from
    RaceEntry) settles rows whose event columns disagree: the column still holding the known event is
    the stale one, the other is the timer's edit. ``keep_bad_dates`` keeps a cell that is not a date as its
    text (for diff/push to list that row as invalid) instead of stopping at it."""
    with gc_paused():
        return _read_file(path, profile, race, encoding, known_events, prefetched, keep_bad_dates)


def _read_file(path: str | os.PathLike, profile: Profile | str, race: Any, encoding: str | None,
               known_events: Mapping[str, int] | None = None, prefetched: Future[Any] | None = None,
               keep_bad_dates: bool = False) -> FileData:
    if isinstance(profile, str):
        profile = load_profile(profile)
    file = str(path)
    kind = kind_of(path)
    neutral = guarded(profile, kind)
    team_table: tuple[list[str], list[list[str]], str] | None = None
    if kind == "xlsx":
        from .xlsx import read_xlsx

        sheets = prefetched.result() if prefetched is not None else read_xlsx(path, raw=True)
        index = participants_sheet(sheets, profile)
        if index:  # the participants are not the first sheet (a timer moved the Teams tab first)
            sheets = [sheets[index]] + sheets[:index] + sheets[index + 1:]
        first = sheets[0][1] if sheets else []
        raw = bool(first)
        if first:
            first = [_cell_texts(first[0])] + first[1:]
            if not any(cell.strip() for cell in first[0]):
                first = [_cell_texts(row) for row in first]  # the exact texts for the error message
        header, rows = _split(first, file)
        if profile.team_columns:
            for name, table in sheets[1:]:
                if name.strip().casefold() == "teams" and table:
                    table = [_cell_texts(row) for row in table]
                    team_table = (table[0], table[1:], f"{file} (sheet {name})")
    else:
        from .delimited import read_rows

        delimiter = "\t" if kind == "txt" else profile.delimiter
        header, rows = _split(read_rows(path, delimiter, encoding), file)
        tpath = teams_path(path)
        if profile.team_columns and tpath.is_file():
            table = read_rows(tpath, delimiter, encoding)
            if table:
                team_table = (table[0], table[1:], str(tpath))
    data = rows_to_participants(header, rows, profile, race, file, neutral, raw=kind == "xlsx" and raw,
                                keep_bad_dates=keep_bad_dates, known_events=known_events, consume=True)
    if team_table is not None:
        data.teams, data.team_rows = rows_to_teams(team_table[0], team_table[1], profile, team_table[2], neutral)
    data.file = file
    return data

