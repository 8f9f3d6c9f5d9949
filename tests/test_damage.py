"""Spreadsheet defaults are the normal case: what a spreadsheet makes of a value (a two-digit year,
leading zeros dropped, 1E5 as 100000, True as TRUE, "3/4" as a date, characters a wrong character set
lost) is recognised and never pushed; anything else implausible is an invalid row, never a guess."""

from __future__ import annotations

import pytest

from converters.compare.damage import damage_of
from converters.compare.diff import make_plan
from converters.model import Participant

EVENTS = [16, 67]


def person(rid, **kw):
    base = dict(registration_id=rid, event_id=16, first_name="Ann", last_name="Lee", dob="1971-05-31",
                gender="F", city="Provo")
    base.update(kw)
    return Participant(**base)


def plan_of(file, current, **kw):
    return make_plan(file, current, events=EVENTS, race_id=2026, **kw)


@pytest.mark.parametrize("file_value,ref,kind", [
    ("05/31/71", "1971-05-31", "two-digit year"),
    ("01/01/00", "1900-01-01", "two-digit year"),
    ("42", "0042", "lost leading zeros"),
    ("100000", "1E5", "number as 1E5"),
    ("TRUE", "True", "TRUE/FALSE"),
    ("2026-03-04", "3/4", "text as a date"),
    ("Jos\ufffd", "José", "characters lost (\ufffd)"),
    ("\ufffdlite Engineering", "Élite Engineering", "characters lost (\ufffd)"),
    # a month-first date read day first by a German, French or British spreadsheet
    ("04.02.1954", "1954-04-02", "day and month swapped"),
    ("1954-02-04", "1954-04-02", "day and month swapped"),
    ("04.02.54", "1954-04-02", "two-digit year"),
    # numbers in a locale's spelling
    ("1,00E+05", "1E5", "number as 1E5"),
    ("1.234,5", "1234.5", "number in a locale's spelling"),
    ("1,234.5", "1234.5", "number in a locale's spelling"),
    ("1 234,5", "1234.5", "number in a locale's spelling"),
    ("1234,5", "1234.5", "number in a locale's spelling"),
    ("1.23457E+11", "123456789012", "long number rounded (1.23457E+11)"),
    ("1,23457E+11", "123456789012", "long number rounded (1.23457E+11)"),
    # Excel's and LibreOffice's date conversions of text, as each language shows them
    ("4-Mar", "3/4", "text as a date"), ("10-Dec", "12-10", "text as a date"),
    ("04. Mrz", "3/4", "text as a date"), ("10-Dez", "12-10", "text as a date"),  # de
    ("4-mars", "3/4", "text as a date"), ("10-déc.", "12-10", "text as a date"),  # fr
    ("4-mar", "3/4", "text as a date"), ("10-dic", "12-10", "text as a date"),  # es, it
    ("04-mag", "5/4", "text as a date"), ("4-mrt", "3/4", "text as a date"),  # it, nl
    ("10-okt", "10/10", "text as a date"), ("Mar-04", "3/4", "text as a date"),
])
def test_damage_is_recognised(file_value, ref, kind):
    assert damage_of(file_value, ref) == kind


@pytest.mark.parametrize("file_value,ref", [
    ("05/31/72", "1971-05-31"),  # another year: an edit (and an invalid one, see below)
    ("43", "0042"), ("Josef", "José"), ("FALSE", "True"), ("2026-03-05", "3/4"), ("Ann", "Anne"),
    ("04.03.1954", "1954-04-02"), ("1954-02-05", "1954-04-02"), ("1.235", "1234"), ("1234", "1234.5"),
    ("1.23456E+11", "123456789012"), ("5-Mar", "3/4"), ("Mars", "3/4"), ("1,5", "15"),
])
def test_real_edits_are_not_damage(file_value, ref):
    assert damage_of(file_value, ref) is None


