"""The file layer: golden files per profile, JSON -> file -> JSON round trips, awkward real files, CLI."""

from __future__ import annotations

import re

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from converters.cli import main
from converters.plan.convert import race_events, read_file, teams_path, write_file
from converters.errors import InputError
from converters.model.answers import parse_participants, parse_teams
from converters.files.profiles import load_profile
from converters.files.charsets import to_cp1252

HERE = Path(__file__).resolve().parent
FIX = HERE / "fixtures"
GOLDEN = HERE / "golden"
PROFILES = ["director", "racedayscoring", "raceentry", "raceresult", "runscore"]
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def doc_source() -> Path:
    sample = HERE.parent / "samples" / "doc" / "participants.json"
    return sample if sample.is_file() else FIX / "doc_participants.json"


def load(name: str):
    return json.loads((FIX / name).read_text(encoding="utf-8"))


RACE = load("race.json")


def participants():
    doc = json.loads(doc_source().read_text(encoding="utf-8"))
    base = parse_participants(doc)
    ids = {p.registration_id for p in base}
    return base + [p for p in parse_participants(load("nasty_participants.json")) if p.registration_id not in ids]


def teams():
    return parse_teams(load("teams.json"))


def _norm(value):
    return None if value in ("", None) else value


def expected_value(profile, kind, field, value):
    """What a field reads back as: Windows-1252 targets transliterate what they cannot hold; a tab inside a
    value of a tab-delimited file is written as a space, and so is a line break."""
    col = next((c for c in profile.columns if c.source == field and c.other is not None), None)
    if col is not None and value and value not in col.map:  # written as the program's code for it
        blank = col.blank or ""
        return "" if not col.other or col.other.casefold() == blank.casefold() else col.other
    if isinstance(value, str) and kind == "txt":
        value = re.sub(r"\r\n|[\t\r\n]", " ", value)
    if isinstance(value, str) and profile.encoding == "cp1252" and kind != "xlsx":
        return to_cp1252(value)
    return value


def assert_same(profile, kind, before, after):
    assert len(before) == len(after.participants)
    carried = [c for c in profile.columns if c.kind != "template"]
    for a, b in zip(before, after.participants):
        for col in carried:
            want = expected_value(profile, kind, col.source, a.get(col.source))
            got = b.get(col.source)
            assert _norm(got) == _norm(want), (profile.name, kind, a.registration_id, col.source, want, got)


# ------------------------------------------------------------------------------------------- goldens

