"""Reading: CSV, tab-delimited TXT or XLSX -> rows -> canonical participants and teams, through a profile:
columns found by header (case, spaces and punctuation ignored, any order), every transformation the
writer applied undone, and what spreadsheets do to files repaired (50004.0, ZIP 2134, date cells,
double-encoded UTF-8). The writing direction is :mod:`converters.writer`."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import dates
from .errors import InputError, ShapeError
from .model import Participant, Team, as_flag, as_int, gc_paused
from .profiles import Column, Profile, load_profile, normalise_header, with_extra_columns
from .races import race_events
from .records import (INT_FIELDS, FLAG_FIELDS, FLOAT_INT, INT_TEXT, INT_LINES, STR_ONLY, FLOAT_ONLY, PARTICIPANT_ARGS,
                      FileData, unneutralize, kind_of, teams_path, guarded, event_table)

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


class _UnknownEvent(str):
    """An event name no event of the race has, left for the other event column to explain."""


class _AmbiguousEvent(str):
    """An event name several events of --race carry (a races response lists every race, and two races
    may each have a "5K"): left for the row's event id column to settle among ``ids``."""

    ids: tuple[int, ...]

    def __new__(cls, value: str, ids: Sequence[int]) -> "_AmbiguousEvent":
        self = super().__new__(cls, value)
        self.ids = tuple(ids)
        return self


def _ambiguous_message(name: str, ids: Sequence[int]) -> str:
    return (f"event {name!r} is ambiguous: events {', '.join(map(str, ids))} of --race all have that name; "
            f"fill in the event id column, or pass --race with only this race")


def _read_column(col: Column, values: list[str], rownums: list[int], profile: Profile, events: dict[int, str],
                 neutral: bool, file: str, lenient_events: bool = False, keep_bad_dates: bool = False) -> list[Any]:
    """One column of cell texts -> canonical values (inverse of :func:`_column_values`).

    ``keep_bad_dates``: a cell that is not a date is kept as its text instead of raising, for a diff to
    list the row as invalid while the other rows go on.
    ``lenient_events``: an unknown event name becomes an :class:`_UnknownEvent` instead of an error,
    for :func:`_merge_event_columns` to judge against the row's event id."""
    header = col.header
    source = col.source
    # The checks below run on the column joined once (C-level searches), so clean columns skip the
    # per-cell work; a value holding a newline can only cause a false alarm, never a miss.
    joined = "\n" + "\n".join(values) + "\n"
    if neutral and "\n'" in joined:
        values = [unneutralize(v) if v[:1] == "'" else v for v in values]
        joined = "\n" + "\n".join(values) + "\n"
    if (col.type in ("int", "code") or source == "event_id") and "." in joined:
        # A spreadsheet re-typed the number as a float: 50004.0 -> 50004.
        values = [v.split(".")[0] if "." in v and FLOAT_INT.match(v) else v for v in values]
        joined = "\n" + "\n".join(values) + "\n"

    def bad(i: int, message: str) -> InputError:
        return InputError(message, file=file, row=rownums[i], column=header)

    if source == "event_id" and (col.event or "id") != "id" and (col.event != "order" or events):
        table = event_table(col, profile, events)
        lookup: dict[str, Any] = {}
        for k, v in table.items():
            key = str(v).strip().casefold()
            if key in lookup:  # one name, several events: never resolve it to whichever came last
                have = lookup[key]
                lookup[key] = _AmbiguousEvent(str(v).strip(), (*(have.ids if isinstance(have, _AmbiguousEvent)
                                                                  else (have,)), k))
            else:
                lookup[key] = k
        if col.event == "order":  # a file written with event ids (before contest numbers): still read
            for k in table:
                lookup.setdefault(str(k), k)
        what = ("the race's events (--race)" if col.event in ("name", "order") else "the profile's [event_map]")
        out: list[Any] = []
        for i, v in enumerate(values):
            v = v.strip()
            if not v:
                out.append(None)
                continue
            eid = lookup.get(v.casefold())
            if isinstance(eid, _AmbiguousEvent) and not lenient_events:
                raise bad(i, _ambiguous_message(v, eid.ids))
            if eid is None and lenient_events:
                out.append(_UnknownEvent(v))
                continue
            if eid is None:
                known = ", ".join(repr(str(x)) for x in table.values()) or "none"
                raise bad(i, f"unknown event {v!r}; not in {what} (known: {known})")
            out.append(eid)
        return out
    if source in INT_FIELDS:
        if INT_LINES.match(joined):  # every cell a canonical integer or empty: as_int is int()
            return [int(v) if v else None for v in values] if "\n\n" in joined else list(map(int, values))
        out = []
        for i, v in enumerate(values):
            try:
                out.append(as_int(v.strip()))
            except ShapeError:
                raise bad(i, f"{v!r} is not {'an event id' if source == 'event_id' else 'a whole number'}") from None
        return out
    if source in FLAG_FIELDS:
        out = []
        for i, v in enumerate(values):
            try:
                out.append(as_flag(v))
            except ShapeError:
                raise bad(i, f"{v!r} is not T or F") from None
        return out
    if col.type == "date":
        fmt = col.date_format or "%Y-%m-%d"
        fast = dates.column(values, fmt)
        if fast is not None:
            return fast
        cache: dict[str, str | None] = {}
        out = []
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
                if iso is None and got.short:  # never a guessed century here
                    raise bad(i, f"{v!r} has a two-digit year (a spreadsheet shortened it): type the year "
                                 f"in full, or open the file with that column as Text")
                if iso is None and got.dates:
                    raise bad(i, f"{v!r} can be read as {' or '.join(got.dates)} (day and month either way): "
                                 f"type it as {dates.hint(fmt)}")
                if iso is None:
                    raise bad(i, f"{v!r} is not a date in the form {dates.hint(fmt)}")
            out.append(iso)
        return out
    reverse = col.reverse
    blank = col.blank.casefold() if col.blank else None
    if reverse or blank:
        mapped = []
        for v in values:
            f = v.casefold()
            mapped.append("" if blank and f == blank else reverse.get(f, v))
        values = mapped
    if source == "gender":
        return values  # RaceEntry's own blank gender is ""
    if col.kind == "extra" and col.type == "int":
        return [int(v) if INT_TEXT.match(v) else (v or None) for v in values]
    if not (reverse or blank) and "\n\n" not in joined:
        return values  # no empty cell
    return [v or None for v in values]


