"""Issue 20 part 6: at an 80-column console every line timersync prints fits, or wraps at word
boundaries; what a timer copies (a command, an address) stands whole on a line of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from converters.cli import main
from converters.progress import fit
from tests.conftest import ROOT, drop_folder


def copyable(line: str) -> bool:
    text = line.strip()
    return text.startswith(("timersync ", "http://", "https://")) or " " not in text


def check_lines(output: str, what: str) -> None:
    for line in output.splitlines():
        assert len(line) <= 80 or copyable(line), f"{what}: {len(line)} columns: {line!r}"


def test_fit_wraps_at_word_boundaries_and_leaves_commands_whole():
    words = "the quick brown fox jumps over the lazy dog " * 4
    lines = fit("  " + words.strip(), 30).split("\n")
    assert all(len(line) <= 30 for line in lines) and lines[1].startswith("    ")
    assert " ".join(line.strip() for line in lines) == words.strip()  # no word cut, none lost
    long_path = "/a/" + "b" * 90
    assert fit(f"see {long_path} for more", 40).split("\n") == ["see", f"  {long_path}", "  for more"]
    command = "  timersync push 2026 " + "x" * 80 + ".csv -p runscore"
    assert fit(command, 80) == command
    line = '{"server": "http://127.0.0.1:8765/rest", "note": "' + "a few words " * 10 + '"}'
    assert fit(line, 80) == line  # a JSON line a script reads stays one line


def test_every_command_fits_80_columns(client, server, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    race = str(server.race_id)
    api = ["--api-url", server.url]
    out = tmp_path / "runscore.csv"
    folder = drop_folder(tmp_path, server)
    said: list[tuple[str, str]] = []

    def run(*args: str, code: int | None = 0) -> str:
        r = CliRunner().invoke(main, list(args))
        if code is not None:
            assert r.exit_code == code, (args, r.output)
        said.append((" ".join(args), r.output))
        return r.output

    run("login", *api, "--email", server.email, "--password", server.password)
    run("races", *api)
    run("participants", race, *api)
    run("teams", race, *api)
    run("teams", race, "--types", *api)
    run("profiles")
    run("pull", race, "-p", "runscore", "-o", str(out), *api)
    run("sync", str(out))
    subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
    run("status", str(out))
    run("diff", str(out), "--team-type", "69", "-o", str(tmp_path / "plan"))
    shutil.copy(out, folder / "in" / "runscore.csv")  # the edited file, dropped before it is pushed
    watched = run("watch", str(folder), "--once", "--poll")
    assert "nothing sent (push = false in" in watched and "\n  timersync push " in watched, watched
    run("push", str(out), "--team-type", "69", "--yes", code=None)
    run("sync", str(out))
    run("convert", str(out), str(tmp_path / "back.json"), "-p", "runscore", code=None)
    run("pull", race, "-p", "director", "-o", str(tmp_path / "director.csv"), *api)
    run("diff", str(tmp_path / "missing.csv"), code=None)
    run("pull", "999", "-p", "runscore", "-o", str(tmp_path / "x.csv"), *api, code=None)
    run("demo", "--participants", "30")
    for name in ("login", "races", "participants", "teams", "profiles", "convert", "pull", "diff", "push",
                 "status", "undo-add", "sync", "watch", "serve", "demo"):
        run(name, "--help")
    run("--help")
    for what, output in said:
        check_lines(output, what)
    text = "\n".join(o for _, o in said)
    assert f"Logged in to {server.url} as" in text  # the address whole, on the line it starts


def test_the_serve_banner_fits_and_its_command_logs_in(tmp_path, monkeypatch):
    import os
    import signal

    env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "converters", "serve", "--port", "0", "--participants", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    check_lines("".join(lines), "serve")
    command = next(line.strip() for line in lines if line.strip().startswith("timersync login"))
    assert len(command) <= 80 and lines[-1].strip() == "Ctrl-C stops it."
    password = lines[2].split("(password ", 1)[1].split(")")[0].split(",")[0]
    assert password == "rehearse-2026"
    if proc.returncode is None:
        pytest.fail("serve did not stop on Ctrl-C")


def test_thousands_of_cell_warnings_are_one_line_per_kind(tmp_path):
    """A big race whose names a spreadsheet would run: the writer reports each cell; the timer reads one
    line per kind, with what was done, whether to act, the first rows and how many more."""
    from converters.plan.convert import write_file
    from converters.model import Participant
    from converters.notices import group

    people = [Participant(registration_id=str(1000 + i), event_id=16, first_name=f"={i}" if i < 7512 else "Ann",
                          last_name="Dvořák" if i % 1000 == 0 else "Lee", email=f"r{i}@example.com")
              for i in range(8000)]
    warnings = write_file(tmp_path / "director.csv", people, "director")
    assert len(warnings) > 7512  # one per cell, as written
    lines = group(warnings)
    formulas = [line for line in lines if "start with =, +, - or @" in line]
    assert formulas == ["7,512 values start with =, +, - or @ (First Name): written with a leading ' so a "
                        "spreadsheet does not run them as formulas (The Race Director shows the '); nothing to "
                        "do; rows 2, 3, 4 and 7,509 more"]
    letters = [line for line in lines if "cannot hold" in line]
    assert letters == ["8 values (Last Name) have letters cp1252 cannot hold: written with the nearest plain "
                       "letters (Dvořák as Dvorak); nothing to do; rows 2, 1002, 2002 and 5 more"]
    assert len(lines) <= 4, lines
    assert [group([w]) for w in warnings[:3]] == [[w] for w in warnings[:3]]  # one alone stays as written


def test_the_live_line_ends_at_a_whole_word(monkeypatch):
    import io

    from converters import progress

    screen = io.StringIO()
    monkeypatch.setenv("COLUMNS", "40")
    for name in ("stdout", "stderr"):  # enable() wraps them: put them back after the test
        monkeypatch.setattr(sys, name, getattr(sys, name))
    progress.enable(screen)
    try:
        progress.say("12:00:01  0 added, 3 changed, 0 removed; 49,500 runners; next round in 60 s", force=True)
        shown = screen.getvalue().lstrip("\r")
    finally:
        progress.enable(None)
    assert shown == "12:00:01  0 added, 3 changed, 0…", shown
    assert len(shown) <= 39


def test_pull_lists_every_warning_in_its_binding(client, server, tmp_path):
    out = tmp_path / "director.csv"
    api = ["--api-url", server.url]
    every = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "director", "-o", str(out), *api, "--json"])
    import json

    warnings = json.loads(every.stdout)["warnings"]
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "director", "-o", str(out), *api, "--force"])
    assert r.exit_code == 0, r.output
    listed = out.parent / ".timersync" / "director.csv" / "warnings.txt"
    shown = [line for line in r.output.splitlines() if line.startswith("warning: ")]
    assert shown[-1] == f"warning: each one is listed in {listed}" and len(shown) - 1 < len(warnings)
    assert listed.read_text(encoding="utf-8").splitlines() == warnings
