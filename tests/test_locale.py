"""Files as the whole world leaves them, over real HTTP against the bundled server: late entries typed
in a spreadsheet (two-digit years), dates a day-first spreadsheet re-saved, postcodes from other
countries. The plans of stored re-saves are in tests/corpus/plans/ (tests/test_corpus.py)."""

from __future__ import annotations

import csv
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from converters.cli import main
from converters.files.profiles import load_profile
from converters.plan.pull import pull
from tests.conftest import has_soffice


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def type_rows(path, profile, encoding, rows):
    """New rows (no registration id) typed at the end of ``path``, each {source field: cell text}."""
    prof = load_profile(profile)
    header = {c.source: c.header for c in prof.columns}
    with open(path, "a", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        for row in rows:
            cells = dict.fromkeys(prof.headers, "")
            cells.update({header[k]: v for k, v in row.items()})
            writer.writerow([cells[h] for h in prof.headers])


def people(client, server):
    return [p for g in client.participants(server.race_id, 0) for p in g.get("participants") or []]


def race_year(client, server) -> int:
    race = client.race(server.race_id)
    return int(race["next_date"][-4:])


def by_name(client, server, first):
    return next(p for p in people(client, server) if p["user"]["first_name"] == first)


def test_late_entries_typed_in_a_spreadsheet_go_through_with_their_postcodes(client, server, tmp_path):
    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    # As LibreOffice saves what was typed: 3/4/1985 -> 03/04/85. Sydney and Zurich typed with their
    # two-letter codes; a Boston ZIP whose zero a spreadsheet dropped, country left blank (a US race).
    type_rows(out, "runscore", "utf-8", [
        {"first_name": "Gus", "last_name": "Typed", "dob": "03/04/85", "event_id": "16", "gender": "M"},
        {"first_name": "Syd", "last_name": "Ney", "dob": "07/08/1990", "event_id": "16", "zipcode": "2000",
         "country_code": "AU", "city": "Sydney"},
        {"first_name": "Zu", "last_name": "Rich", "dob": "11/12/1979", "event_id": "16", "zipcode": "8001",
         "country_code": "CH", "city": "Zurich"},
        {"first_name": "Bo", "last_name": "Ston", "dob": "01/02/1980", "event_id": "16", "zipcode": "2134",
         "city": "Boston"}])
    diff = run("diff", out)
    assert diff.exit_code == 0, diff.output
    assert "INVALID" not in diff.output and "4 adds" in diff.output
    assert "(Gus Typed): dob 03/04/85 read as 1985-03-04" in diff.output, diff.output
    pushed = run("push", out, "--yes")
    assert pushed.exit_code == 0, pushed.output
    assert by_name(client, server, "Gus")["user"]["dob"] == "1985-03-04"
    addresses = {first: by_name(client, server, first)["user"]["address"] for first in ("Syd", "Zu", "Bo")}
    assert [(a["zipcode"], a["country_code"]) for a in addresses.values()] == [
        ("2000", "AUS"), ("8001", "CHE"), ("02134", None)]
    again = run("diff", out)
    assert again.exit_code == 0 and "No changes to push." in again.output, again.output
    # the typed row is the runner the push added (the file's own record of it), not a look-alike found
    assert "a runner RaceEntry has" not in again.output and "4 rows without an id are runners a push added" \
        in again.output, again.output
    # the e-mail RaceEntry gave them on create is no "change only in RaceEntry" to pull for
    assert "changed only in RaceEntry" not in again.output, again.output


def test_a_two_digit_year_two_centuries_fit_blocks_the_push_naming_the_runner(client, server, tmp_path):
    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    yy = race_year(client, server) % 100  # born 1 January of (19|20)yy: 100 or 0 on race day
    type_rows(out, "runscore", "utf-8", [
        {"first_name": "Ivy", "last_name": "Century", "dob": f"01/01/{yy:02d}", "event_id": "16"}])
    diff = run("diff", out)
    assert diff.exit_code == 1, diff.output
    year = race_year(client, server)
    assert (f"Ivy Century  date of birth '01/01/{yy:02d}' can be read as {year - 100}-01-01 or {year}-01-01"
            in diff.output), diff.output
    assert diff.output.rstrip().endswith("Nothing will be pushed until 1 invalid row is fixed."), diff.output
    assert "No changes to push." not in diff.output
    before = len(people(client, server))
    pushed = run("push", out, "--yes")
    assert pushed.exit_code == 1 and "(Ivy Century)" in pushed.output, pushed.output
    assert len(people(client, server)) == before


def test_a_typed_date_is_read_in_the_files_own_format_first(client, server, tmp_path):
    """Race Result's column is day first: a typed 05/06/1971 could be either day, so the row is invalid
    with both (never pushed as 6 May); 25/06/1971 can only be 25 June."""
    out = tmp_path / "raceresult.csv"
    pull(client, server.race_id, "raceresult", out)
    type_rows(out, "raceresult", "utf-8", [
        {"first_name": "Mae", "last_name": "Either", "dob": "05/06/1971", "event_id": "1"},
        {"first_name": "Jun", "last_name": "Only", "dob": "25/06/1971", "event_id": "1"}])
    diff = run("diff", out, "--json")
    import json

    summary = json.loads(diff.output)
    assert diff.exit_code == 1
    assert [(i["who"], i["message"]) for i in summary["invalid"]] == [
        ("Mae Either", "date of birth '05/06/1971' can be read as 1971-05-06 or 1971-06-05 (day and month "
                       "either way): type it as DD.MM.YYYY")]
    assert [a["name"] for a in summary["adds"]] == ["Jun Only"]
    run("push", out, "--yes", "--skip-invalid")
    assert by_name(client, server, "Jun")["user"]["dob"] == "1971-06-25"


@pytest.mark.skipif(not has_soffice(), reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("locale,lang", [("fr_FR", 1036), ("en_GB", 2057), ("de_DE", 1031)])
def test_a_day_first_spreadsheets_re_save_plans_nothing(client, server, tmp_path, locale, lang):
    import os

    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    env = dict(os.environ, LC_ALL=f"{locale}.UTF-8", LANG=f"{locale}.UTF-8")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    f"--infilter=Text - txt - csv (StarCalc):44,34,76,1,,{lang}", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(tmp_path / "saved"), str(out)],
                   check=True, capture_output=True, timeout=300, env=env)
    shutil.copy(tmp_path / "saved" / "runscore.csv", out)
    diff = run("diff", out)
    assert diff.exit_code == 0, diff.output
    assert "No changes to push." in diff.output and "0 modifies" in diff.output, diff.output


@pytest.mark.parametrize("country,zipcode", [("USA", "02134"), ("AUS", "2134"), (None, "02134")])
def test_a_blank_country_is_the_races_and_only_us_zip_codes_get_their_zeros_back(tmp_path, country, zipcode):
    """The Race Director's file has no country column: its postcodes are the race's country's."""
    from converters.plan.convert import read_file, write_file
    from converters.model import Participant

    race = {"race_id": 9, "events": [{"event_id": 16, "name": "Marathon"}],
            "address": {"city": "Sydney", "country_code": country} if country else None}
    out = tmp_path / "director.csv"
    write_file(out, [Participant(registration_id="1", event_id=16, first_name="Ann", last_name="Lee",
                                 zipcode="2134")], "director", race=race)
    assert read_file(out, "director", race=race).participants[0].zipcode == zipcode
