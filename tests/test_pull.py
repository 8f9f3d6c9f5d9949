"""pull and demo over real HTTP: file, snapshot and race context written; bad output names refused early."""

from __future__ import annotations

import csv
import gzip
import json

from click.testing import CliRunner

from converters.model import answers
from converters.compare import bodies
from converters.cli import main
from converters.plan.convert import read_file
from converters.files.profiles import load_profile
from tests.conftest import control


def pull_runscore_csv(server, tmp_path):
    """Pull the race as runscore.csv; (its path, its rows as a timer's spreadsheet would see them)."""
    out = tmp_path / "runscore.csv"
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "runscore", "-o", str(out),
                                  "--api-url", server.url])
    assert r.exit_code == 0, r.output
    with open(out, encoding="utf-8-sig", newline="") as fh:
        return out, list(csv.reader(fh))


def save_csv(out, rows):
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)


def test_pull_binds_the_file(server, client, tmp_path):
    out = tmp_path / "entrants.xlsx"
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "raceresult", "-o", str(out),
                                  "--api-url", server.url])
    assert r.exit_code == 0, r.output
    assert f"Wrote {out} (" in r.output
    bound = tmp_path / ".timersync" / "entrants.xlsx"
    snapshot = json.loads(gzip.decompress((bound / "base.json.gz").read_bytes()))
    context = json.loads((bound / "race.json").read_text())
    meta = json.loads((bound / "binding.json").read_text())
    assert (meta["server"], meta["race_id"], meta["profile"], meta["ledger"]) == (server.url, server.race_id,
                                                                                   "raceresult", [])
    assert context["race_id"] == server.race_id and context["race"]["events"]
    fetched = {p.registration_id: p for p in answers.parse_participants(snapshot)}
    got = read_file(out, load_profile("raceresult"), race=context["race"])
    assert {p.registration_id for p in got.participants} == set(fetched)
    for p in got.participants:
        q = fetched[p.registration_id]
        assert (p.first_name, p.last_name, p.event_id, p.bib, p.dob) == (q.first_name, q.last_name, q.event_id,
                                                                         q.bib, q.dob)
    assert len(got.teams) == len(client.teams(server.race_id))


def test_pull_refuses_bad_output_before_writing_anything(server, client, tmp_path):
    for name, message in (("x.pdf", "cannot tell the file kind from '.pdf'"),
                          ("missing/x.csv", "does not exist")):
        r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "runscore", "-o", str(tmp_path / name),
                                      "--api-url", server.url])
        assert r.exit_code == 1 and message in r.output
    assert list(tmp_path.iterdir()) == []


def test_demo_writes_every_profile_kind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["demo", "--participants", "40"])
    assert r.exit_code == 0, r.output
    files = {p.name for p in (tmp_path / "timersync-demo").iterdir()}
    for name in ("runscore.txt", "raceresult.xlsx", "racedayscoring.csv", "director.csv", "raceentry.xlsx"):
        assert name in files and f"timersync-demo/{name}" in r.output


def test_the_demos_numbers_agree_with_its_files_and_its_warnings_can_be_read(tmp_path, monkeypatch):
    """Issue 20 part 7: the race's count is what every file holds, and each file's warning count is the
    number of lines timersync-demo/warnings.txt gives it (one per kind, saying whether to act)."""
    from converters.plan.convert import read_file

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["demo", "--participants", "40"])
    assert r.exit_code == 0, r.output
    head = r.output.split("\n")[1]
    count = int(head.split(", ")[1].split()[0])
    assert count < 40  # the seed removes some registrations: the header says what the race has now
    listed = (tmp_path / "timersync-demo" / "warnings.txt").read_text(encoding="utf-8")
    assert "What each warning says, and whether you must act: timersync-demo/warnings.txt" in r.output
    per_file: dict[str, int] = {}
    current = ""
    for line in listed.splitlines():
        if not line.startswith(" "):
            current = line.rstrip(":")
            per_file[current] = 0
        elif not line.startswith("    "):  # a kind's first line (its continuation is indented more)
            per_file[current] += 1
    rows = [line.split() for line in r.output.splitlines() if line.startswith("timersync-demo/")]
    assert len(rows) == 15
    for name, participants, teams, warnings in rows:
        if name.endswith(".csv"):  # a CSV's teams are in <stem>-teams.csv beside it, when the profile has them
            beside = tmp_path / name.replace(".csv", "-teams.csv")
            written = len(beside.read_text(encoding="utf-8-sig").splitlines()) - 1 if beside.exists() else 0
            assert written == int(teams), name
        assert int(participants) == count == len(read_file(tmp_path / name, name.split("/")[1].split(".")[0])
                                                 .participants)
        assert per_file.get(name, 0) == int(warnings), (name, listed)
    assert "nothing to do" in listed and "row 4, 'First Name'" not in listed


