"""push --write-ids: the registration ids RaceEntry gave the added runners, written into the timer's own
file, so it carries them like a freshly pulled one. Atomic (temp file, rename), and refused when the file
changed since the push read it (someone saved it meanwhile: their edits win, the ids stay in the receipt).

CSV/TXT: only the lines of the added rows change; every other byte stays as it was (encoding, BOM,
quoting, line endings). XLSX: the id cells are set with openpyxl and the workbook saved again.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..atomic import file_sha256, write_bytes
from ..errors import InputError, PlanError
from .profiles import Profile, load_profile, normalise_header
from .reader import participants_sheet


def write_ids(path: str | Path, profile: Any, ids: dict[int, str], expected_sha: str) -> int:
    """Put ``ids`` (file row -> registration id) in the registration id column of ``path``. Returns how
    many cells were written. Raises PlanError when the file changed since ``expected_sha`` was taken."""
    path = Path(path)
    if not ids:
        return 0
    if file_sha256(path) != expected_sha:
        raise PlanError(f"{path.name} changed while the push ran (saved from another program?): its ids were not "
                        f"written; they are in the push's receipt.csv")
    if isinstance(profile, str):
        profile = load_profile(profile)
    column = next(c for c in profile.columns if c.source == "registration_id")
    if path.suffix.lower() == ".xlsx":
        return _xlsx(path, profile, column.header, ids)
    return _text(path, column.header, ids, "\t" if path.suffix.lower() == ".txt" else profile.delimiter)


def _text(path: Path, header: str, ids: dict[int, str], delimiter: str) -> int:
    from .charsets import decode
    from .delimited import sniff_delimiter, tab_cell, tab_records

    data = path.read_bytes()
    text, encoding = decode(data, str(path))
    bom = encoding in ("utf-8-sig", "utf-16") and data[:3] == b"\xef\xbb\xbf"
    lines = text.splitlines(keepends=True)
    delim = sniff_delimiter(lines[0] if lines else "", delimiter)
    tabs = delimiter == delim == "\t"  # the tab-delimited kind: line-oriented, never quoted (tabular)
    records = (tab_records(text) if tabs else
               list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False)))
    if len(records) != len(lines):
        raise InputError("a cell holds a line break, so rows cannot be matched to lines; ids not written (they "
                         "are in the push's receipt.csv)", file=str(path))
    col = next((i for i, h in enumerate(records[0]) if normalise_header(h) == normalise_header(header)), None)
    if col is None:
        raise InputError(f"no {header!r} column to write the ids in", file=str(path))
    written = 0
    for row, rid in ids.items():
        i = row - 1  # file row 1 is the header
        if not 0 < i < len(records) or records[i][col].strip():
            continue
        cells = records[i] + [""] * (col + 1 - len(records[i]))
        cells[col] = str(rid)
        buf = io.StringIO()
        if tabs:
            buf.write("\t".join(map(tab_cell, cells)))
        else:
            csv.writer(buf, delimiter=delim, lineterminator="").writerow(cells)
        ending = lines[i][len(lines[i].rstrip("\r\n")):]
        lines[i] = buf.getvalue() + ending
        written += 1
    out = "".join(lines)
    if bom:
        out = out.lstrip("\ufeff")
    write_bytes(path, out.encode(encoding))
    return written


def _xlsx(path: Path, profile: Profile, header: str, ids: dict[int, str]) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    # The sheet the reader took the rows from (by its headers), wherever the timer dragged the tabs.
    heads = [(ws.title, [[c.value for c in row] for row in ws.iter_rows(max_row=1)]) for ws in wb.worksheets]
    ws = wb.worksheets[participants_sheet(heads, profile)]
    col = next((c.column for c in ws[1] if c.value is not None and normalise_header(c.value) == normalise_header(header)),
               None)
    if col is None:
        raise InputError(f"no {header!r} column to write the ids in", file=str(path))
    written = 0
    for row, rid in ids.items():
        cell = ws.cell(row=row, column=col)
        if cell.value in (None, ""):
            cell.value = int(rid) if str(rid).isdigit() else rid
            written += 1
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, buf.getvalue())
    return written
