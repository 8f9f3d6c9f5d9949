"""Race morning, second pass (issue 20, parts 1-3 and the small things of part 7), against the bundled
server over real HTTP: a push never blocks another while its plan is on screen, a waiting push says so,
conflicts and Ctrl-C say what to do next, every mistake is answered in the timer's words, and plans name
runners, events and teams as RaceEntry names them."""

from __future__ import annotations

import os
import pty
import re
import select
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT, control, unwrapped
from tests.test_push import city_conflict, col, people, read_rows, write_rows


def run(*args, input=None, env=None):
    from converters.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, input=input, env=env)


def pulled(client, server, tmp_path, name="race.csv") -> Path:
    from converters.plan.pull import pull

    out = tmp_path / name
    pull(client, server.race_id, "runscore", out)
    return out


def add_rows(path: Path, n: int, prefix: str = "Late", event_id: int = 68, team: str = "") -> list[str]:
    rows = read_rows(path)
    names = [f"{prefix}{chr(65 + i // 26)}{chr(97 + i % 26)}" for i in range(n)]
    for name in names:
        row = [""] * len(rows[0])
        row[col(rows, "First Name")], row[col(rows, "Last Name")] = name, "Runner"
        row[col(rows, "Event ID")], row[col(rows, "Date of Birth")] = str(event_id), "03/04/1990"
        row[col(rows, "Team")] = team
        rows.append(row)
    write_rows(path, rows)
    return names


def count(client, server, first, last="Runner") -> int:
    return sum(1 for p in people(client, server) if (p.first_name, p.last_name) == (first, last))


def in_terminal(args, state_home, answer: bytes | None = None, lines: int = 200, timeout: float = 60,
                extra_env=None, meanwhile=None) -> tuple[int, str]:
    """``timersync ARGS`` on a pseudo-terminal (stdin and stdout a tty, as a timer's console), typing
    ``answer`` each time it asks (after calling ``meanwhile()``, the first time, if given). Returns
    (exit status, everything it printed)."""
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT), COLUMNS="200",
               LINES=str(lines), PAGER="sleep 30", NO_COLOR="1", **(extra_env or {}))
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command on the terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "converters", *map(str, args)], env)
    out = b""
    end = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.2)
        chunk = b""
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the command ended: its terminal is gone
                chunk = b""
            if not chunk:
                _, status = os.waitpid(pid, 0)
                os.close(fd)
                return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace").replace("\r\n", "\n")
            out += chunk
        if answer is not None and out.count(b"Push these changes?") > answered:
            if meanwhile is not None and not answered:
                meanwhile()
            os.write(fd, answer)
            answered += 1
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    os.close(fd)
    raise AssertionError(f"still running after {timeout} s (a pager, or a prompt?):\n{out.decode()}")


# ------------------------------------------------------------------ part 1: never block with the lock held

def test_the_plan_is_confirmed_before_the_race_lock_is_taken(client, server, tmp_path):
    from converters import locks
    from converters import push as lib

    out = pulled(client, server, tmp_path)
    add_rows(out, 2)
    free = []

    def confirm(plan):  # while the timer reads the plan, another push of the race can take the lock
        with locks.push_lock(server.url, server.race_id, wait=0):
            free.append(True)
        return True

    result = lib.push(client, out, confirm=confirm)
    assert free == [True] and len(result.added) == 2


def test_a_plan_that_changed_under_the_lock_is_refused_or_trimmed(client, server, tmp_path):
    from converters import push as lib

    out = pulled(client, server, tmp_path)
    add_rows(out, 2)

    def edit_meanwhile(plan):  # the file gains a runner the timer never saw in the plan
        add_rows(out, 1, prefix="Unseen")
        return True

    with pytest.raises(lib.PlanChanged, match="the plan changed while it was on screen"):
        lib.push(client, out, confirm=edit_meanwhile)
    assert count(client, server, "LateAa") == 0 and count(client, server, "UnseenAa") == 0  # nothing sent

    said = []

    def pushed_meanwhile(plan):  # the drop folder pushes the same file while the plan is on screen
        lib.push(client, out)
        return True

    result = lib.push(client, out, confirm=pushed_meanwhile, progress=said.append)
    assert not result.sent
    assert any("were made meanwhile (by another push, or in RaceEntry): nothing is left to send" in s for s in said)
    assert [count(client, server, n) for n in ("LateAa", "LateAb", "UnseenAa")] == [1, 1, 1]