def test_a_two_digit_year_is_raceentrys_day_or_the_one_century_a_late_entry_can_be():
    current = [person("1", dob="1927-02-28"), person("2", dob="1900-01-01", first_name="Bo"),
               person("3", dob="1960-07-08", first_name="Cy")]
    file = [person("1", dob="02/28/27"), person("2", dob="01/01/00", first_name="Bo"),
            person("3", dob="07/08/61", first_name="Cy"),  # an existing runner: must be RaceEntry's day
            person(None, dob="12/17/71", first_name="New"),  # 2071 is unborn, 1871 is 155: 1971
            person(None, dob="03/04/27", first_name="Two", last_name="Ways"),  # 1927 (100) or 2027 (0)
            person(None, dob="03/04/1985", first_name="Typed")]
    plan = plan_of(file, current, base=[p.copy() for p in current], race_day="2027-09-18",
                   dob_format="%m/%d/%Y")
    assert plan.modifies == []
    assert [(a.row, a.participant.dob) for a in plan.adds] == [(5, "1971-12-17"), (7, "1985-03-04")]
    assert plan.damaged["two-digit year"] == 2
    assert "row 5 (New Lee): dob 12/17/71 read as 1971-12-17" in plan.notes
    invalid = {i.row: i for i in plan.invalid}
    assert sorted(invalid) == [4, 6]
    assert invalid[4].who == "Cy Lee" and "two-digit year" in invalid[4].message
    assert invalid[6].who == "Two Ways"
    assert "'03/04/27' can be read as 1927-03-04 or 2027-03-04" in invalid[6].message


def test_a_date_read_two_ways_is_damage_of_raceentrys_day_or_an_invalid_row():
    """A month-first column re-saved by a day-first spreadsheet: 04/02/1954 (2 April) comes back as
    04.02.1954. Either reading of RaceEntry's day is damage, never sent; another day read two ways is
    an invalid row showing both readings; a day over 12 reads one way only."""
    current = [person("1", dob="1954-04-02"), person("2", dob="1954-04-02", first_name="Bo"),
               person("3", dob="1970-01-05", first_name="Cy"), person("4", dob="1980-02-21", first_name="Di")]
    file = [person("1", dob="04.02.1954"), person("2", dob="1954-02-04", first_name="Bo"),
            person("3", dob="06.07.1971", first_name="Cy"), person("4", dob="21.03.1980", first_name="Di"),
            person(None, dob="05.06.1990", first_name="Eve", last_name="New")]
    plan = plan_of(file, current, base=[p.copy() for p in current], dob_format="%m/%d/%Y")
    assert plan.damaged["day and month swapped"] == 2
    assert [(m.registration_id, [(c.field, c.new) for c in m.changes]) for m in plan.modifies] == [
        ("4", [("dob", "1980-03-21")])]
    invalid = {i.row: i.message for i in plan.invalid}
    assert invalid == {
        4: "date of birth '06.07.1971' can be read as 1971-06-07 or 1971-07-06 (day and month either way): "
           "type it as MM/DD/YYYY",
        6: "date of birth '05.06.1990' can be read as 1990-05-06 or 1990-06-05 (day and month either way): "
           "type it as MM/DD/YYYY"}


def test_spreadsheet_coercions_are_not_edits():
    current = [person("1", first_name="0042", last_name="1E5", city="True", street="3/4")]
    file = [person("1", first_name="42", last_name="100000", city="TRUE", street="2026-03-04")]
    plan = plan_of(file, current, base=[p.copy() for p in current])
    assert plan.is_empty() and not plan.invalid
    assert sum(plan.damaged.values()) == 4


def test_a_row_without_an_id_read_two_ways_is_the_runner_raceentry_has_on_one_of_them():
    """An earlier push's late entry (the file has no id for it) re-saved day first: RaceEntry's runner of
    that name and one of the readings is that runner, not an invalid row nor a second add."""
    current = [person("1", first_name="Gus", last_name="Typed", dob="1954-04-02")]
    file = [person(None, first_name="Gus", last_name="Typed", dob="04.02.1954"),
            person(None, first_name="Gus", last_name="Other", dob="04.02.1954")]
    plan = plan_of(file, current, base=[p.copy() for p in current], dob_format="%m/%d/%Y")
    assert plan.matched == [(2, "1")] and plan.damaged["day and month swapped"] == 1
    assert [i.row for i in plan.invalid] == [3] and not plan.adds