_IDS_OR_BLANK = {int, type(None)}


def _merge_event_columns(results: list[tuple[Column, list[Any]]], rownums: list[int], events: dict[int, str],
                         file: str, known: list[int | None] | None = None) -> list[Any]:
    """One event id per row from every event column read; columns that disagree are an error.

    An event name the race does not know (:class:`_UnknownEvent`) is an error (a typo). An id that is
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
        if any(isinstance(v, _AmbiguousEvent) for _, v in cells):
            ids = {v for _, v in cells if isinstance(v, int)}
            for n, (col, v) in enumerate(cells):
                if isinstance(v, _AmbiguousEvent):
                    fit = [x for x in v.ids if x in ids]
                    if len(fit) != 1:
                        raise InputError(_ambiguous_message(str(v), v.ids), file=file, row=rownums[i],
                                         column=col.header)
                    cells[n] = (col, fit[0])
        foreign = [v for _, v in cells if not isinstance(v, (_UnknownEvent, _AmbiguousEvent)) and v not in events]
        if foreign:
            merged.append(foreign[0])
            continue
        typo = next(((col, v) for col, v in cells if isinstance(v, _UnknownEvent)), None)
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
    spreadsheet cell values (numbers, dates) that :func:`converters.xlsx.cell_text` turns into text,
    column by column and only where a column holds any. ``consume``: ``rows`` (a list the caller has no
    further use for) is emptied once its columns are taken, so the rows and the texts of the cells read
    as numbers go before the participants are built (a 50,000-row file: about 25 MB less at the peak)."""
    events = race_events(race)
    if profile.extra_columns:  # a column the profile does not name holds a field RaceEntry sent: read it back
        profile = with_extra_columns(profile, (str(h).strip() for h in header if h is not None and str(h).strip()))
    found = _locate(header, profile.columns, profile, file)
    # Several event columns (e.g. RunScore's "Event" name and "Event ID") are all read and must agree
    # row by row: a timer who switches a runner by retyping the event name, leaving the id as it was,
    # must not have the switch silently ignored. A blank cell defers to the other column.
    event_cols = [ci for ci in found if profile.columns[ci].source == "event_id"]
    unread: list[int] = []  # file columns of event names left unread for want of the race's events
    for ci in event_cols:
        col = profile.columns[ci]
        if col.event == "name" and not events:
            if len(event_cols) > 1:
                unread.append(found.pop(ci))  # no race context to resolve names; the id column speaks alone
                continue
            raise InputError(f"column {col.header!r} holds event names; pass --race FILE (the race with its "
                             f"events) so they can be matched to event ids", file=file)
    if raw:
        from .xlsx import cell_text

        # A raw row is falsy-only when every cell is "" or None, or a 0 / False that has text ("0", "FALSE").
        kept = [(r, row) for r, row in enumerate(rows, start=first_row)
                if row and (any(row) or any(cell_text(v) for v in row))]
    else:
        kept = [(r, row) for r, row in enumerate(rows, start=first_row) if any(row)]
    rownums = [r for r, _ in kept]
    gaps: list[int] = []  # the first 8 blank rows between the first and last row kept
    blanks = rownums[-1] - first_row + 1 - len(rownums) if rownums else 0  # all of them
    if blanks:
        kept_rows = set(rownums)
        gaps = list(itertools.islice((r for r in range(first_row, rownums[-1]) if r not in kept_rows), 8))
    if gaps:
        shown = ", ".join(map(str, gaps)) + (f" and {blanks - 8} more" if blanks > 8 else "")
        if profile.stops_at_blank_row:
            raise InputError(f"row{'s' if blanks > 1 else ''} {shown} {'are' if blanks > 1 else 'is'} blank: "
                             f"{profile.target} stops importing at a blank row; delete the blank rows", file=file)
        blank_note = f"row{'s' if blanks > 1 else ''} {shown} {'are' if blanks > 1 else 'is'} blank (skipped)"
    else:
        blank_note = None
    width = max([len(header)] + [fi + 1 for fi in found.values()])
    body = [row if len(row) == width else (list(row) + [""] * (width - len(row)))[:width] for _, row in kept]
    table = list(zip(*body)) if body else [()] * width  # transposed: one tuple per file column
    n = len(body)
    del kept, body
    if consume and isinstance(rows, list):
        rows.clear()
    names: list[str] = []
    extras: list[str] = []
    canon_cols: list[list[Any]] = []
    extra_cols: list[list[Any]] = []
    event_results: list[tuple[Column, list[Any]]] = []
    warnings: list[str] = [blank_note] if blank_note else []
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
    del table  # each column is in ``texts`` now, and each goes as soon as it is read (50,000 rows: MBs)
    if raw:
        texts = _repair_mojibake(texts, profile, warnings)
    for ci in list(texts):
        values = texts.pop(ci)
        col = profile.columns[ci]
        result = _read_column(col, values, rownums, profile, events, neutral, file,
                              lenient_events=len(event_cols) > 1, keep_bad_dates=keep_bad_dates)
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
        canon_cols.append(_merge_event_columns(event_results, rownums, events, file, known))
    # Positional construction in field order: ~3x faster than keyword dicts for 50,000 rows.
    by_name = dict(zip(names, canon_cols))
    # One repeat() per missing field: map() draws from every iterable once per record.
    ordered = [by_name[f] if f in by_name else itertools.repeat(None, n) for f in PARTICIPANT_ARGS]
    participants = list(map(Participant, *ordered))  # no per-row argument tuple
    if extras:
        for p, vals in zip(participants, zip(*extra_cols)):
            p.extra = dict(zip(extras, vals))
    pad = next((profile.columns[ci].zero_pad for ci in found
                if profile.columns[ci].source == "zipcode" and profile.columns[ci].zero_pad), None)
    if pad:
        # Only a US ZIP code: another country's postcode (Sydney's 2000, Zurich's 8001) is kept as typed.
        from .countries import in_us, race_country

        where = race_country(race)
        padded = []
        for p, r in zip(participants, rownums):
            z = p.zipcode
            if z and len(z) < pad and z.isdigit() and in_us(p.country_code, where):
                p.zipcode = z.zfill(pad)
                padded.append((r, z, p.zipcode))
        if padded:
            r, z, fixed = padded[0]
            header_zip = next(profile.columns[ci].header for ci in found if profile.columns[ci].source == "zipcode")
            warnings.append(f"column {header_zip!r}: leading zeros restored on {len(padded)} US ZIP code"
                            f"{'s' if len(padded) > 1 else ''} a spreadsheet had stripped (first: row {r}, "
                            f"{z!r} -> {fixed!r})")
    used = set(found.values()) | set(unread)
    ignored = [h for i, h in enumerate(header) if h and i not in used]
    if unread:
        warnings.append(f"column {header[unread[0]]!r} (event names) was not read: no race given to match "
                        f"names to events (--race FILE); the event id column was used")
    if ignored:
        warnings.append(f"columns not in profile {profile.name} were ignored: {', '.join(map(repr, ignored))}")
    present = {profile.columns[ci].source for ci in found if profile.columns[ci].kind == "field"}
    return FileData(participants, rownums, [], warnings, present)


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
    from .errors import CutShort

    kind = Path(path).suffix.lower().lstrip(".")
    if kind == "xlsx":
        from .xlsx_guard import check_zip

        check_zip(path)
    elif kind in ("csv", "txt"):
        from .tabular import read_rows

        read_rows(path, "\t" if kind == "txt" else ",")
    elif kind == "json":
        from .jsonio import load_file

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
        from .tabular import read_rows

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

