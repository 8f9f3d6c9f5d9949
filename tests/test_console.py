"""timersync at a race-day keyboard: a Windows-1252 console, a closed pipe, files others can read."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from converters.model import answers
from converters.compare import bodies
from tests.conftest import ROOT


def cli(args, state_home, **env):
    full = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "converters", *map(str, args)], env=full, capture_output=True,
                          timeout=60)


def test_a_windows_1252_console_shows_what_it_can(client, server, tmp_path, state_home):
    target = answers.parse_participants(client.participants(server.race_id, 0))[0]
    client.post_participants(server.race_id, bodies.participants_request(
        [bodies.participant_payload(target.copy(last_name="Dvořák 山田"), ["last_name"])]))
    r = cli(["participants", server.race_id, "--api-url", server.url], state_home, PYTHONIOENCODING="cp1252")
    assert r.returncode == 0, r.stderr.decode("cp1252", "replace")
    assert "Dvo?ák ??" in r.stdout.decode("cp1252")  # what the code page has, "?" for the rest
    assert b"Traceback" not in r.stderr


def test_a_closed_pipe_ends_quietly(client, server, tmp_path, state_home):
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(f'"{sys.executable}" -m converters participants {server.race_id} --api-url {server.url} '
                            f'| head -n 1', shell=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    assert len(out.splitlines()) == 1
    assert b"Broken pipe" not in err and b"Traceback" not in err and b"Exception ignored" not in err, err


def test_files_get_normal_permissions_and_credentials_stay_private(client, server, tmp_path, state_home):
    from converters.plan.pull import pull

    old = os.umask(0o022)
    try:
        out = tmp_path / "race.csv"
        pull(client, server.race_id, "runscore", out)
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # another account or a file share can read it
    assert stat.S_IMODE((state_home / "credentials.json").stat().st_mode) == 0o600


def test_status_and_the_remembered_server(client, server, tmp_path, state_home, monkeypatch):
    from click.testing import CliRunner

    from converters.cli import main

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    r = run("login", "--api-url", server.url, "--email", server.email, "--password", server.password)
    assert r.exit_code == 0 and f"Commands use {server.url} from now on" in r.output
    assert run("races").exit_code == 0  # no --api-url: the server of the last login
    out = tmp_path / "s.csv"
    assert run("pull", server.race_id, "-p", "runscore", "-o", out).exit_code == 0
    subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
    r = run("status", out)
    assert r.exit_code == 0, r.output
    assert f"  server   {server.url}" in r.output and "  profile  runscore" in r.output
    assert "  edits    4 not pushed yet" in r.output and "  pushed   nothing yet" in r.output
    r = run("push", out, "--team-type", "69", "--yes", "--debug")  # --debug after the command is fine
    assert r.exit_code == 0, r.output
    assert f"Target: RaceEntry race {server.race_id} (Wasatch Harvest Run) on {server.url}" in r.output
    r = run("status", out)
    assert "  edits    1 not pushed yet" in r.output and "bib (not pushable) changed" in r.output
    assert "  pushed   1 added, 1 modified, 1 switched (last " in r.output
    r = run("status", tmp_path / "nowhere.csv")
    assert r.exit_code == 1 and "no such file in" in r.output  # as diff and push say it


def test_push_leaves_its_plan_and_a_receipt(client, server, tmp_path):
    import csv

    from click.testing import CliRunner

    from converters.plan.binding import binding_dir
    from converters.cli import main
    from converters.plan.pull import pull

    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
    r = CliRunner().invoke(main, ["push", str(out), "--team-type", "69", "--yes"])
    assert r.exit_code == 0, r.output
    (folder,) = (binding_dir(out) / "pushes").iterdir()
    assert f"Receipt (file row, runner, registration id): {folder / 'receipt.csv'}" in r.output
    assert {"participants.json", "preview.html", "receipt.csv", "summary.txt"} <= {p.name for p in folder.iterdir()}
    with open(folder / "receipt.csv", encoding="utf-8-sig", newline="") as fh:
        receipt = list(csv.DictReader(fh))
    added = [x for x in receipt if x["what"] == "added"]
    late = next(p for p in answers.parse_participants(client.participants(server.race_id, 0))
                if p.last_name == "O'Registrant")
    assert [(x["runner"], x["registration id"]) for x in added] == [("Late O'Registrant", late.registration_id)]
    assert {x["what"] for x in receipt} == {"added", "modified", "switched"}


def test_frames_of_a_race_and_of_a_file(client, server, tmp_path):
    from converters.frames import file_frame, race_frame
    from converters.plan.pull import pull

    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, "runscore", out)
    race = race_frame(client, server.race_id)
    edited = file_frame(out)
    assert len(race) == len(edited) == len(answers.parse_participants(client.participants(server.race_id, 0)))
    assert set(race["registration_id"]) == set(edited["registration_id"])
    assert str(race["registration_id"].dtype) == "Int64"


def test_every_command_speaks_json_with_integer_ids(client, server, tmp_path):
    import json

    from click.testing import CliRunner

    from converters.cli import main

    def js(*args):
        r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        assert r.exit_code in (0, 4), r.output
        return json.loads(r.stdout)

    assert js("login", "--api-url", server.url, "--email", server.email, "--password", server.password,
              "--json")["server"] == server.url
    assert {p["profile"] for p in js("profiles", "--json")} >= {"runscore", "raceresult"}
    out = tmp_path / "runscore.csv"
    pulled = js("pull", server.race_id, "-p", "runscore", "-o", out, "--json")
    assert pulled["race_id"] == server.race_id and pulled["participants"] > 0
    subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
    plan = js("diff", out, "--team-type", "69", "--json")
    assert all(isinstance(m["registration_id"], int) for m in plan["modifies"] + plan["switches"])
    pushed = js("push", out, "--team-type", "69", "--yes", "--json")
    assert pushed["sent"] and isinstance(pushed["added"][0]["registration_id"], int)
    assert pushed["receipt"].endswith("receipt.csv")
    assert js("status", out, "--json")["pushed_rows"] == {"add": 1, "modify": 1, "switch": 1}
    synced = js("sync", out, "--json")
    assert synced["outputs"][0]["file"] == str(out)
    back = js("convert", out, tmp_path / "back.json", "-p", "runscore", "--json")
    assert back["participants"] == pulled["participants"] + 1


def test_plan_kinds_are_coloured_for_a_terminal():
    import click

    from converters.cli.plan import colour_kinds

    text = "kind  row\nadd   2     Ann\nCONFLICT  3  city\n  1 add, 0 deletes"
    coloured = colour_kinds(text)
    assert click.style("add", fg="green", bold=False) + "   2     Ann" in coloured
    assert click.style("CONFLICT", fg="bright_red", bold=True) in coloured
    assert coloured.splitlines()[-1] == "  1 add, 0 deletes" and click.unstyle(coloured) == text


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_push_write_ids_puts_the_new_ids_in_the_file(client, server, tmp_path, kind):
    from click.testing import CliRunner

    from converters.cli import main
    from converters.plan.convert import read_file, write_file
    from converters.plan.pull import pull

    out = tmp_path / f"race.{kind}"
    pull(client, server.race_id, "runscore", out)
    data = read_file(out, "runscore")
    late = data.participants[0].copy(registration_id=None, first_name="Ida", last_name="Ledger", bib=None,
                                     chip=None, email="ida@example.com")
    write_file(out, data.participants + [late], "runscore", race=client.race(server.race_id))
    before = out.read_bytes()
    r = CliRunner().invoke(main, ["push", str(out), "--yes", "--write-ids"])
    assert r.exit_code == 0, r.output
    assert "Wrote the new registration ids into" in r.output
    new = next(p for p in answers.parse_participants(client.participants(server.race_id, 0)) if p.last_name == "Ledger")
    again = read_file(out, "runscore")
    assert again.participants[-1].registration_id == new.registration_id
    if kind == "csv":  # only the added row's line changed
        assert out.read_bytes().splitlines()[:-1] == before.splitlines()[:-1]
    r = CliRunner().invoke(main, ["diff", str(out)])
    assert "No changes to push." in r.output and "0 adds" in r.output


def test_write_ids_refuses_a_file_saved_meanwhile(tmp_path):
    from converters.errors import PlanError
    from converters.atomic import file_sha256
    from converters.files.write_ids import write_ids

    f = tmp_path / "r.csv"
    f.write_bytes(b"Registration ID,First Name\r\n,Ann\r\n")
    sha = file_sha256(f)
    f.write_bytes(b"Registration ID,First Name\r\n,Anne\r\n")  # the timer saved it while the push ran
    with pytest.raises(PlanError, match="changed while the push ran"):
        write_ids(f, "runscore", {2: "1234"}, sha)
    assert f.read_bytes() == b"Registration ID,First Name\r\n,Anne\r\n"


def test_serve_json_tells_a_script_where_it_listens(tmp_path, state_home):
    import json

    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "converters", "serve", "--port", "0", "--participants", "20",
                             "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline())
        assert ready["server"].startswith("http://127.0.0.1:") and ready["race_id"] == 2026
        assert ready["password_made_up"] is None and ready["behave"] == "documented"  # loopback: the published one
    finally:
        proc.terminate()
        proc.wait(timeout=10)