def test_a_plan_that_changes_while_on_screen_is_shown_again_and_asked_again(client, server, tmp_path,
                                                                          state_home):
    from converters.client import RaceEntryClient

    RaceEntryClient(server.url).login(server.email, server.password)
    out = pulled(client, server, tmp_path)
    add_rows(out, 1)
    code, text = in_terminal(["push", out], state_home, answer=b"y\n",
                             meanwhile=lambda: add_rows(out, 1, prefix="Unseen"))
    assert code == 0, text
    assert "the plan changed while it was on screen" in text and "here it is again:" in text, text
    assert text.count("Push these changes?") == 2 and "UnseenAa Runner" in text.split("here it is again:")[1]
    assert count(client, server, "LateAa") == 1 and count(client, server, "UnseenAa") == 1


def test_yes_never_pages_and_no_at_the_prompt_sends_nothing(client, server, tmp_path, state_home):
    from converters.client import RaceEntryClient

    RaceEntryClient(server.url).login(server.email, server.password)  # the login the commands use
    out = pulled(client, server, tmp_path)
    add_rows(out, 30)  # a plan far longer than a 10-line terminal
    code, text = in_terminal(["push", out, "--api-url", server.url], state_home, answer=b"n\n")
    assert code == 0, text
    assert "Nothing was sent (you answered no)." in text and count(client, server, "LateAa") == 0
    # The PAGER would sit for 30 s: a push --yes that paged would not finish in time.
    code, text = in_terminal(["push", out, "--api-url", server.url, "--yes"], state_home, lines=10, timeout=25)
    assert code == 0, text
    assert "Pushed to race" in text and count(client, server, "LateBd") == 1


def test_a_waiting_push_says_so_at_once_and_goes_ahead_when_the_first_ends(client, server, tmp_path):
    from converters import locks

    out = pulled(client, server, tmp_path)
    add_rows(out, 1)
    taken, release = threading.Event(), threading.Event()

    def first_push():
        with locks.push_lock(server.url, server.race_id):
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=first_push)
    holder.start()
    taken.wait(5)
    timer = threading.Timer(1.5, release.set)
    timer.start()
    started = time.monotonic()
    r = run("push", out, "--yes", "--wait", "20")
    holder.join()
    assert r.exit_code == 0, r.output
    since = time.strftime("%H:%M")
    line = next(x for x in r.output.splitlines() if x.startswith("waiting for"))
    assert re.fullmatch(rf"waiting for the push by pid {os.getpid()} \(since \d\d:\d\d\), up to 20 s", line), line
    assert since[:2] in line and 1.0 < time.monotonic() - started < 15
    assert count(client, server, "LateAa") == 1


# ------------------------------------------------------- part 2: what happened, and what to do next

