"""Writes the bad-input corpus beside this script: each file a way a timing file arrives broken, with the
one-line message `timersync convert` must give in expected.toml. Run: python tests/corpus/make_corpus.py
(with --plans also the plan corpus in plans/, re-saved by LibreOffice: see plans())"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from converters.plan.convert import write_file  # noqa: E402
from converters.model import Participant  # noqa: E402
from converters.files.profiles import load_profile  # noqa: E402

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
        "two_way_date.csv": csv_text([row("1001", dob="04.02.1954")]).encode(),  # a day-first re-save
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


# ------------------------------------------------------------------------------ the plan corpus
# tests/corpus/plans/: files as a spreadsheet in another locale saves them, or with late entries typed in
# one, each bound to base.json (RaceEntry as the file was pulled) and the plan `timersync diff --offline`
# must give in plans/expected.toml. LibreOffice (soffice) makes the re-saves; without it they are kept.

PLANS = HERE / "plans"
RACE = {"race_id": 2026, "name": "Harvest Run", "next_date": "09/18/2027",
        "address": {"city": "Provo", "state": "UT", "zipcode": "84601", "country_code": "USA"},
        "events": [{"event_id": 16, "name": "Marathon"}, {"event_id": 67, "name": "Half Marathon"}]}
# (first, last, dob, street, chip): days that read two ways (04/02), one way (02/21), the same (07/07);
# values spreadsheets turn into numbers or dates (1E5, 3/4, 12-10), a 12-digit chip.
RUNNERS = [("Ann", "April", "1954-04-02", "1 Main St", "123456789012"),
           ("Bo", "December", "1985-12-03", "3/4", "7"),
           ("Cy", "May", "1971-05-06", "12-10", "8"),
           ("Di", "January", "1990-01-11", "9 Elm St", "9"),
           ("Ed", "Late", "1960-02-21", "10 Oak Ln", "10"),
           ("1E5", "Number", "1971-05-31", "11 Ash Ct", "11"),
           ("Flo", "Same", "1980-07-07", "12 Fir Rd", "12"),
           ("Zoë", "Müller", "2001-03-09", "13 Bay St", "13")]
# Late entries as a timer types them into the file in a spreadsheet (with the file's columns).
LATE = [("Gus", "Typed", "3/4/1985"), ("Hal", "Short", "12/17/71"), ("Ivy", "Century", "3/4/27")]
LOCALES = {"fr": ("fr_FR", 1036), "gb": ("en_GB", 2057), "de": ("de_DE", 1031), "us": ("en_US", 1033)}


def runners() -> list[Participant]:
    return [Participant(registration_id=str(2001 + i), event_id=16 if i % 2 else 67, first_name=f, last_name=l,
                        dob=d, gender="F" if i % 2 else "M", street=st, city="Provo", state="UT",
                        zipcode="84601", country_code="USA", chip=chip, bib=str(101 + i))
            for i, (f, l, d, st, chip) in enumerate(RUNNERS)]


def resave(path: Path, locale: str, charset: int = 76) -> None:
    """``path`` opened and saved by LibreOffice in ``locale``'s defaults (its import and its display)."""
    import os
    import shutil
    import subprocess
    import tempfile

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    name, lang = LOCALES[locale]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LC_ALL=f"{name}.UTF-8", LANG=f"{name}.UTF-8")
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp}/lo",
                        f"--infilter=Text - txt - csv (StarCalc):44,34,{charset},1,,{lang}", "--convert-to",
                        f"csv:Text - txt - csv (StarCalc):44,34,{charset}", "--outdir", f"{tmp}/out", str(path)],
                       check=True, capture_output=True, timeout=300, env=env)
        path.write_bytes((Path(tmp) / "out" / path.name).read_bytes())


def with_late_entries(path: Path, profile: str, encoding: str) -> None:
    """The late entries typed as new rows (no registration id) at the end of ``path``, in the Marathon
    (Race Result's contest 1)."""
    from converters.files.profiles import load_profile

    prof = load_profile(profile)
    cols = {c.source: c.header for c in prof.columns}
    header = prof.headers
    lines = []
    for first, last, dob in LATE:
        cells = dict.fromkeys(header, "")
        cells.update({cols["first_name"]: first, cols["last_name"]: last, cols["dob"]: dob,
                      cols["gender"]: "F", cols["event_id"]: "1" if profile == "raceresult" else "16"})
        lines.append(",".join(cells[h] for h in header) + "\r\n")
    with open(path, "a", encoding=encoding, newline="") as fh:
        fh.write("".join(lines))


def plans() -> None:
    from converters.model.answers import participants_response
    from converters.jsonio import save_file

    PLANS.mkdir(exist_ok=True)
    save_file(PLANS / "base.json", participants_response(runners(), [16, 67]))
    save_file(PLANS / "race.json", RACE)
    for locale in ("fr", "gb", "de"):  # a day-first (or decimal-comma) spreadsheet opened and saved it
        out = PLANS / f"resaved_{locale}.csv"
        write_file(out, runners(), "runscore", race=RACE)
        resave(out, locale)
    out = PLANS / "typed_late_entries.csv"  # typed into the file in LibreOffice (US), then saved
    write_file(out, runners(), "runscore", race=RACE)
    with_late_entries(out, "runscore", "utf-8")
    resave(out, "us")
    out = PLANS / "typed_late_entries_director.csv"  # The Race Director's Windows-1252 file, the same way
    write_file(out, runners(), "director", race=RACE)
    with_late_entries(out, "director", "cp1252")
    resave(out, "us", charset=1)
    out = PLANS / "typed_late_entries_raceresult.csv"  # Race Result's day-first dates, a US spreadsheet
    write_file(out, runners(), "raceresult", race=RACE)
    with_late_entries(out, "raceresult", "utf-8-sig")
    resave(out, "us")


if __name__ == "__main__":
    main()
    if "--plans" in sys.argv:
        plans()