def test_locale_spellings_are_not_edits_nor_chip_changes():
    current = [person("1", last_name="1E5", street="1234.5", city="3/4", chip="123456789012", bib="1001",
                      first_name="12-10")]
    file = [person("1", last_name="1,00E+05", street="1.234,5", city="4-Mar", chip="1.23457E+11", bib="1001",
                   first_name="10-Dez")]
    plan = plan_of(file, current, base=[p.copy() for p in current])
    assert plan.is_empty() and not plan.unpushable and not plan.invalid
    assert plan.damaged == {"number as 1E5": 1, "number in a locale's spelling": 1, "text as a date": 2,
                            "long number rounded (1.23457E+11)": 1}


def test_lost_characters_are_never_pushed():
    current = [person("1", first_name="José", team_name=None), person("2", first_name="Zoë")]
    file = [person("1", first_name="Jos\ufffd"), person("2", first_name="Zo\ufffd Ann"),
            person(None, first_name="Ren\ufffd", last_name="New")]
    plan = plan_of(file, current, base=[p.copy() for p in current])
    assert plan.modifies == [] and plan.adds == []
    assert plan.damaged["characters lost (\ufffd)"] == 1
    messages = {i.row: i.message for i in plan.invalid}
    assert "wrong character set" in messages[3] and "wrong character set" in messages[4]


@pytest.mark.parametrize("edit,message", [
    ({"dob": "0001-01-01"}, "before 1900-01-01"),
    ({"gender": "Q"}, "gender 'Q' is not M, F or blank"),
    ({"first_name": "An\x00n"}, "holds a control character"),
])
def test_implausible_values_are_invalid(edit, message):
    current = [person("1")]
    plan = plan_of([person("1", **edit)], current, base=[p.copy() for p in current])
    assert plan.modifies == [] and len(plan.invalid) == 1 and message in plan.invalid[0].message


def test_a_value_raceentry_already_has_is_not_held_against_the_row():
    current = [person("1", gender="X", city="Pro\x07vo")]  # odd, but RaceEntry's own
    plan = plan_of([person("1", gender="X", city="Pro\x07vo", first_name="Anne")], current,
                   base=[person("1", gender="X", city="Pro\x07vo")])
    assert not plan.invalid and [c.field for c in plan.modifies[0].changes] == ["first_name"]


def test_the_summary_says_what_was_recognised():
    from converters.compare.summary import summary_text

    current = [person("1")]
    plan = plan_of([person("1", dob="05/31/71")], current, base=[p.copy() for p in current])
    assert "1 cell a spreadsheet changed, recognised and not sent (two-digit year 1)" in summary_text(plan)


def test_a_transliterated_name_renamed_in_raceentry_is_stale_not_a_conflict():
    base = [person("1", last_name="Иванов")]
    current = [person("1", last_name="Петров")]  # renamed in RaceEntry since the pull
    file = [person("1", last_name="Ivanov")]  # the Windows-1252 file holds what the code page could
    for prefer in (None, "file"):
        plan = plan_of(file, current, base=base, prefer=prefer)
        assert plan.is_empty() and not plan.conflicts and plan.stale == 1


def test_convert_refuses_ids_raceentry_never_issues(tmp_path):
    from click.testing import CliRunner

    from converters.cli import main

    for bad in ("abc", "-5", "1003.5", "99999999999999999999999"):
        src = tmp_path / "in.csv"
        src.write_text("Registration ID,First Name,Last Name,Event ID\r\n" f"{bad},Ann,Lee,16\r\n", encoding="utf-8")
        r = CliRunner().invoke(main, ["convert", str(src), str(tmp_path / "out.json"), "-p", "runscore"])
        assert r.exit_code == 1 and "row 2, column 'Registration ID'" in r.output and "Traceback" not in r.output
        assert not (tmp_path / "out.json").exists()


