"""The guards before a workbook is read: it is a whole zip (:func:`check_zip`), no larger than any race and
fit for calamine's grid (:func:`check_extent`), and, for the drop folder, readable in a child process
(:func:`read_isolated`), so a native reader's crash costs the child, not the caller.

:func:`check_extent` streams the workbook's parts once: a workbook larger than any race
(``TIMERSYNC_MAX_ROWS`` rows, default 200,000, or its XML beyond 4 KB a row) is refused, and a sheet whose
cells lie far from each other (a character typed in row 1,048,576, a cell claimed at XFD1048576) is read
cell by cell instead of through calamine's grid of every row times every column (which for XFD1048576
asks for 550 GB and aborts the process).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import zipfile
import zlib

from ..errors import CutShort, InputError


def check_zip(path: str | os.PathLike) -> bool:
    """Raise for a file that is not a whole zip: CutShort when it starts like one (a copy interrupted) or a
    part is corrupt, InputError when it is something else altogether, or larger than any race. Returns
    :func:`check_extent`'s answer (it reads every part once, so each part's checksum is checked too)."""
    file = str(path)
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if not zipfile.is_zipfile(path):
        if magic == b"PK\x03\x04":
            raise CutShort("the file looks cut short (an incomplete .xlsx: the zip ends early); copy it again, "
                           "or open and re-save it in Excel", file=file)
        raise InputError("not an Excel .xlsx file (not a zip); save it as .xlsx, or as .csv and use that", file=file)
    return check_extent(path)


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
from converters.files.xlsx import read_xlsx
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
    file = str(path)
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # above converters/
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