def _cells(path):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    out = {ws.title: [[c for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    wb.close()
    return out


@pytest.mark.parametrize("name", PROFILES)
def test_golden_files(name, tmp_path):
    profile = load_profile(name)
    folder = GOLDEN / name
    ps, ts = participants(), teams()
    for kind in profile.kinds:
        out = tmp_path / f"participants.{kind}"
        write_file(out, ps, profile, race=RACE, teams=ts)
        produced = [out] + ([teams_path(out)] if profile.team_columns and kind != "xlsx" else [])
        for path in produced:
            golden = folder / path.name
            if UPDATE:
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, golden)
            assert golden.is_file(), f"{golden} missing: run UPDATE_GOLDEN=1 pytest tests/test_convert.py"
            if kind == "xlsx":
                assert _cells(path) == _cells(golden)
            else:
                assert path.read_bytes() == golden.read_bytes(), f"{golden} differs"


def test_golden_raceresult_csv_content():
    text = (GOLDEN / "raceresult" / "participants.csv").read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == ("RegNo,Bib,Lastname,Firstname,DateOfBirth,Gender,Contest,Club,License,Transponder1,"
                        "Street,ZIP,City,State,Country,Email,Phone")
    assert lines[1].startswith("30,50004,Doe,John,05.05.1990,m,1,")  # Contest 1: the race's first event
    assert text.endswith("\r\n") and "\r\n\r\n" not in text


def test_xlsx_structure(tmp_path):
    import openpyxl

    out = tmp_path / "p.xlsx"
    write_file(out, participants(), "raceresult", race=RACE, teams=teams())
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Participants", "Teams"]
    ws = wb["Participants"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b
    bib = next(c for c in ws[1] if c.value == "Bib").column_letter
    values = {ws[f"A{r}"].value: ws[f"{bib}{r}"] for r in range(2, ws.max_row + 1)}
    assert values[30].value == "50004" and values[30].data_type == "s"  # bib: a text cell
    assert values[101].value == "050"
    assert ws.max_row == len(participants()) + 1  # no blank rows
    assert ws.column_dimensions["A"].width > 0


# --------------------------------------------------------------------------------------- round trips

@pytest.mark.parametrize("kind", ["csv", "txt", "xlsx"])
@pytest.mark.parametrize("name", PROFILES)
def test_round_trip(name, kind, tmp_path):
    profile = load_profile(name)
    ps, ts = participants(), teams()
    out = tmp_path / f"p.{kind}"
    warnings = write_file(out, ps, profile, race=RACE, teams=ts)
    data = read_file(out, profile, race=RACE)
    assert_same(profile, kind, ps, data)
    assert data.rows == list(range(2, len(ps) + 2))
    assert "registration_id" in data.present
    if profile.team_columns:
        assert [t.team_id for t in data.teams] == [t.team_id for t in ts]
        for a, b in zip(ts, data.teams):
            for c in profile.team_columns:
                assert _norm(getattr(b, c.source)) == _norm(getattr(a, c.source))
    if profile.encoding == "cp1252" and kind != "xlsx":
        assert any("'Łukasz' written as 'Lukasz'" in w for w in warnings)


def test_warnings_width_and_unmapped_gender(tmp_path):
    warnings = write_file(tmp_path / "p.csv", participants(), "raceresult", race=RACE)
    assert "row 6, column 'State': 'Utah' is longer than the 3 characters RACE RESULT 12/14 holds; " \
           "it may be cut short there" in warnings
    assert "'Gender': 1 value RACE RESULT 12/14 has no code for ('X') written as ''" in warnings


def test_formula_neutralised_in_csv_but_not_phone(tmp_path):
    out = tmp_path / "p.csv"
    write_file(out, participants(), "racedayscoring", race=RACE)
    text = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "''=already quoted" in text and "'-5 Minus Rd" in text
    assert ",+1 801 555 0100" in text


def test_director_blank_gender_is_u(tmp_path):
    out = tmp_path / "p.csv"
    write_file(out, participants(), "director", race=RACE)
    rows = out.read_bytes().decode("cp1252").split("\r\n")
    assert rows[3].split(",")[5] == "U"  # Bob Smith: RaceEntry sent gender ""


def test_event_name_without_race_warns_and_reading_needs_race(tmp_path):
    out = tmp_path / "p.csv"
    warnings = write_file(out, participants(), "runscore")
    assert warnings[0] == "no --race given: column(s) 'Event' (event names) are left blank"
    data = read_file(out, "runscore")  # Event ID column wins: no race needed
    assert [p.event_id for p in data.participants][:3] == [16, 16, 67]


def test_raceresult_contests_in_race_order(tmp_path):
    """Race Result's contests: 1..n in the race's event order; no race known, the event ids, said so."""
    out = tmp_path / "p.csv"
    write_file(out, participants(), "raceresult", race=RACE)
    order = list(race_events(RACE))
    want = [str(order.index(p.event_id) + 1) for p in participants()]
    import csv
    import io

    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"), newline="")))
    assert [r[rows[0].index("Contest")] for r in rows[1:]] == want
    assert [p.event_id for p in read_file(out, "raceresult", race=RACE).participants] == [
        p.event_id for p in participants()]
    warnings = write_file(out, participants(), "raceresult")
    assert any("no race known" in w for w in warnings)
    assert [p.event_id for p in read_file(out, "raceresult").participants] == [p.event_id for p in participants()]


def test_raceresult_contest_map(tmp_path):
    profile_path = tmp_path / "rr.toml"
    text = load_profile("raceresult").text.replace('event = "order"', 'event = "map"').replace(
        "[event_map]\n", '[event_map]\n16 = "1"\n67 = "2"\n68 = "3"\n')
    profile_path.write_text(text, encoding="utf-8")
    out = tmp_path / "p.csv"
    write_file(out, participants(), str(profile_path))
    assert out.read_bytes().decode("utf-8-sig").split("\r\n")[1].split(",")[6] == "1"
    data = read_file(out, str(profile_path))
    assert [p.event_id for p in data.participants] == [p.event_id for p in participants()]


# ----------------------------------------------------------------------------------- awkward files

AWKWARD_HEADER = "last name;FIRST_NAME;Registration-ID;bib;Event ID;date of birth;sex;zip;country;Extra;;"


def test_windows_1252_reordered_recased_floats_zip_trailing(tmp_path):
    path = FIX / "runscore_excel_cp1252.csv"
    data = read_file(path, "runscore", race=RACE)
    p = data.participants
    assert [x.last_name for x in p] == ["Muñoz", "Zoë", "Lee"]
    assert p[0].first_name == "José" and p[0].registration_id == "30" and p[0].bib == "50004"
    assert p[0].zipcode == "02134"  # a spreadsheet stripped the leading zero; US ZIP padded back
    assert p[2].zipcode == "1234"  # a 4-digit ZIP outside the US stays as it is
    assert p[0].dob == "1990-05-05" and p[0].gender == "M" and p[1].gender == ""
    assert data.rows == [2, 3, 5]  # row 4 is empty; trailing empty rows skipped
    assert "first_name" in data.present and "email" not in data.present
    assert data.warnings == [
        "row 4 is blank (skipped)",
        "column 'ZIP': leading zeros restored on 1 US ZIP code a spreadsheet had stripped (first: row 2, "
        "'2134' -> '02134')",
        "columns not in profile runscore were ignored: 'Extra'"]


def test_bom_csv(tmp_path):
    data = read_file(FIX / "raceresult_bom.csv", "raceresult")
    assert data.participants[0].last_name == "Ångström" and data.participants[0].gender == "F"
    assert data.participants[0].dob == "2000-04-13"


def test_xlsx_with_date_cells_and_numbers():
    data = read_file(FIX / "raceresult_openpyxl.xlsx", "raceresult")
    p = data.participants[0]
    assert (p.registration_id, p.bib, p.chip, p.zipcode, p.dob, p.event_id) == \
        ("30", "50004", "50004", "02134", "1990-05-05", 16)
    assert data.rows == [2, 3]


def test_libreoffice_resaved_fixture():
    """A workbook an earlier version wrote (with a ' guard in front of formula-like values, which an XLSX
    no longer gets) and LibreOffice re-saved: read exactly; the old guard is what the diff recognises."""
    from converters.compare.damage import damage_of
    from converters.compare.values import norm

    data = read_file(FIX / "raceresult_libreoffice.xlsx", "raceresult", race=RACE)
    originals = participants()
    text = ("first_name", "middle_name", "last_name", "email", "street", "city", "state", "team_name", "bib", "chip")
    from converters.plan.convert import neutralize

    guarded = [p.copy(**{f: neutralize(getattr(p, f)) for f in text if getattr(p, f)}) for p in originals]
    import dataclasses

    before_other = load_profile("raceresult")  # the version that wrote it had no `other`: 'X' is in it
    before_other = dataclasses.replace(before_other, columns=[dataclasses.replace(c, other=None)
                                                              for c in before_other.columns])
    assert_same(before_other, "xlsx", guarded, data)
    assert [t.team_name for t in data.teams] == [t.team_name for t in teams()]
    assert damage_of(norm("first_name", "'=SUM(A1)"), norm("first_name", "=SUM(A1)")) == "formula guard"



def _soffice():
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(not _soffice(), reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("target", ["xlsx", "csv"])
def test_libreoffice_converts_our_xlsx(tmp_path, target):
    src = tmp_path / "in.xlsx"
    ps = participants()
    write_file(src, ps, "raceentry", race=RACE)
    outdir = tmp_path / "out"
    # CSV filter options: comma, double quote, UTF-8 (76).
    spec = target if target == "xlsx" else 'csv:Text - txt - csv (StarCalc):44,34,76'
    subprocess.run([_soffice(), "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                    spec, "--outdir", str(outdir), str(src)], check=True, capture_output=True, timeout=120)
    converted = outdir / f"in.{target}"
    assert converted.is_file()
    if target == "xlsx":
        assert_same(load_profile("raceentry"), "xlsx", ps, read_file(converted, "raceentry", race=RACE))
    else:
        assert "Łukasz" in converted.read_text(encoding="utf-8")


def test_python_calamine_and_openpyxl_agree(tmp_path):
    from converters.files.xlsx import _read_calamine, _read_openpyxl

    out = tmp_path / "p.xlsx"
    ps = participants()
    ps[0].street = "x_x0041_y \x01 \r\n"
    write_file(out, ps, "runscore", race=RACE, teams=teams())
    assert _read_calamine(out) == _read_openpyxl(out)
    assert _read_calamine(out)[0][1][1][12] == "x_x0041_y \x01 \r\n"


# -------------------------------------------------------------------------------------- bad input

def test_bad_date_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("RegNo,Lastname,Firstname,Contest,DateOfBirth\r\n1,A,B,16,05.05.1990\r\n2,C,D,16,31.02.1990\r\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_file(path, "raceresult")
    assert str(exc.value) == (f"{path}, row 3, column 'DateOfBirth': '31.02.1990' is not a date in the form "
                              f"DD.MM.YYYY")
    assert (exc.value.row, exc.value.column) == (3, "DateOfBirth")


def test_unknown_event_name(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Registration ID,First Name,Last Name,Event\n1,A,B,Marathon\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'Event': unknown event 'Marathon'; not in the race's "
                                         r"events \(--race\) \(known: '5K', '10K Run', \"Kids' Mile\"\)"):
        read_file(path, "director", race=RACE)


def test_missing_columns_one_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Bib,Lastname\n1,A\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_file(path, "raceresult")
    assert str(exc.value) == (f"{path}: missing columns 'RegNo', 'Firstname', 'Contest' required by profile "
                              f"raceresult; found: 'Bib', 'Lastname'")


def test_header_only_file_has_no_participants(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("RegNo,Lastname,Firstname,Contest\r\n,,,\r\n\r\n", encoding="utf-8")
    assert read_file(path, "raceresult").participants == []


# ---------------------------------------------------------------------------------------------- CLI

def run(*args):
    return CliRunner().invoke(main, list(args))


def test_cli_profiles_list_and_show():
    result = run("profiles")
    assert result.exit_code == 0
    assert any(line.startswith("raceresult      RACE RESULT 12/14") for line in result.output.splitlines())
    result = run("profiles", "show", "runscore")
    assert result.exit_code == 0 and result.output == load_profile("runscore").text


def test_cli_unknown_profile():
    result = run("profiles", "show", "nope")
    assert result.exit_code == 1
    assert result.output == ("Error: unknown profile 'nope'; choose one of: director, racedayscoring, raceentry, "
                             "raceresult, runscore (or give the path of your own .toml)\n")


def test_cli_json_to_xlsx_and_back(tmp_path):
    src = FIX / "nasty_participants.json"
    out = tmp_path / "p.xlsx"
    result = run("convert", str(src), str(out), "-p", "raceresult", "--teams", str(FIX / "teams.json"),
                 "--race", str(FIX / "race.json"))
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}: 7 participants and 2 teams (profile raceresult).\n" in result.output
    assert "Warning: row 5, column 'State': 'Utah' is longer" in result.output
    back = tmp_path / "back.json"
    result = run("convert", str(out), str(back), "-p", "raceresult", "--race", str(FIX / "race.json"))
    assert result.exit_code == 0, result.output
    data = json.loads(back.read_text())
    assert [g["event"]["event_id"] for g in data] == [16, 67, 68]
    assert json.loads((tmp_path / "back-teams.json").read_text())[1]["team_bib_num"] == "T01"
    assert data[0]["participants"][2]["user"]["address"]["zipcode"] == "02134"


def _no_output(tmp_path, name):
    assert not (tmp_path / name).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_cli_malformed_json(tmp_path):
    src = tmp_path / "in.json"
    src.write_text('[\n  {"event": }\n]\n', encoding="utf-8")
    result = run("convert", str(src), str(tmp_path / "o.csv"), "-p", "runscore")
    assert result.exit_code == 1
    assert result.output == (f"Error: {src}: line 2, column 13: malformed JSON (unexpected character, expected a "
                             f"JSON value); fix the file or re-download it\n")
    _no_output(tmp_path, "o.csv")


def test_cli_wrong_shape(tmp_path):
    src = tmp_path / "in.json"
    src.write_text('{"races": []}', encoding="utf-8")
    result = run("convert", str(src), str(tmp_path / "o.csv"), "-p", "runscore")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {src}: $: ") and len(result.output.splitlines()) == 1
    _no_output(tmp_path, "o.csv")


def test_cli_missing_columns(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("Bib,Lastname\n1,A\n", encoding="utf-8")
    result = run("convert", str(src), str(tmp_path / "o.json"), "-p", "raceresult")
    assert result.exit_code == 1
    assert result.output == (f"Error: {src}: missing columns 'RegNo', 'Firstname', 'Contest' required by profile "
                             f"raceresult; found: 'Bib', 'Lastname'\n")
    _no_output(tmp_path, "o.json")


def test_cli_bad_date_row(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("Registration ID,First Name,Last Name,Event ID,Date of Birth\n1,A,B,16,13/45/1990\n",
                   encoding="utf-8")
    result = run("convert", str(src), str(tmp_path / "o.json"), "-p", "runscore")
    assert result.exit_code == 1
    assert result.output == (f"Error: {src}, row 2, column 'Date of Birth': '13/45/1990' is not a date in the "
                             f"form MM/DD/YYYY\n")
    _no_output(tmp_path, "o.json")


def test_cli_unknown_profile_on_convert(tmp_path):
    result = run("convert", str(FIX / "doc_participants.json"), str(tmp_path / "o.csv"), "-p", "runscor")
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown profile 'runscor'; choose one of: director, ")
    _no_output(tmp_path, "o.csv")


def test_cli_not_a_zip_xlsx(tmp_path):
    src = tmp_path / "in.xlsx"
    src.write_text("RegNo,Lastname\n", encoding="utf-8")
    result = run("convert", str(src), str(tmp_path / "o.json"), "-p", "raceresult")
    assert result.exit_code == 1
    assert result.output == (f"Error: {src}: not an Excel .xlsx file (not a zip); save it as .xlsx, or as .csv "
                             f"and use that\n")
    _no_output(tmp_path, "o.json")


@pytest.mark.parametrize("name", ["in.csv", "in.xlsx", "in.json"])
def test_cli_empty_file(tmp_path, name):
    src = tmp_path / name
    src.write_bytes(b"")
    out = "o.csv" if name.endswith(".json") else "o.json"
    result = run("convert", str(src), str(tmp_path / out), "-p", "raceresult")
    assert result.exit_code == 1
    expected = {"in.csv": "the file is empty; expected a header row and participants",
                "in.xlsx": "the file is empty; expected an Excel .xlsx workbook",
                "in.json": "the file is empty; expected RaceEntry JSON"}[name]
    assert result.output == f"Error: {src}: {expected}\n"
    _no_output(tmp_path, out)


def test_cli_write_failure_leaves_previous_file(tmp_path):
    out = tmp_path / "o.csv"
    out.write_text("previous", encoding="utf-8")
    src = tmp_path / "in.json"
    src.write_text("[", encoding="utf-8")
    assert run("convert", str(src), str(out), "-p", "runscore").exit_code == 1
    assert out.read_text(encoding="utf-8") == "previous"


def test_cli_user_profile_path(tmp_path):
    profile = tmp_path / "mine.toml"
    profile.write_text(load_profile("runscore").text.replace('name = "runscore"', 'name = "mine"'), encoding="utf-8")
    out = tmp_path / "o.txt"
    result = run("convert", str(FIX / "doc_participants.json"), str(out), "-p", str(profile), "--race",
                 str(FIX / "race.json"))
    assert result.exit_code == 0, result.output
    assert out.read_bytes().decode("utf-8-sig").split("\r\n")[1].split("\t")[8] == "5K"


def test_cli_help_has_examples():
    for args in (["convert", "--help"], ["profiles", "--help"], ["profiles", "show", "--help"]):
        result = run(*args)
        assert result.exit_code == 0 and "Example:" in result.output


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_many_rows_read_back_one_record_each(kind, tmp_path):
    """A profile that carries few fields still reads back one record per row, in order (the records
    are built column-wise, most fields empty)."""
    base = participants()[0]
    ps = [base.copy(registration_id=str(1000 + i), bib=str(i)) for i in range(60)]
    out = tmp_path / f"many.{kind}"
    write_file(out, ps, "raceresult", race=RACE)
    got = read_file(out, "raceresult", race=RACE)
    assert [p.registration_id for p in got.participants] == [p.registration_id for p in ps]
    assert [p.bib for p in got.participants] == [str(i) for i in range(60)]
    assert got.rows == list(range(2, 62))


# ------------------------------------------------------------------------ several event columns

def _runscore_rows(tmp_path, edit):
    """A runscore CSV of the doc participants with ``edit(header, rows)`` applied; returns its path."""
    import csv

    path = tmp_path / "entrants.csv"
    write_file(path, participants(), "runscore", race=RACE)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    edit(rows[0], rows[1:])
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_event_name_edit_with_blank_id_is_a_switch(tmp_path):
    events = {e["name"]: e["event_id"] for e in RACE["race"]["events"]}
    other = next(name for name, eid in events.items() if eid != participants()[0].event_id)

    def edit(header, rows):
        rows[0][header.index("Event")] = other
        rows[0][header.index("Event ID")] = ""
    got = read_file(_runscore_rows(tmp_path, edit), "runscore", race=RACE)
    assert got.participants[0].event_id == events[other]
    assert not any("ignored" in w for w in got.warnings)


def test_event_name_and_id_that_disagree_is_an_error(tmp_path):
    events = {e["name"]: e["event_id"] for e in RACE["race"]["events"]}
    other = next(name for name, eid in events.items() if eid != participants()[0].event_id)

    def edit(header, rows):
        rows[0][header.index("Event")] = other
    with pytest.raises(InputError, match=r"row 2: column 'Event' says event \d+ \(.*\) but column 'Event ID' "
                                         r"says \d+ .*make them agree"):
        read_file(_runscore_rows(tmp_path, edit), "runscore", race=RACE)


def test_unknown_event_name_is_named_by_row_and_column(tmp_path):
    def edit(header, rows):
        rows[1][header.index("Event")] = "Marathn"
    with pytest.raises(InputError, match=r"row 3, column 'Event': unknown event 'Marathn'"):
        read_file(_runscore_rows(tmp_path, edit), "runscore", race=RACE)


def test_known_events_settle_which_event_column_was_edited(tmp_path):
    events = {e["name"]: e["event_id"] for e in RACE["race"]["events"]}
    first = participants()[0]
    other = next(name for name, eid in events.items() if eid != first.event_id)

    def edit(header, rows):
        rows[0][header.index("Event")] = other  # the timer retyped the name; the id is stale
    path = _runscore_rows(tmp_path, edit)
    got = read_file(path, "runscore", race=RACE, known_events={first.registration_id: first.event_id})
    assert got.participants[0].event_id == events[other]
    # Without knowing the event before the edit, nothing can tell which column is right: an error.
    with pytest.raises(InputError, match="make them agree"):
        read_file(path, "runscore", race=RACE, known_events={})


def test_races_response_with_two_races_sharing_an_event_name_round_trips(client, tmp_path):
    """`timersync races --json` lists every race; two of them have a "5K". Converting a race's
    participants with that file as --race and back must keep each runner's event (the name column
    is read with the row's event id, not resolved to the other race's 5K)."""
    races = tmp_path / "races.json"
    races.write_text(json.dumps(client.races()), encoding="utf-8")
    parts = tmp_path / "participants.json"
    parts.write_text(json.dumps(client.participants(2026, 0)), encoding="utf-8")
    before = {p.registration_id: p.event_id for p in parse_participants(json.loads(parts.read_text()))}
    for profile in ("runscore", "racedayscoring", "director"):
        out = tmp_path / f"{profile}.csv"
        assert run("convert", str(parts), str(out), "-p", profile, "--race", str(races)).exit_code == 0
        back = tmp_path / f"{profile}.json"
        result = run("convert", str(out), str(back), "-p", profile, "--race", str(races))
        assert result.exit_code == 0, result.output
        after = {p.registration_id: p.event_id for p in parse_participants(json.loads(back.read_text()))}
        assert after == before, profile


def test_event_name_of_two_races_alone_is_an_error_naming_both(tmp_path):
    """A name that several events of --race carry, with no id column to settle it, is an error."""
    race = {"races": [{"race": {"race_id": 1, "events": [{"event_id": 69, "name": "5K"}]}},
                      {"race": {"race_id": 2, "events": [{"event_id": 71, "name": "5K"}]}}]}
    profile = tmp_path / "names.toml"
    profile.write_text('name = "names"\ndescription = "event names only"\ntarget = "test"\n'
                       'kinds = ["csv"]\ndefault_kind = "csv"\nencoding = "utf-8"\n'
                       'delimiter = ","\nline_ending = "\\r\\n"\nheader = true\n'
                       '[[columns]]\nheader = "RegNo"\nsource = "registration_id"\ntype = "int"\n'
                       '[[columns]]\nheader = "Event"\nsource = "event_id"\nevent = "name"\n', encoding="utf-8")
    path = tmp_path / "names.csv"
    path.write_text("RegNo,Event\r\n1,5K\r\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'Event': event '5K' is ambiguous.*69.*71"):
        read_file(path, load_profile(str(profile)), race=race)


def test_text_that_merely_looks_double_encoded_is_left_alone():
    from converters.files.charsets import undo_double_encoding

    assert undo_double_encoding("race_fee\r\nÂ\xa0\r\n") == "race_fee\r\nÂ\xa0\r\n"  # found by hypothesis
    assert undo_double_encoding("ï»¿Name\r\nLÃ³pez\r\n") == "Name\r\nLópez\r\n"
    assert undo_double_encoding("Name\r\nLÃ³pez\r\nNÃºÃ±ez\r\n") == "Name\r\nLópez\r\nNúñez\r\n"


def test_workbook_with_double_encoded_names_is_repaired(tmp_path):
    """A CSV opened with the wrong character set and saved as .xlsx: 'LÃ³pez' comes back as 'López'."""
    from converters.files.xlsx_write import Sheet, write_xlsx

    header = ["Registration ID", "Bib", "First Name", "Last Name", "Event ID"]
    rows = [["1", "5", "JosÃ©", "LÃ³pez", "16"], ["2", "6", "ZoÃ«", "NÃºÃ±ez", "16"]]
    write_xlsx(tmp_path / "m.xlsx", [Sheet("P", header, rows)])
    got = read_file(tmp_path / "m.xlsx", "runscore")
    assert [(p.first_name, p.last_name) for p in got.participants] == [("José", "López"), ("Zoë", "Núñez")]
    assert any("wrong character set" in w for w in got.warnings)
    # Real text beside it ('Łukasz' cannot come from that mistake): nothing is touched.
    write_xlsx(tmp_path / "n.xlsx", [Sheet("P", header, [["1", "5", "Łukasz", "LÃ³pez", "16"]])])
    assert read_file(tmp_path / "n.xlsx", "runscore").participants[0].last_name == "LÃ³pez"