def test_event_switch_typed_as_a_name_is_planned(server, client, tmp_path):
    """RunScore files carry the event name and the event id; a timer retypes the name only. (Event names
    come from the races answer, which lists events only with the quirk race-events.)"""
    control(server, "options", {"quirks": ["race-events"]})
    out, rows = pull_runscore_csv(server, tmp_path)
    api = ["--api-url", server.url]
    header = rows[0]
    names = {e["event_id"]: e["name"] for e in client.race(server.race_id)["events"]}
    current = int(rows[1][header.index("Event ID")])
    target = next(eid for eid in names if eid != current)
    rows[1][header.index("Event")] = names[target]
    save_csv(out, rows)
    r = CliRunner().invoke(main, ["diff", str(server.race_id), str(out), "-p", "runscore", "--json", *api])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output[r.output.index("{"):])
    assert summary["counts"]["switches"] == 1 and summary["counts"]["modifies"] == 0


def test_pull_keeps_the_replaced_file(server, client, tmp_path):
    out = tmp_path / "runscore.csv"
    args = ["pull", str(server.race_id), "-p", "runscore", "-o", str(out), "--api-url", server.url]
    assert CliRunner().invoke(main, args).exit_code == 0
    width = out.read_bytes().split(b"\r\n", 1)[0].count(b",") + 1
    out.write_bytes(out.read_bytes() + b"edited,by,hand" + b"," * (width - 3) + b"\r\n")
    edited = out.read_bytes()
    r = CliRunner().invoke(main, args)  # the hand-added row is an edit no push has sent
    assert r.exit_code == 1 and "runscore.csv has 1 edit not pushed yet (row " in r.output, r.output
    assert "pull with --force (the file is kept as runscore.csv.bak)" in r.output and out.read_bytes() == edited
    r = CliRunner().invoke(main, args + ["--force"])
    assert r.exit_code == 0 and "kept as runscore.csv.bak" in r.output
    assert (tmp_path / "runscore.csv.bak").read_bytes() == edited
    out.write_bytes(out.read_bytes())  # touched, not edited: pulled again without --force
    assert CliRunner().invoke(main, args).exit_code == 0
    out.write_bytes(out.read_bytes()[:-20])  # cut short: cannot be checked, so not replaced without --force
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1 and "cannot be read back to look for edits not pushed yet" in r.output


def test_each_pulled_file_keeps_its_own_snapshot(server, client, tmp_path):
    """runscore.csv and runscore.xlsx pulled at different times must not share a base: the older file's
    three-way diff would take RaceEntry's changes since for edits in the file and push them back."""
    api = ["--api-url", server.url]
    for kind in ("csv", "xlsx"):
        r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "runscore", "-o",
                                      str(tmp_path / f"runscore.{kind}"), *api])
        assert r.exit_code == 0, r.output
    assert {p.name for p in (tmp_path / ".timersync").iterdir()} == {"runscore.csv", "runscore.xlsx"}
    people = answers.parse_participants(client.participants(server.race_id, 0))
    someone = people[0]
    client.post_participants(server.race_id, bodies.participants_request(
        [bodies.participant_payload(someone.copy(city="Changed Later"), ["city"])]))
    # Re-pull only the xlsx; the csv's diff must still see the city change as RaceEntry's, not the file's.
    assert CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "runscore", "-o",
                                     str(tmp_path / "runscore.xlsx"), *api]).exit_code == 0
    r = CliRunner().invoke(main, ["diff", str(server.race_id), str(tmp_path / "runscore.csv"), "-p", "runscore",
                                  *api])
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output


def test_bad_date_row_is_listed_invalid_and_the_rest_still_goes(server, client, tmp_path):
    """A bad date of birth is an invalid row in diff/push (listed by row, not sent); convert still refuses."""
    out, rows = pull_runscore_csv(server, tmp_path)
    api = ["--api-url", server.url]
    h = rows[0]
    rows[1][h.index("Date of Birth")] = "31/31/1990"
    rows[2][h.index("City")] = "Moab"
    save_csv(out, rows)
    r = CliRunner().invoke(main, ["diff", str(server.race_id), str(out), "-p", "runscore", "--json", *api])
    assert r.exit_code == 1, r.output  # nothing will be pushed until the invalid row is fixed
    summary = json.loads(r.output[r.output.index("{"):])
    assert summary["counts"]["invalid"] == 1 and summary["counts"]["modifies"] == 1
    assert summary["invalid"][0]["row"] == 2 and "31/31/1990" in summary["invalid"][0]["message"]
    r = CliRunner().invoke(main, ["push", str(server.race_id), str(out), "-p", "runscore", "--yes", *api])
    assert r.exit_code == 1 and "nothing sent" in r.output
    r = CliRunner().invoke(main, ["push", str(server.race_id), str(out), "-p", "runscore", "--yes", "--skip-invalid",
                                  *api])
    assert r.exit_code == 0, r.output
    rid = rows[2][h.index("Registration ID")]
    now = answers.parse_participants(client.participants(server.race_id, 0))
    assert {p.registration_id: p for p in now}[rid].city == "Moab"
    r = CliRunner().invoke(main, ["convert", str(out), str(tmp_path / "back.json"), "-p", "runscore",
                                  "--race", str(tmp_path / ".timersync" / "runscore.csv" / "race.json")])
    assert r.exit_code == 1 and "row 2, column 'Date of Birth'" in r.output
