"""A minimal, standards-conforming XLSX writer and a fast reader.

Writing: zipfile + hand-built SpreadsheetML (shared strings, a bold header, a frozen header pane, column
widths from the content, text-formatted cells for bib/chip/ZIP/phone so leading zeros survive when a
person edits them). For 50,000 x 25 cells this takes about a second where xlsxwriter takes 6.5-7.4 s
and pandas + openpyxl 18.6 s. Reading: python-calamine (Rust), falling back to openpyxl only when
calamine cannot read the file.

Before either reader sees a workbook, :func:`check_extent` streams its parts once: a workbook larger
than any race (``TIMERSYNC_MAX_ROWS`` rows, default 200,000, or its XML beyond 4 KB a row) is refused,
and a sheet whose cells lie far from each other (a character typed in row 1,048,576, a cell claimed at
XFD1048576) is read cell by cell instead of through calamine's grid of every row times every column
(which for XFD1048576 asks for 550 GB and aborts the process).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence
from xml.sax.saxutils import escape as _xml_escape

from .atomic import atomic_writer
from .errors import InputError

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Characters XML 1.0 cannot carry, and literal "_xHHHH_" (which readers decode): written as OOXML's
# _xHHHH_ escapes. CR is written as &#13; because XML parsers turn a literal CR into LF.
_SPECIAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)|\r")
_NUMBER = re.compile(r"(0|-?[1-9][0-9]{0,14})\Z")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

STYLE_BOLD = 1
STYLE_TEXT = 2
STYLE_DATE = 3  # the built-in short date format (14): a real date, shown in the reader's own style


def _special(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch == "\r":
        return "&#13;"
    if ch == "_":
        return "_x005F_"
    return f"_x{ord(ch):04X}_"


@dataclass
class Sheet:
    """One worksheet: ``rows`` hold text (``None``/``""`` = empty cell). Columns in ``text_columns`` get the
    Text number format; values in ``number_columns`` that are plain integers are written as numbers."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[str | None]]
    text_columns: set[int] = field(default_factory=set)
    number_columns: set[int] = field(default_factory=set)
    date_columns: dict[int, str] = field(default_factory=dict)  # column -> strptime format of its text: date cells
    columns: Sequence[Sequence[str]] | None = None  # the cells column by column ("" empty), instead of ``rows``


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]")


def _escape_column(values: list[str]) -> list[str]:
    """XML-escape a column; the checks run once on the joined column, so clean columns cost ~nothing."""
    joined = "\n".join(values)
    if "&" in joined or "<" in joined or ">" in joined:
        values = [_xml_escape(v) for v in values]
    if "_x" in joined or _CONTROL.search(joined):
        values = [_SPECIAL.sub(_special, v) for v in values]
    return values


BLOCK = 2000  # rows made and written at a time
WIDTH_SAMPLE = 5000  # column widths (display only) are taken from the first rows, not all 50,000


class SharedStrings(dict):
    """The workbook's shared strings, value -> index: ``sst[value]`` adds a value it has not seen (one
    C-level lookup per cell; only a new value runs Python)."""

    def __missing__(self, key: str) -> int:
        self[key] = n = len(self)
        return n


