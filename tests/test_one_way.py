"""One way each (issue 19): where a job was written twice, the copies answered differently. Each test here
failed while the job had a second copy; it names the bug it keeps fixed."""

from __future__ import annotations

from click.testing import CliRunner

from converters.model import answers
from converters import model
from converters.cli import main


def test_push_write_ids_finds_the_participants_sheet_as_the_reader_does(client, server, tmp_path):
    """`push --write-ids` took the first sheet: with the Teams tab first, a push that added a runner
    exited 1 ("no 'Registration ID' column"), though the reader had found the participants by headers."""
    import openpyxl

    from converters.plan.convert import read_file, write_file
    from converters.plan.pull import pull

    out = tmp_path / "race.xlsx"
    pull(client, server.race_id, "runscore", out)
    data = read_file(out, "runscore")
    assert data.teams
    late = data.participants[0].copy(registration_id=None, first_name="Ida", last_name="Ledger", bib=None,
                                     chip=None, email="ida@example.com")
    write_file(out, data.participants + [late], "runscore", race=client.race(server.race_id), teams=data.teams)
    wb = openpyxl.load_workbook(out)
    wb.move_sheet("Teams", offset=-1)  # a timer dragged the Teams tab first
    wb.save(out)
    assert openpyxl.load_workbook(out).sheetnames[0] == "Teams"

    r = CliRunner().invoke(main, ["push", str(out), "--yes", "--write-ids"])
    assert r.exit_code == 0, r.output
    assert "Wrote the new registration ids into race.xlsx (1 row)." in r.output
    new = next(p for p in answers.parse_participants(client.participants(server.race_id, 0)) if p.last_name == "Ledger")
    again = read_file(out, "runscore")
    assert next(p for p in again.participants if p.last_name == "Ledger").registration_id == new.registration_id
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "Teams" and wb["Teams"].max_row == len(data.teams) + 1  # the teams untouched
    r = CliRunner().invoke(main, ["diff", str(out)])
    assert "No changes to push." in r.output


def test_a_running_sync_names_the_row_a_formula_guard_warning_is_about(client, server, tmp_path):
    """sync rendered only the rows that changed, with its own copy of the writer: the formula-guard
    warning of a runner added while `sync --every` ran named the row among the changed ones (row 2),
    not the runner's row in the file. One write path now: the writer, with sync's row cache."""
    from converters.plan.convert import read_file
    from converters.compare.bodies import participant_payload, participants_request
    from converters.raceday.sync import Syncer
    from converters.raceday.sync_outputs import SyncOutput

    out = tmp_path / "out.csv"
    syncer = Syncer(client, server.race_id, [SyncOutput("runscore", out)])
    first = syncer.run()
    assert first.ok
    people = answers.parse_participants(client.participants(server.race_id, 0))
    late = model.Participant(event_id=people[0].event_id, first_name="=Ida", last_name="Latecomer",
                             email="ida.formula@example.com")
    client.post_participants(server.race_id, participants_request([participant_payload(late)]))
    result = syncer.run()
    assert result.ok and result.added == 1
    data = read_file(out, "runscore")
    row = next(r for p, r in zip(data.participants, data.rows) if p.last_name == "Latecomer")
    assert row > 2
    warnings = [w for o in result.outputs for w in o.warnings if "'=Ida'" in w]
    assert warnings == [f"row {row}, 'First Name': '=Ida' written as \"'=Ida\" (else a formula; RunScore "
                        f"shows the ')"], [w for o in result.outputs for w in o.warnings]


def test_team_types_are_read_only_when_a_new_team_needs_one(client, server, tmp_path):
    """Each read of a race had its own error policy: a team-types error stopped `pull`, `diff` and `push`
    of a file with nothing to send, but not `sync` or the drop folder. Now team types are read only when a
    new team needs a type, and their failure says so the same way in every command."""
    from converters.plan.convert import read_file, write_file

    from .conftest import control

    out = tmp_path / "race.csv"
    control(server, "faults", {"faults": [{"method": "GET", "path": "/teams/team_types", "kind": "error200",
                                           "count": 100}]})
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "runscore", "-o", str(out), "--api-url",
                               server.url])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["diff", str(out)])
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output
    r = CliRunner().invoke(main, ["push", str(out), "--yes"])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output

    data = read_file(out, "runscore")
    late = data.participants[0].copy(registration_id=None, first_name="Tia", last_name="Newteam", bib=None,
                                     chip=None, email="tia@example.com", team_id=None, team_name="Brand New Team")
    write_file(out, data.participants + [late], "runscore", race=client.race(server.race_id), teams=data.teams)
    for command in ("diff", "push"):
        r = CliRunner().invoke(main, [command, str(out)] + (["--yes"] if command == "push" else []))
        assert r.exit_code != 0 and "Traceback" not in r.output, r.output
        assert "team types" in r.output, r.output
    assert not [p for p in answers.parse_participants(client.participants(server.race_id, 0))
                if p.last_name == "Newteam"]


def test_a_push_settles_its_file_once_and_builds_each_body_once(client, server, tmp_path, monkeypatch):
    """`push` settled the file's race, profile and server from its binding four times (the command, the
    push, and each of its two plans); now once, and each plan reads the binding again only to see a
    ledger that grew. Each POST row was built twice (to send, and again for the plan folder); now once."""
    from converters.plan import binding
    from converters.compare import payloads
    from converters.plan.convert import read_file, write_file
    from converters.plan.pull import pull

    out = tmp_path / "race.csv"
    pull(client, server.race_id, "runscore", out)
    data = read_file(out, "runscore")
    data.participants[0] = data.participants[0].copy(first_name="Settled")
    write_file(out, data.participants, "runscore", race=client.race(server.race_id))
    calls = []
    settle = binding.settle
    monkeypatch.setattr(binding, "settle", lambda *a, **k: calls.append(a) or settle(*a, **k))
    built = []
    payload = payloads.participant_payload
    monkeypatch.setattr(payloads, "participant_payload", lambda *a, **k: built.append(a) or payload(*a, **k))
    r = CliRunner().invoke(main, ["push", str(out), "--yes"])
    assert r.exit_code == 0 and "1 modified" in r.output, r.output
    assert len(calls) == 1
    assert len(built) == 1  # the one modify's row
    sent = [e for e in (tmp_path / ".timersync" / "race.csv" / "pushes").rglob("participants.json")]
    assert len(sent) == 1 and '"Settled"' in sent[0].read_text()  # the plan folder has the row sent
