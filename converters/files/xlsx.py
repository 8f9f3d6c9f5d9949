"""Reading .xlsx workbooks: every sheet's rows, through python-calamine (Rust), falling back to openpyxl
only when calamine cannot read the file. :func:`converters.files.xlsx_guard.check_zip` sees a workbook first."""

from __future__ import annotations

import datetime as _dt
import os
import re
import zipfile
from typing import Any

from ..errors import InputError
from .xlsx_guard import check_zip


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