def _sheet_xml(sheet: Sheet, sst: SharedStrings) -> Iterator[str]:
    """One worksheet's XML, in pieces (a row at a time: a 50,000-row sheet is never one string); its
    strings are added to the workbook's shared-string table ``sst``.

    Shared strings rather than inline strings: the sheet XML is a third smaller, and calamine (and
    Excel) read it about 30% faster; repeated values (cities, events, genders) are stored once."""
    ncols = len(sheet.header)
    nrows = len(sheet.rows)
    letters = [column_letter(i) for i in range(max(ncols, 1))]
    widths = [len(str(h)) for h in sheet.header]
    header = _escape_column([str(h) for h in sheet.header])
    index = sst
    head = "".join(f'<c r="{letters[i]}1" t="s" s="{STYLE_BOLD}"><v>{index[h]}</v></c>'
                   for i, h in enumerate(header))
    # Column-wise preparation (values, escapes, date serials: one pass per column), then the cells are
    # made BLOCK rows at a time and streamed out, so the sheet's 850,000 cell strings never exist at once.
    rows = sheet.rows
    if sheet.columns is not None:
        transposed: Sequence[Sequence[str | None]] = sheet.columns
        nrows = len(transposed[0]) if ncols else 0
    else:
        if any(len(row) != ncols for row in rows):
            rows = [(tuple(row) + (None,) * ncols)[:ncols] for row in rows]
        transposed = list(zip(*rows)) if rows else [()] * ncols
    numbers = [str(r) for r in range(2, nrows + 2)]
    prepared = []
    for i in range(ncols):
        raw = transposed[i] if sheet.columns is not None else [v or "" for v in transposed[i]]  # writer: text
        widths[i] = max(widths[i], max(map(len, raw[:WIDTH_SAMPLE]), default=0))
        style = f' s="{STYLE_TEXT}"' if i in sheet.text_columns else ""
        kind = "date" if i in sheet.date_columns else "number" if i in sheet.number_columns else "text"
        serials = _date_serials(raw, sheet.date_columns[i]) if kind == "date" else None
        prepared.append((kind, letters[i], f'" t="s"{style}><v>', raw, _escape_column(raw), serials))
    del transposed
    last = f"{letters[ncols - 1]}{nrows + 1}" if ncols else "A1"
    cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{min(w, 60) + 2.7:.1f}" customWidth="1"'
                   + (f' style="{STYLE_TEXT}"' if i in sheet.text_columns else "") + "/>"
                   for i, w in enumerate(widths))
    yield (f'{_HEAD}<worksheet xmlns="{_NS}" xmlns:r="{_REL_NS}"><dimension ref="A1:{last}"/>'
           '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
           'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
           f'<sheetFormatPr defaultRowHeight="15"/>{"<cols>" + cols + "</cols>" if cols else ""}'
           f'<sheetData><row r="1">{head}</row>')
    number = _NUMBER.match
    for start in range(0, nrows, BLOCK):
        end = start + BLOCK
        nums = numbers[start:end]
        cell_columns = []
        for kind, letter, open_, raw, escaped, serials in prepared:
            vs, es = raw[start:end], escaped[start:end]
            if kind == "date":
                cells = [(f'<c r="{letter}{r}" s="{STYLE_DATE}"><v>{serials[v]}</v></c>' if v in serials else
                          f'<c r="{letter}{r}{open_}{index[e]}</v></c>') if v else ""
                         for r, v, e in zip(nums, vs, es)]
            elif kind == "number":
                cells = [(f'<c r="{letter}{r}"><v>{v}</v></c>' if number(v) else
                          f'<c r="{letter}{r}{open_}{index[e]}</v></c>') if v else ""
                         for r, v, e in zip(nums, vs, es)]
            else:
                cells = [f'<c r="{letter}{r}{open_}{index[e]}</v></c>' if e else "" for r, e in zip(nums, es)]
            cell_columns.append(cells)
        yield "".join([f'<row r="{r}">{"".join(cells)}</row>' for r, cells in zip(nums, zip(*cell_columns))])
    yield "</sheetData></worksheet>"


_STYLES = (f'{_HEAD}<styleSheet xmlns="{_NS}">'
           '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
           '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')


def _date_serials(values: list[str], fmt: str) -> dict[str, int]:
    """Text dates (in ``fmt``) -> Excel's day numbers (days since 1899-12-30); values that are no date in
    that format are left out (they stay text cells)."""
    from .dates import in_format

    out: dict[str, int] = {}
    for v in set(values):
        iso = in_format(v, fmt) if v else None
        if iso:
            day = _dt.date.fromisoformat(iso)
            # Excel counts a 29 February 1900 that never was: days before March 1900 are one lower.
            out[v] = (day - (_dt.date(1899, 12, 30) if day >= _dt.date(1900, 3, 1) else _dt.date(1899, 12, 31))).days
    return out