def test_a_conflict_exits_8_with_the_prefer_commands_to_type(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rid = city_conflict(client, server, out)
    r = run("push", out, "--yes")
    assert r.exit_code == 8, r.output
    lines = r.output.splitlines()
    told = " ".join(r.output[r.output.index("Not sent: 1 conflict ("):].split())
    assert "changed both in the file and in RaceEntry since the pull." in told, r.output
    command = lines[lines.index("To send the file's values, type:") + 1].strip()
    assert command == f"timersync push {out} --prefer file"
    assert lines[lines.index("To keep RaceEntry's, type:") + 1].strip() == f"timersync push {out} --prefer raceentry"
    for args in (["diff", out, "--exit-code"], ["push", out, "--dry-run"]):  # the plan says it too
        r = run(*args)
        assert r.exit_code == (5 if "diff" in args else 0), r.output
        assert f"\n  timersync push {out} --prefer file\n" in r.output, r.output
    r = run("diff", out, env={"COLUMNS": "60"})  # wrapped to the terminal like every line, continued indented
    said = r.output[r.output.index("A push will not send: 1 conflict ("):r.output.index("To send the file's values")]
    assert len(said.splitlines()) > 1 and all(len(x) <= 60 for x in said.splitlines()), r.output
    assert all(x.startswith("  ") for x in said.splitlines()[1:]), r.output
    r = run(*command.split()[1:], "--yes")  # typed as printed
    assert r.exit_code == 0, r.output
    assert {p.registration_id: p.city for p in people(client, server)}[rid] == "FileTown"


def test_ctrl_c_while_sending_says_what_landed_and_the_next_push_in_plain_words(client, server, tmp_path,
                                                                               monkeypatch):
    from converters.client import RaceEntryClient

    out = pulled(client, server, tmp_path)
    names = add_rows(out, 10)
    real = RaceEntryClient.post_participants
    calls = []

    def post(self, race_id, body):  # the timer presses Ctrl-C while the second batch is on its way
        calls.append(1)
        if len(calls) == 2:
            real(self, race_id, body)  # it reached RaceEntry; its answer never came back
            raise KeyboardInterrupt
        return real(self, race_id, body)

    monkeypatch.setattr(RaceEntryClient, "post_participants", post)
    r = run("push", out, "--yes", "--batch-size", "5", "--settle-wait", "0", env={"COLUMNS": "80"})
    assert r.exit_code == 130, r.output
    said = " ".join(r.output[r.output.index("Stopped (Ctrl-C)."):].split())
    assert said.startswith("Stopped (Ctrl-C). RaceEntry confirmed 5 added; 5 changes on the way when you "
                           "stopped may or may not have reached it. The next push of this file first checks"), said
    assert max(len(x) for x in r.output[r.output.index("Stopped (Ctrl-C)."):].splitlines()) <= 80
    monkeypatch.setattr(RaceEntryClient, "post_participants", real)
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "an earlier push stopped while sending 5 runners (" in r.output
    assert "5 reached RaceEntry and are not sent again" in r.output
    assert not re.search(r"batch \d|0000\d", r.output), r.output
    assert [count(client, server, n) for n in names] == [1] * 10


@pytest.mark.parametrize("name", ["nosuch.csv", "entries.xls", "entries.ods"])
def test_a_missing_file_or_a_kind_not_read_is_said_first(server, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    if name != "nosuch.csv":
        (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0 a workbook")
    want = ("no such file in" if name == "nosuch.csv" else
            "timersync reads .csv, .txt and .xlsx; save it as .xlsx (")
    for args in (["diff", name], ["push", name, "--yes"], ["status", name], ["diff", name, "--offline"]):
        r = run(*args, "--api-url", server.url) if args[0] != "status" else run(*args)
        assert r.exit_code == 1, (args, r.output)
        assert r.output.startswith(f"Error: {name}: ") and want in r.output, (args, r.output)
        assert "which race" not in r.output and len(r.output.splitlines()) == 1


def test_every_command_answers_a_wrong_race_id_the_same_way(client, server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = pulled(client, server, tmp_path)
    (tmp_path / "copy.csv").write_bytes(out.read_bytes())  # no binding: the race id is the one typed
    answers = []
    for args in (["pull", 999, "-p", "runscore", "-o", "x.csv"], ["diff", 999, "copy.csv", "-p", "runscore"],
                 ["push", 999, "copy.csv", "-p", "runscore", "--yes"], ["sync", 999, "-p", "runscore", "-o", "y.txt"]):
        r = run(*args, "--api-url", server.url)
        assert r.exit_code == 1, (args, r.output)
        answers.append(r.output.strip().splitlines()[-1])
    for args in (["participants", 999], ["teams", 999], ["teams", 999, "--types"]):
        r = run(*args, "--api-url", server.url)
        assert r.exit_code == 1, (args, r.output)
        answers.append(r.output.strip().splitlines()[-1])
    assert len(set(answers)) == 1, answers
    assert answers[0] == (f"Error: race 999 is not a race this account can see on {server.url} (it sees: "
                          f"{server.race_id} (Wasatch Harvest Run), 2027 (Frostbite 5K)); check the id with "
                          f"`timersync races`")
    assert not (tmp_path / "y.txt").exists() and not (tmp_path / "x.csv").exists()


def test_raceentry_down_offers_offline(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    rows[1][col(rows, "City")] = "Elsewhere"
    write_rows(out, rows)
    server.stop()
    for args in (["diff", out], ["push", out, "--yes"]):
        r = run(*args)
        assert r.exit_code == 1, r.output
        assert "cannot reach RaceEntry" in r.output and f"`timersync diff --offline {out}`" in unwrapped(r.output), r.output
    r = run("diff", "--offline", out)
    assert r.exit_code == 0 and "Elsewhere" in r.output, r.output


# ------------------------------------------------------------------------ part 7: the small things

def test_push_dry_run_is_diff_and_profile_names_ignore_case(client, server, tmp_path):
    out = tmp_path / "race.csv"
    r = run("pull", server.race_id, "-p", "RunScore", "-o", out, "--api-url", server.url)
    assert r.exit_code == 0, r.output
    rows = read_rows(out)
    rows[1][col(rows, "City")] = "Elsewhere"
    write_rows(out, rows)
    before = [(p.registration_id, p.city) for p in people(client, server)]
    dry = run("push", out, "--dry-run", "-p", "RUNSCORE")
    diff = run("diff", out, "-p", "runscore")
    assert dry.exit_code == diff.exit_code == 0, dry.output
    assert dry.output == diff.output and "city: " in dry.output and "-> Elsewhere" in dry.output
    assert [(p.registration_id, p.city) for p in people(client, server)] == before  # nothing sent


def test_api_url_help_states_the_real_default_and_login_names_the_server(server):
    for command in ("races", "pull", "diff", "push", "sync"):
        text = " ".join(run(command, "--help").output.split())
        assert "Default: the demo base" not in text
        assert "the server of your last `timersync login`" in text, (command, text)
    r = run("login", "--api-url", server.url, input=f"{server.email}\n{server.password}\n")
    assert r.exit_code == 0, r.output
    assert f"Logging in to {server.url}\n" in r.output
    assert f"Password for {server.email} on {server.url}: " in r.output


# ------------------------------------------------------------------------------ part 3: names, not ids

def test_plans_and_status_name_events_team_types_and_invalid_runners(client, server, tmp_path):
    control(server, "options", {"quirks": ["race-events"]})  # the document's races answer names no events
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    i = next(i for i, r in enumerate(rows[1:], 1) if r[col(rows, "Event ID")] == "16" and not r[col(rows, "Team")])
    who = f"{rows[i][col(rows, 'First Name')]} {rows[i][col(rows, 'Last Name')]}"
    rows[i][col(rows, "Event ID")], rows[i][col(rows, "Event")] = "69", ""
    write_rows(out, rows)
    add_rows(out, 1, prefix="Teamed", event_id=68, team="Track Pack")
    add_rows(out, 1, prefix="Undated", event_id=68)
    rows = read_rows(out)
    rows[-1][col(rows, "Date of Birth")] = "13/45/1990"
    write_rows(out, rows)
    r = run("diff", out, "--team-type", 69)
    assert r.exit_code == 1, r.output  # a row waits to be fixed
    table = {line.split()[0]: " ".join(line.split()) for line in r.output.splitlines()
             if line.split()[:1] and line.split()[0] in ("switch", "add", "new", "INVALID")}
    assert table["switch"].endswith(f"{who} event Marathon (16) -> 5K (69)"), r.output
    assert table["new"].endswith("Track Pack team type Corporate Challenge (69)"), r.output
    assert "TeamedAa Runner event 10K (68), new team Track Pack" in table["add"], r.output
    assert "UndatedAa Runner date of birth '13/45/1990' is not a date" in table["INVALID"], r.output
    r = run("status", out)
    assert f"           {who}: event Marathon (16) -> 5K (69)" in r.output.splitlines(), r.output


def test_a_new_team_that_would_be_full_is_an_invalid_row_before_anything_is_sent(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    names = add_rows(out, 6, prefix="Relay", event_id=16, team="Six Pack")  # Team Marathon takes 5
    r = run("diff", out, "--team-type", 68)
    assert r.exit_code == 1, r.output  # a row waits to be fixed
    invalid = [line for line in r.output.splitlines() if line.startswith("INVALID")]
    assert len(invalid) == 1 and "RelayAf Runner" in invalid[0], r.output
    assert "new team 'Six Pack' would be full (Team Marathon (68) takes 5 members" in " ".join(r.output.split())
    r = run("push", out, "--team-type", 68, "--yes")
    assert r.exit_code == 1 and "1 invalid row, nothing sent (row " in r.output, r.output
    assert " (RelayAf Runner): new team 'Six Pack' would be full" in r.output  # the refusal names the runner
    r = run("push", out, "--team-type", 68, "--yes", "--skip-invalid")
    assert r.exit_code == 0, r.output  # RaceEntry refused nothing: the check was made before sending
    assert [count(client, server, n) for n in names] == [1, 1, 1, 1, 1, 0]