def test_the_participants_sheet_is_found_by_its_headers(client, server, tmp_path):
    import openpyxl

    from converters.plan.convert import read_file
    from converters.plan.pull import pull

    out = tmp_path / "race.xlsx"
    pull(client, server.race_id, "raceresult", out)
    wb = openpyxl.load_workbook(out)
    wb.move_sheet("Teams", offset=-1)  # a timer dragged the Teams tab first
    wb.save(out)
    assert openpyxl.load_workbook(out).sheetnames[0] == "Teams"
    data = read_file(out, "raceresult")
    assert len(data.participants) == len(client.participants(server.race_id, 0)[0]["participants"]) + sum(
        len(g.get("participants") or []) for g in client.participants(server.race_id, 0)[1:])
    assert data.teams


def test_a_damaged_workbook_says_to_save_it_again(tmp_path):
    import zipfile

    from converters.plan.convert import read_file, write_file
    from converters.errors import InputError

    good = tmp_path / "good.xlsx"
    write_file(good, [person("1")], "raceresult")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            if item.filename != "xl/sharedStrings.xml":  # the shared strings part lost
                dst.writestr(item, src.read(item))
    with pytest.raises(InputError, match="save it again as .xlsx"):
        read_file(bad, "raceresult")


def test_a_guard_an_earlier_version_wrote_into_a_workbook_is_not_an_edit():
    current = [person("1", first_name="-Dash")]
    plan = plan_of([person("1", first_name="'-Dash")], current, base=[p.copy() for p in current])
    assert plan.is_empty() and plan.damaged["formula guard"] == 1


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_exact_values_for_the_timing_program(tmp_path, kind):
    """XLSX cells hold the exact value; CSV guards what a spreadsheet would run, in every column (a phone
    stays raw only when it looks like one), says so, and reading back restores the value."""

    from converters.plan.convert import read_file, write_file

    ps = [person("1", first_name="-Dash", phone="+1 801 555 0100"),
          person("2", first_name="Bo", phone='=HYPERLINK("http://x","a")')]
    out = tmp_path / f"r.{kind}"
    warnings = write_file(out, ps, "raceresult")
    if kind == "xlsx":
        import openpyxl

        cells = [c.value for c in openpyxl.load_workbook(out).worksheets[0]["D"]]
        assert "-Dash" in cells and not any(str(v).startswith("'") for v in cells)
    else:
        with open(out, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
        assert "'-Dash" in text and "'=HYPERLINK" in text and "'+1 801" not in text
        assert any("row 2" in w and "-Dash" in w for w in warnings)
        assert any("HYPERLINK" in w for w in warnings)
    back = read_file(out, "raceresult")
    assert [(p.first_name, p.phone) for p in back.participants] == [(p.first_name, p.phone) for p in ps]


def test_a_full_width_equals_is_guarded_after_transliteration(tmp_path):
    from converters.plan.convert import read_file, write_file

    out = tmp_path / "d.csv"
    write_file(out, [person("1", first_name="\uff1d1+1")], "director")  # a full-width "=" a registrant typed
    raw = out.read_bytes().decode("cp1252")
    assert "'=1+1" in raw  # transliterated to "=1+1", so guarded
    assert read_file(out, "director").participants[0].first_name == "=1+1"


def _runscore_header():
    from converters.files.profiles import load_profile

    return load_profile("runscore").headers


def test_mixed_delimiters_are_an_error_naming_the_line(tmp_path):
    from converters.plan.convert import read_file
    from converters.errors import InputError

    h = _runscore_header()
    good = ["1001", "", "", "Ann", "Lee"] + [""] * (len(h) - 5)
    text = ",".join(h) + "\r\n" + ",".join(good) + "\r\n" + ";".join(good) + "\r\n"
    f = tmp_path / "mixed.csv"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3 separates its cells with ';', unlike the header"):
        read_file(f, "runscore")


def test_an_unclosed_quote_is_an_error_naming_the_line(tmp_path):
    from converters.plan.convert import read_file
    from converters.errors import InputError

    h = _runscore_header()
    rows = [",".join(["10%02d" % i, "", "", f"Runner{i}", "Lee"] + [""] * (len(h) - 5)) for i in range(6)]
    rows[1] = rows[1].replace("Runner1", '"Runner1')  # a quote opened, never closed
    f = tmp_path / "quote.csv"
    f.write_text(",".join(h) + "\r\n" + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: a quote in this row is never closed"):
        read_file(f, "runscore")


def test_blank_rows_are_reported_and_refused_for_race_result(tmp_path):
    from converters.plan.convert import read_file, write_file
    from converters.errors import InputError

    ps = [person("1"), person("2", first_name="Bo")]
    for profile, refused in (("runscore", False), ("raceresult", True)):
        f = tmp_path / f"{profile}.csv"
        write_file(f, ps, profile)
        lines = f.read_bytes().split(b"\r\n")
        f.write_bytes(b"\r\n".join(lines[:2] + [b"," * lines[0].count(b",")] + lines[2:]))  # a blank row 3
        if refused:
            with pytest.raises(InputError, match="row 3 is blank: RACE RESULT .* stops importing at a blank row"):
                read_file(f, profile)
        else:
            data = read_file(f, profile)
            assert len(data.participants) == 2 and "row 3 is blank (skipped)" in data.warnings


def test_convert_refuses_a_sheet_of_ids_alone_and_reads_a_bound_files_race(client, server, tmp_path):
    import json

    from click.testing import CliRunner

    from converters.cli import main
    from converters.plan.pull import pull

    ids = tmp_path / "ids.csv"
    ids.write_text("Registration ID,First Name,Last Name,Event ID\r\n" + "".join(f"{i},,,16\r\n" for i in
                                                                                 range(1, 300)), encoding="utf-8")
    r = CliRunner().invoke(main, ["convert", str(ids), str(tmp_path / "ids.json"), "-p", "runscore"])
    assert r.exit_code == 1 and "none of its 299 rows has a first or last name" in r.output
    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    r = CliRunner().invoke(main, ["convert", str(out), str(tmp_path / "back.json"), "-p", "runscore"])
    assert r.exit_code == 0, r.output  # event names resolved from the binding's race: no --race needed
    back = json.loads((tmp_path / "back.json").read_text())
    assert sum(len(g["participants"]) for g in back) == sum(
        len(g.get("participants") or []) for g in client.participants(server.race_id, 0))


def test_race_result_date_of_birth_is_a_real_date_cell(tmp_path):
    import openpyxl

    from converters.plan.convert import read_file, write_file

    days = ["1990-05-31", "1900-01-01", "1900-02-28", "1900-03-01", "2000-02-29"]
    ps = [person(str(i + 1), dob=d) for i, d in enumerate(days)]
    out = tmp_path / "rr.xlsx"
    write_file(out, ps, "raceresult")
    ws = openpyxl.load_workbook(out).worksheets[0]
    col = [c.value for c in ws[1]].index("DateOfBirth") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, len(days) + 2)]
    assert [c.value.date().isoformat() for c in cells] == days and all(c.is_date for c in cells)
    assert [p.dob for p in read_file(out, "raceresult").participants] == days


def test_a_profile_widens_the_plausible_dates_of_birth_and_says_its_program_reads_the_csv(tmp_path):
    from converters.files.profiles import load_profile
    from converters.files.writer import write_file

    current = [person("1")]
    old = [person("1", dob="1890-06-01")]
    assert plan_of(old, current, base=current).invalid
    assert not plan_of(old, current, base=current, earliest_dob="1880-01-01").invalid
    warnings = write_file(tmp_path / "r.csv", [person("1", first_name="=SUM(A1)")], "runscore")
    assert load_profile("runscore").reads_csv_directly and any("RunScore shows the '" in w for w in warnings)