def _sheet_name(name: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("_", name).strip("'")[:31] or "Sheet"
    out, n = base, 1
    while out.casefold() in used:
        n += 1
        out = f"{base[:28]} {n}"
    used.add(out.casefold())
    return out


def xlsx_bytes_parts(sheets: Sequence[Sheet]) -> list[tuple[str, Iterable[str]]]:
    """The package's parts (name, XML) for ``sheets``; the first sheet is the active, first tab. A sheet's
    XML comes in pieces, made as it is written; the shared strings come last, once every sheet is made."""
    used: set[str] = set()
    names = [_sheet_name(s.name, used) for s in sheets]
    n = len(sheets)
    content = (f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
               '<Default Extension="xml" ContentType="application/xml"/>'
               '<Override PartName="/xl/workbook.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
               + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="application/'
                         f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(n))
               + '<Override PartName="/xl/styles.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
               '<Override PartName="/xl/sharedStrings.xml" '
               'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
               '</Types>')
    root_rels = (f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}"><Relationship Id="rId1" '
                 f'Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    workbook = (f'{_HEAD}<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><bookViews><workbookView activeTab="0"/>'
                '</bookViews><sheets>'
                + "".join(f'<sheet name="{_xml_escape(nm, {chr(34): "&quot;"})}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
                          for i, nm in enumerate(names))
                + "</sheets></workbook>")
    wb_rels = (f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
               + "".join(f'<Relationship Id="rId{i + 1}" Type="{_REL_NS}/worksheet" '
                         f'Target="worksheets/sheet{i + 1}.xml"/>' for i in range(n))
               + f'<Relationship Id="rId{n + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
               + f'<Relationship Id="rId{n + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
               + "</Relationships>")
    parts = [("[Content_Types].xml", content), ("_rels/.rels", root_rels), ("xl/workbook.xml", workbook),
             ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/styles.xml", _STYLES)]
    sst = SharedStrings()
    parts += [(f"xl/worksheets/sheet{i + 1}.xml", _sheet_xml(s, sst)) for i, s in enumerate(sheets)]

    def shared() -> Iterator[str]:  # read only after the sheets: they fill ``sst``
        # Strings are stored already XML-escaped (the dict keys); a leading/trailing space needs preserve.
        yield f'{_HEAD}<sst xmlns="{_NS}" count="{len(sst)}" uniqueCount="{len(sst)}">'
        yield "".join([f'<si><t xml:space="preserve">{e}</t></si>' for e in sst]) + "</sst>"

    parts.append(("xl/sharedStrings.xml", shared()))
    return parts


def write_xlsx(path: str | os.PathLike, sheets: Sequence[Sheet]) -> None:
    """Write ``sheets`` (first one first) as an .xlsx file, atomically."""
    parts = xlsx_bytes_parts(sheets)
    with atomic_writer(path, "wb") as fh:
        # compresslevel 1: the XML still shrinks ~10x, at a third of the default level's time.
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, xml in parts:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                level = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"  # 3.13 / 3.11
                setattr(info, level, 1)
                with zf.open(info, "w") as part:
                    _write_behind(part, [xml] if isinstance(xml, str) else xml)


def _write_behind(part: Any, pieces: Iterable[str]) -> None:
    """Write ``pieces`` to a zip member from a second thread while this one makes the next piece: zlib
    and the CRC release the GIL, so compressing a 50,000-row sheet (about 0.1 s) overlaps making it."""
    import queue
    import threading

    todo: queue.Queue = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def drain() -> None:
        while (data := todo.get()) is not None:
            if not failed:
                try:
                    part.write(data)
                except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
                    failed.append(exc)

    worker = threading.Thread(target=drain, name="xlsx-zip", daemon=True)
    worker.start()
    try:
        for piece in pieces:
            if failed:
                break
            todo.put(piece.encode("utf-8"))
    finally:
        todo.put(None)
        worker.join()
    if failed:
        raise failed[0]


# ---------------------------------------------------------------------------------------------- reading

def cell_text(value: Any) -> str:
    """A cell value as text: integer floats lose their ``.0`` (50004.0 -> "50004"), dates become ISO."""
    if value is None:
        return ""
    t = type(value)
    if t is str:
        return value
    if t is float:
        return str(int(value)) if value.is_integer() else repr(value)
    if t is bool:
        return "TRUE" if value else "FALSE"
    if t is int:
        return str(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def check_zip(path: str | os.PathLike) -> bool:
    """Raise for a file that is not a whole zip: CutShort when it starts like one (a copy interrupted) or a
    part is corrupt, InputError when it is something else altogether, or larger than any race. Returns
    :func:`check_extent`'s answer (it reads every part once, so each part's checksum is checked too)."""
    from .errors import CutShort

    file = str(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if not zipfile.is_zipfile(path):
        if magic == b"PK\x03\x04":
            raise CutShort("the file looks cut short (an incomplete .xlsx: the zip ends early); copy it again, "
                           "or open and re-save it in Excel", file=file)
        raise InputError("not an Excel .xlsx file (not a zip); save it as .xlsx, or as .csv and use that", file=file)
    return check_extent(path)


def read_xlsx(path: str | os.PathLike, raw: bool = False) -> list[tuple[str, list[list[Any]]]]:
    """Every worksheet as ``(name, rows of text)``, in workbook order. Row 1 of the sheet is rows[0].
    ``raw=True`` leaves calamine's cell values (numbers, dates) as they are, for the caller to turn
    into text with :func:`cell_text` only where needed (per cell, that loop cost a quarter of a read)."""
    file = str(path)
    if not os.path.exists(path):
        raise InputError("file not found", file=file)
    if os.path.getsize(path) == 0:
        raise InputError("the file is empty; expected an Excel .xlsx workbook", file=file)
    if check_zip(path):
        try:
            return _read_calamine(path, raw)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - any calamine failure (a Rust panic is a BaseException too):
            pass  # try the slower, more forgiving reader
    try:
        return _read_openpyxl(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"the workbook is damaged and cannot be read ({type(exc).__name__}: {exc}); open it in "
                         f"Excel or LibreOffice and save it again as .xlsx", file=file) from None


MAX_ROWS = 200_000  # rows a workbook may hold (TIMERSYNC_MAX_ROWS): four times the largest races
ROW_BYTES = 4096  # XML a row may take, on average, before the workbook counts as too large
GRID_CELLS = 5_000_000  # calamine's grid (rows x columns) allowed whatever the cells, about 160 MB
GRID_FACTOR = 8  # ... and beyond that, this many grid places per cell that is there
_ROW_REF = re.compile(rb'<row [^>]*?r="([0-9]+)"')
# A cell reference far out: a column of three letters or from BA on, or a row of six digits or more. A
# normal sheet has none, so the scan costs one failed match per cell (0.1 s for 50,000 x 48 cells).
_FAR_REF = re.compile(rb'r="(?:([A-Z]{3,}|[B-Z][A-Z])([0-9]+)|([A-Z]{1,2})([0-9]{6,}))"')  # no \b: it costs 4x
_CHUNK = 1 << 20


def max_rows() -> int:
    """The row limit: ``TIMERSYNC_MAX_ROWS`` when it is a positive whole number, else :data:`MAX_ROWS`."""
    value = os.environ.get("TIMERSYNC_MAX_ROWS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else MAX_ROWS


def column_number(letters: str) -> int:
    """A -> 1, Z -> 26, AA -> 27, XFD -> 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def check_extent(path: str | os.PathLike) -> bool:
    """Stream every part of the workbook once (never holding one whole) before a reader sees it.

    Raises InputError for a workbook larger than any race: more than :func:`max_rows` rows in a sheet, or
    more XML than ``ROW_BYTES`` a row (what a zip bomb unpacks to). Returns True when calamine may read it
    (its grid of rows x columns stays small beside the cells there are), False when some cell lies so far
    from the others (a stray character in row 1,048,576, a cell at XFD1048576) that only a reader keeping
    just the cells there are may be used."""
    from .errors import CutShort

    file = str(path)
    limit = max_rows()
    budget = limit * ROW_BYTES
    total = 0
    dense = True
    info = None
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                total, sparse = _scan_part(zf, info, file, limit, budget, total)
                dense = dense and not sparse
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        part = f"part {info.filename} is corrupt" if info is not None else str(exc)
        raise CutShort(f"the file looks cut short or damaged ({part}); copy it again, or re-save it in Excel",
                       file=file) from None
    return dense


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, limit: int, budget: int,
               total: int) -> tuple[int, bool]:
    """Stream one part (see :func:`check_extent`): (bytes unpacked so far, whether it is a sheet whose
    cells lie too far apart for calamine's grid)."""
    if info.file_size > budget - total:
        raise _too_large(file, f"its part {info.filename} unpacks to {info.file_size:,} bytes", limit)
    rows = cells = max_row = 0
    max_col = 52  # what no far reference found may reach (AZ)
    sheet = None
    tail = b""
    with zf.open(info) as part:
        while chunk := part.read(_CHUNK):
            total += len(chunk)
            if total > budget:
                raise _too_large(file, f"its parts unpack to more than {budget:,} bytes", limit)
            if sheet is None:
                sheet = b"worksheet" in chunk[:4096]  # <worksheet ...> opens a sheet's part
            if not sheet:
                continue
            data = tail + chunk
            cut = data.rfind(b"<")
            data, tail = (data, b"") if cut < 0 else (data[:cut], data[cut:])
            rows += data.count(b"<row")  # (and a <rowBreaks>: one more at most)
            cells += data.count(b"<c ")
            refs = _ROW_REF.findall(data)
            if refs:
                max_row = max(max_row, max(map(int, refs)))
            for far in _FAR_REF.findall(data):
                letters, digits = (far[0], far[1]) if far[0] else (far[2], far[3])
                max_col = max(max_col, column_number(letters.decode()))
                max_row = max(max_row, int(digits))
    if sheet and rows > limit:
        raise _too_large(file, f"a sheet has {rows:,} rows", limit)
    return total, bool(sheet) and max_row * max_col > max(GRID_CELLS, GRID_FACTOR * cells)


CHILD_TIMEOUT = 600.0  # seconds a child may take to read a workbook
CHILD_MEMORY = 8 << 30  # address space a child may use (where the system lets it be limited)
# The child: read the workbook as read_xlsx does; 0 when it could be read or was refused with an
# InputError (the caller's own read says why), 3 when memory ran out, anything else a crash.
_CHILD = """
import sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[2]), int(sys.argv[2])))
except (ImportError, ValueError, OSError):
    pass
from converters.errors import InputError
from converters.xlsx import read_xlsx
try:
    read_xlsx(sys.argv[1], raw=True)
except InputError:
    pass
except MemoryError:
    sys.exit(3)
"""


def read_isolated(path: str | os.PathLike, timeout: float | None = None) -> None:
    """Read the workbook once in a child process, so that a native library's crash on a hostile or
    damaged file (an abort, a segfault) or a read that runs out of memory or time costs the child, not
    the caller; raise InputError saying so. A workbook the child reads, or refuses with its own message,
    passes: the caller then reads it (and gives that message)."""
    import signal
    import subprocess
    import sys

    file = str(path)
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, os.fsencode(path), str(CHILD_MEMORY)], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=CHILD_TIMEOUT if timeout is None else timeout)
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"reading the workbook took over {exc.timeout:.0f} s and was stopped; open it in Excel "
                         f"or LibreOffice and save it again as .xlsx", file=file) from None
    code = done.returncode
    if code == 0 or (code == 1 and b"Traceback" in done.stderr):
        return  # read, refused with a message, or a Python error: the caller's own read reports it
    if code == 3:
        why = f"it needs more than {CHILD_MEMORY >> 30} GB of memory"
    elif code < 0:
        try:
            why = f"the XLSX reader crashed ({signal.Signals(-code).name})"
        except ValueError:
            why = f"the XLSX reader crashed (signal {-code})"
    else:
        why = f"the XLSX reader crashed (exit status {code})"
    raise InputError(f"the workbook cannot be read: {why}; open it in Excel or LibreOffice and save it "
                     f"again as .xlsx", file=file)


def _too_large(file: str, why: str, limit: int) -> InputError:
    return InputError(f"the workbook is larger than any race ({why}; the limit is {limit:,} rows, "
                      f"TIMERSYNC_MAX_ROWS); check it is the right file", file=file)


def _convert(rows: list[list[Any]]) -> list[list[str]]:
    conv = cell_text
    return [[v if type(v) is str else conv(v) for v in row] if row else row for row in rows]


def _read_calamine(path: str | os.PathLike, raw: bool = False) -> list[tuple[str, list[list[Any]]]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out = []
    for name in wb.sheet_names:
        sheet = wb.get_sheet_by_name(name)
        # skip_empty_area=False keeps leading empty rows/columns so row numbers match the spreadsheet.
        rows = sheet.to_python(skip_empty_area=False)
        out.append((name, rows if raw else _convert(rows)))
    return out


def _read_openpyxl(path: str | os.PathLike) -> list[tuple[str, list[list[str]]]]:
    import openpyxl

    with zipfile.ZipFile(path) as zf:
        inline = "xl/sharedStrings.xml" not in zf.namelist()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = [(ws.title, _convert(_cells_there(ws))) for ws in wb.worksheets]
    finally:
        wb.close()
    # openpyxl leaves OOXML's _xHHHH_ escapes in inline strings; in shared strings it decodes them,
    # except those of control characters (which XML cannot carry literally), so finish those.
    fix = _unescape if inline else _unescape_controls
    return [(name, [[fix(v) if "_x" in v else v for v in row] if row else row for row in rows])
            for name, rows in sheets]


_NO_ROW: list[Any] = []  # every row that holds nothing (shared: never changed by the readers' callers)
WIDE = 1024  # columns up to which rows are given one width, as calamine gives them


def _cells_there(ws: Any) -> list[list[Any]]:
    """A read-only openpyxl sheet's rows, keeping only the cells there are: rows with nothing as one shared
    empty list, nothing after the last value; the others as wide as the widest (``""`` where a cell is
    empty, as calamine reads them), or, past :data:`WIDE` columns, each as long as its last value.
    (``iter_rows`` fills every row to the widest and every gap with such rows: 16,384 cells a row, a
    million rows, for one cell at XFD1048576.)"""
    from openpyxl.worksheet._reader import WorkSheetParser

    found: dict[int, dict[int, Any]] = {}
    with ws._get_source() as src:  # the parser iter_rows itself uses, without its filling
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=ws.parent.epoch,
                                 date_formats=ws.parent._date_formats,
                                 timedelta_formats=ws.parent._timedelta_formats)
        for index, cells in parser.parse():
            there = {c["column"]: c["value"] for c in cells if c["value"] is not None and c["value"] != ""}
            if there and index >= 1:
                found.setdefault(index, {}).update(there)
    if not found:
        return []
    width = max(max(there) for there in found.values())
    rows: list[list[Any]] = [_NO_ROW] * max(found)
    for index, there in found.items():
        row = [""] * (width if width <= WIDE else max(there))
        for col, value in there.items():
            row[col - 1] = value
        rows[index - 1] = row
    return rows


_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(value: str) -> str:
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), value)


_ESCAPED_CONTROL = re.compile(r"_x(00[01][0-9A-Fa-f]|FFF[EF])_")


def _unescape_controls(value: str) -> str:
    return _ESCAPED_CONTROL.sub(lambda m: chr(int(m.group(1), 16)), value)
