"""Writes the bad-input corpus beside this script: each file a way a timing file arrives broken, with the
one-line message `timersync convert` must give in expected.toml. Run: python tests/corpus/make_corpus.py"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from converters.convert import write_file  # noqa: E402
from converters.model import Participant  # noqa: E402
from converters.profiles import load_profile  # noqa: E402

H = load_profile("runscore").headers


def row(rid: str, first: str = "Ann", last: str = "Lee", dob: str = "05/31/1971", event: str = "16") -> list[str]:
    cells = [""] * len(H)
    for header, value in (("Registration ID", rid), ("First Name", first), ("Last Name", last),
                          ("Date of Birth", dob), ("Event ID", event)):
        cells[H.index(header)] = value
    return cells


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(r) + "\r\n" for r in [H] + rows)


def main() -> None:
    good = [row("1001"), row("1002", "Bo"), row("1003", "Cy")]
    files: dict[str, bytes] = {
        "cut_short_row.csv": csv_text(good)[:-40].encode() + b"\r\n",
        "no_line_ending.csv": csv_text(good).rstrip("\r\n").encode(),
        "mixed_delimiters.csv": (csv_text(good[:2]) + ";".join(good[2]) + "\r\n").encode(),
        "unclosed_quote.csv": csv_text([good[0], row("1002", '"Bo'), good[2]]).encode(),
        "shift_jis.csv": csv_text([row("1001", "花子", "山田"), row("1002", "太郎", "佐藤")]).encode("shift_jis"),
        "two_digit_year.csv": csv_text([row("1001", dob="05/31/71")]).encode(),
        "bad_date.csv": csv_text([row("1001", dob="31/31/1990")]).encode(),
        "letters_for_id.csv": csv_text([row("abc")]).encode(),
        "huge_id.csv": csv_text([row("99999999999999999999999")]).encode(),
        "ids_only.csv": csv_text([row(str(1000 + i), "", "") for i in range(50)]).encode(),
        "empty.csv": b"",
        "missing_column.csv": b"First Name,Last Name\r\nAnn,Lee\r\n",
        "not_a_workbook.xlsx": b"this is not a spreadsheet\r\n",
    }
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    people = [Participant(registration_id=str(1000 + i), event_id=16, first_name=f"R{i}", last_name="Lee")
              for i in range(30)]
    whole = HERE / "whole.xlsx"
    write_file(whole, people, "raceresult")
    data = whole.read_bytes()
    (HERE / "cut_short.xlsx").write_bytes(data[: len(data) // 2])
    buf = io.BytesIO()
    with zipfile.ZipFile(whole) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            if item.filename != "xl/sharedStrings.xml":
                dst.writestr(item, src.read(item))
    (HERE / "damaged.xlsx").write_bytes(buf.getvalue())
    whole.unlink()
    # Far-away cells: a 2 KB workbook claiming a cell at XFD1048576 (once an abort inside the XLSX reader,
    # asking for 550 GB), and a character typed in row 1,048,576 below 30 runners (once 800 MB).
    small = HERE / "small.xlsx"
    write_file(small, people[:2], "raceresult")
    _add_cells(small, HERE / "far_cell.xlsx",
               b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    write_file(small, people, "runscore")
    _add_cells(small, HERE / "stray_cell.xlsx",
               b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    small.unlink()
    blank = HERE / "blank_row_raceresult.csv"
    write_file(blank, people[:3], "raceresult")
    lines = blank.read_bytes().split(b"\r\n")
    blank.write_bytes(b"\r\n".join(lines[:2] + [b"," * lines[0].count(b",")] + lines[2:]))


def rewrite_part(source: Path, target: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    """The workbook ``source`` as ``target``, its part ``name`` changed by ``change``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            info = zipfile.ZipInfo(item.filename, date_time=item.date_time)  # the same bytes every time
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, change(data) if item.filename == name else data)
    target.write_bytes(buf.getvalue())


def _add_cells(source: Path, target: Path, cells: bytes) -> None:
    """``source`` as ``target`` with ``cells`` (sheet XML rows) added after its first sheet's data."""
    rewrite_part(source, target, "xl/worksheets/sheet1.xml", lambda d: d.replace(b"</sheetData>", cells + b"</sheetData>"))


if __name__ == "__main__":
    main()
