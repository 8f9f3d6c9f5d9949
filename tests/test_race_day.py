"""The race-day loop, replayed against the bundled server over real HTTP: push, keep editing, push again,
RaceEntry edits in between, two pushes at once, a file cut short, answers that confirm too little, an
expired key after the batch landed, a killed push. Each ends with exactly the intended runners: none lost,
none twice, no field wiped, and a diff of the file that settles to empty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from converters.model import answers
from converters.compare import bodies
from tests.conftest import ROOT, control, drop_folder, unwrapped
from tests.test_push import read_rows as rows_of
from tests.test_push import write_rows as save


def run(*args):
    from converters.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def people(client, server):
    return answers.parse_participants(client.participants(server.race_id, 0))


def pull(client, server, path: Path) -> Path:
    from converters.plan.pull import pull as do_pull

    do_pull(client, server.race_id, "runscore", path)
    return path


def post_fault(server, kind: str, **extra) -> None:
    """The next POST of participants meets fault ``kind`` (see the server's test controls)."""
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": kind, "count": 1,
                                           **extra}]})


def new_row(rows, first, last, event_id=68, email="", dob="03/04/1990", team=""):
    h = rows[0]
    row = [""] * len(h)
    row[h.index("First Name")], row[h.index("Last Name")], row[h.index("Event ID")] = first, last, str(event_id)
    row[h.index("Email")], row[h.index("Date of Birth")], row[h.index("Team")] = email, dob, team
    return row


def add_runners(path: Path, n: int, prefix: str = "Late") -> list[str]:
    rows = rows_of(path)
    names = [f"{prefix}{i:03d}" for i in range(n)]
    for name in names:
        rows.append(new_row(rows, name, "Runner", 68, f"{name.lower()}@example.com"))
    save(path, rows)
    return names


def counts(client, server) -> Counter:
    return Counter((p.first_name, p.last_name) for p in people(client, server))


def no_twins(client, server) -> None:
    everyone = people(client, server)
    keys = Counter((p.first_name, p.last_name, p.event_id, p.dob) for p in everyone)
    assert [k for k, n in keys.items() if n > 1] == []


def diff_is_empty(path: Path, server) -> None:
    r = run("diff", path)  # race, profile and server all come from the file's binding
    assert r.exit_code == 0, r.output
    assert "No changes to push." in r.output and "CONFLICT" not in r.output, r.output


def modify(client, server, p, **changes):
    client.post_participants(server.race_id, bodies.participants_request(
        [bodies.participant_payload(p.copy(**changes), list(changes))]))


def team_for_event(client, server, event_id: int):
    """A team a runner of ``event_id`` may join (its type allows the event and it has room)."""
    types = {str(t.team_type_id): t for t in answers.parse_team_types(client.team_types(server.race_id))}
    members = Counter(p.team_id for p in people(client, server) if p.team_id)
    return next(t for t in answers.parse_teams(client.teams(server.race_id))
                if event_id in types[str(t.team_type_id)].valid_event_ids
                and members[t.team_id] + 2 <= int(types[str(t.team_type_id)].raw.get("max_members") or 99))


@pytest.fixture
def logged_in(server, monkeypatch):
    monkeypatch.setenv("RACEENTRY_EMAIL", server.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", server.password)
    return server


# ----------------------------------------------------------------------------- the seven ways, one each

def test_1_two_pushes_at_once_add_each_runner_once(client, server, tmp_path, state_home):
    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 120)
    before = len(people(client, server))
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "converters", "push", str(out), "--yes", "--batch-size", "20"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(people(client, server)) == before + len(names)
    got = counts(client, server)
    assert all(got[(n, "Runner")] == 1 for n in names)
    assert sum("No changes to push." in o for o, _ in outputs) == 1  # the second saw the first one's ledger
    diff_is_empty(out, server)


def test_1_a_push_that_cannot_wait_names_the_holder(client, server, tmp_path):
    from converters.locks import push_lock

    out = pull(client, server, tmp_path / "race.csv")
    add_runners(out, 1)
    with push_lock(server.url, server.race_id):
        r = run("push", out, "--yes", "--wait", "0")
    assert r.exit_code == 1
    # The plan is shown (and confirmed) before the lock is asked for; then the refusal.
    assert r.output.splitlines()[-1].startswith(f"Error: race {server.race_id} is being pushed by pid "
                                                f"{os.getpid()} since ")
    assert "nothing was sent" in r.output
    assert counts(client, server)[("Late000", "Runner")] == 0


@pytest.mark.parametrize("cut", ["mid_line", "mid_cell", "no_newline"])
def test_2_a_file_cut_short_is_never_planned(client, server, tmp_path, cut):
    out = pull(client, server, tmp_path / "race.csv")
    rows = rows_of(out)
    rows[-1][rows[0].index("City")] = "Edited City"  # an edit in the last row, which the copy then cuts
    save(out, rows)
    data = out.read_bytes()
    if cut == "mid_line":
        data = data[: data.rstrip(b"\r\n").rfind(b",", 0, len(data) - 40)]
    elif cut == "mid_cell":
        data = data[: len(data) - 30]
    else:
        data = data.rstrip(b"\r\n")
    out.write_bytes(data)
    before = people(client, server)
    control(server, "requests", method="DELETE")
    for cmd in ("diff", "push"):
        r = run(cmd, out, "--yes") if cmd == "push" else run(cmd, out)
        assert r.exit_code == 1, r.output
        assert "the file looks cut short" in r.output and f"row {len(rows)}" in r.output, r.output
        assert len(unwrapped(r.output).strip().splitlines()) == 1
    assert not [q for q in control(server, "requests", method="GET")["requests"] if q["method"] == "POST"]
    assert [(p.email, p.phone, p.city) for p in people(client, server)] == [(p.email, p.phone, p.city) for p in before]


def test_3_an_answer_confirming_fewer_rows_is_not_success(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 40)
    post_fault(server, "short_after")
    r = run("push", out, "--yes", "--batch-size", "40")
    assert r.exit_code == 3, r.output
    assert "20 of the 40 runners just sent" in r.output and "not confirmed" in r.output
    assert "run the same push again" in r.output
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "20 reached RaceEntry" not in r.output or "not sent again" in r.output
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * len(names)
    diff_is_empty(out, server)


def test_4_an_add_renamed_in_raceentry_is_not_added_again(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    add_runners(out, 3)
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    diff_is_empty(out, server)
    late = next(p for p in people(client, server) if p.first_name == "Late001")
    modify(client, server, late, last_name="Runner-Smith")  # the desk corrects the new runner's name
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "No changes to push." in r.output
    got = counts(client, server)
    assert got[("Late001", "Runner")] == 0 and got[("Late001", "Runner-Smith")] == 1
    diff_is_empty(out, server)


@pytest.mark.parametrize("typo", ["99999", "abc", "-5", "1003.5"])
def test_5_a_mistyped_registration_id_is_invalid_not_a_re_add(client, server, tmp_path, typo):
    out = pull(client, server, tmp_path / "race.csv")
    rows = rows_of(out)
    rid_col = rows[0].index("Registration ID")
    victim = rows[3]
    victim[rows[0].index("City")] = "Typo Town"
    victim[rid_col] = typo
    save(out, rows)
    before = counts(client, server)
    r = run("push", out, "--yes", "--prefer", "file")
    assert r.exit_code == 1, r.output
    assert "row 4" in r.output and "fix the id, or clear it to add the runner" in r.output, r.output
    assert "nothing sent" in r.output
    r = run("push", out, "--yes", "--prefer", "file", "--skip-invalid")
    assert r.exit_code == 0, r.output
    assert counts(client, server) == before  # nobody added again


def test_5_prefer_file_re_adds_only_a_removed_registration(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    rows = rows_of(out)
    rid = rows[2][rows[0].index("Registration ID")]
    rows[2][rows[0].index("City")] = "Comeback City"
    save(out, rows)
    client.delete_participants(server.race_id, bodies.delete_request([rid]))
    first, last = rows[2][rows[0].index("First Name")], rows[2][rows[0].index("Last Name")]
    r = run("push", out, "--yes", "--prefer", "file")
    assert r.exit_code == 0, r.output
    assert counts(client, server)[(first, last)] == 1
    r = run("push", out, "--yes", "--prefer", "file")  # the ledger knows the new registration now
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output
    assert counts(client, server)[(first, last)] == 1


def test_6_expired_key_after_the_batch_landed_is_read_back(client, logged_in, tmp_path):
    server = logged_in
    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 50)
    post_fault(server, "102_after")
    r = run("push", out, "--yes", "--batch-size", "50")
    assert r.exit_code == 0, r.output
    assert "50 reached RaceEntry and are not sent again" in r.output, r.output
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * 50
    diff_is_empty(out, server)


def test_7_a_team_raceentry_gives_a_new_runner_is_not_reverted(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    add_runners(out, 2)
    assert run("push", out, "--yes").exit_code == 0
    rows = rows_of(out)
    rows[1][rows[0].index("City")] = "Second Push City"  # the timer keeps editing
    save(out, rows)
    team = team_for_event(client, server, 68)
    late = [p for p in people(client, server) if p.first_name in ("Late000", "Late001")]
    for p in late:
        modify(client, server, p, team_id=team.team_id)
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "team" not in r.output.split("Three-way")[0], r.output
    assert {p.team_name for p in people(client, server) if p.first_name in ("Late000", "Late001")} == {team.team_name}
    diff_is_empty(out, server)


# --------------------------------------------------------------------------------------- the binding

def test_diff_and_push_need_nothing_but_the_file(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    r = run("diff", out)
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output
    r = run("diff", 2027, out)
    assert r.exit_code == 1 and "was pulled from race 2026, not race 2027" in r.output
    r = run("diff", out, "-p", "raceresult")
    assert r.exit_code == 1 and "was written with profile runscore, not raceresult" in r.output
    r = run("diff", out, "--api-url", "http://127.0.0.1:9/rest")
    assert r.exit_code == 1 and f"was pulled from {server.url}, not http://127.0.0.1:9/rest" in r.output
    hand = tmp_path / "hand.csv"
    hand.write_bytes(out.read_bytes())
    r = run("diff", hand)
    assert r.exit_code == 1 and "which race?" in r.output


def test_old_side_files_are_still_read(client, server, tmp_path):
    """A file pulled by an earlier version: <file>.snapshot.json and <file>.race.json beside it."""
    import gzip
    import shutil

    from converters.plan.binding import binding_dir

    out = pull(client, server, tmp_path / "race.csv")
    bound = binding_dir(out)
    (tmp_path / "race.csv.snapshot.json").write_bytes(gzip.decompress((bound / "base.json.gz").read_bytes()))
    shutil.copy(bound / "race.json", tmp_path / "race.csv.race.json")
    shutil.rmtree(tmp_path / ".timersync")
    p = people(client, server)[0]
    modify(client, server, p, city="Desk City")  # RaceEntry's change: stale, not pushed back
    r = run("diff", out, "-p", "runscore", "--api-url", server.url)
    assert r.exit_code == 0, r.output
    assert "Three-way" in r.output and "No changes to push." in r.output
    add_runners(out, 1)
    assert run("push", out, "-p", "runscore", "--api-url", server.url, "--yes").exit_code == 0
    assert (binding_dir(out) / "binding.json").exists()  # the push bound it
    diff_is_empty(out, server)


def test_a_hand_made_file_is_bound_by_its_first_push(client, server, tmp_path):
    from converters.plan.convert import write_file

    out = tmp_path / "hand.csv"
    write_file(out, people(client, server), "runscore", race=client.race(server.race_id))
    add_runners(out, 2)
    r = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes")
    assert r.exit_code == 0, r.output
    r = run("push", out, "--yes")  # now it remembers race, profile, server and its adds
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output
    assert counts(client, server)[("Late000", "Runner")] == 1


# ---------------------------------------------------------------------------------------- race morning

def test_race_morning(client, logged_in, tmp_path, state_home):
    """The whole loop in one morning, asserting at the end: every intended runner once, nobody lost, no
    field wiped, and the file's diff empty."""
    from converters.raceday.watch import Watcher
    from converters.raceday.watch_config import load_config

    server = logged_in
    out = pull(client, server, tmp_path / "runscore.csv")
    start = {p.registration_id: p for p in people(client, server)}

    # 1. Edit and push: a rename, an email, three late entries.
    rows = rows_of(out)
    h = rows[0]
    rid_col = h.index("Registration ID")
    renamed, emailed = rows[1][rid_col], rows[2][rid_col]
    rows[1][h.index("First Name")] = "Renamed"
    rows[2][h.index("Email")] = "new.address@example.com"
    save(out, rows)
    add_runners(out, 3, "Dawn")
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    diff_is_empty(out, server)

    # 2. The desk corrects one late entry and puts another on a team; the timer keeps editing and
    #    pushes again (twice at once: a double start).
    now = {p.first_name: p for p in people(client, server)}
    modify(client, server, now["Dawn000"], last_name="Runner-Jones")
    team = team_for_event(client, server, 68)
    modify(client, server, now["Dawn001"], team_id=team.team_id)
    add_runners(out, 30, "Noon")
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "converters", "push", str(out), "--yes", "--batch-size", "10"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    assert [p.communicate(timeout=120) and p.returncode for p in procs] == [0, 0]
    diff_is_empty(out, server)

    # 3. A truncated copy is refused; nothing is sent.
    cut = tmp_path / "copy" / "runscore.csv"
    cut.parent.mkdir()
    cut.write_bytes(out.read_bytes()[:-25])
    r = run("push", server.race_id, cut, "-p", "runscore", "--api-url", server.url, "--yes")
    assert r.exit_code == 1 and "looks cut short" in r.output

    # 4. The drop folder pushes a slowly copied file while the timer's own file stays as it is.
    folder = drop_folder(tmp_path, server, "push = true\nsettle_seconds = 0.3\nincomplete_timeout = 30\n")
    w = Watcher(load_config(folder), client=client)
    dropped = rows_of(out)
    dropped.append(new_row(dropped, "Dropped", "Runner", 68, "dropped@example.com"))
    body = "".join(",".join(f'"{c}"' for c in row) + "\r\n" for row in dropped).encode()
    target = folder / "in" / "runscore.csv"
    target.write_bytes(body[: len(body) // 2])  # the copy pauses half way

    def finish_copy():
        time.sleep(1.0)
        with open(target, "ab") as fh:
            fh.write(body[len(body) // 2:])
    t = threading.Thread(target=finish_copy)
    t.start()
    summary = w.run_once(max_wait=30)
    t.join()
    assert [o.status for o in summary.outcomes] == ["done"], [o.message for o in summary.outcomes]
    assert counts(client, server)[("Dropped", "Runner")] == 1

    # 5. kill -9 in the middle of a push, then the same push again.
    add_runners(out, 20, "Kill")
    post_fault(server, "slow", delay=1)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    def slow_posts():
        return [q for q in control(server, "requests", method="GET")["requests"]
                if q["method"] == "POST" and q["path"].endswith("/participants") and q["fault"] == "slow"]

    deadline = time.time() + 60
    while time.time() < deadline and not slow_posts():
        time.sleep(0.05)
    assert slow_posts(), "the push never sent its batch"
    proc.send_signal(signal.SIGKILL)  # killed while its batch is on the server
    proc.wait(timeout=10)
    while time.time() < deadline and any(q["status"] is None for q in slow_posts()):
        time.sleep(0.05)  # the server finishes the batch it was given
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "an earlier push stopped while sending" in r.output

    # The morning's end: each intended runner once, nobody lost, no field wiped, an empty diff.
    diff_is_empty(out, server)
    no_twins(client, server)
    final = {p.registration_id: p for p in people(client, server)}
    assert set(start) <= set(final)  # nobody lost
    got = counts(client, server)
    for prefix, n in (("Dawn", 3), ("Noon", 30), ("Kill", 20)):
        assert [got[(f"{prefix}{i:03d}", "Runner")] + got[(f"{prefix}{i:03d}", "Runner-Jones")]
                for i in range(n)] == [1] * n, prefix
    assert final[renamed].first_name == "Renamed" and final[emailed].email == "new.address@example.com"
    for rid, p in start.items():  # no field wiped
        q = final[rid]
        for f in ("email", "phone", "street", "city", "zipcode", "dob"):
            assert not (getattr(p, f) and not getattr(q, f)), (rid, f)
    assert next(p for p in final.values() if p.first_name == "Dawn001").team_name == team.team_name


def test_an_added_runner_edited_after_the_push_is_modified_not_added(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    add_runners(out, 2)
    assert run("push", out, "--yes").exit_code == 0
    rows = rows_of(out)
    rows[-1][rows[0].index("First Name")] = "Late001x"  # the timer fixes the name of a runner it added
    save(out, rows)
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "1 modified" in r.output and "0 added" in r.output, r.output
    got = counts(client, server)
    assert got[("Late001x", "Runner")] == 1 and got[("Late001", "Runner")] == 0
    diff_is_empty(out, server)


def test_one_watcher_per_folder(client, server, tmp_path):
    from converters.locks import watch_lock

    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "timersync.toml").write_text(f'race_id = {server.race_id}\napi_url = "{server.url}"\n'
                                           '[[outputs]]\nprofile = "runscore"\nfile = "runscore.csv"\n')
    with watch_lock(folder):
        r = run("watch", folder, "--once")
    assert r.exit_code == 1
    assert r.output.startswith(f"Error: {folder} is already watched by pid {os.getpid()} since ")


def test_watch_fails_a_file_that_stays_cut_short(client, server, tmp_path):
    from converters.raceday.watch import Watcher
    from converters.raceday.watch_config import load_config

    folder = drop_folder(tmp_path, server, "push = true\nsettle_seconds = 0.2\nincomplete_timeout = 0.6\n")
    out = pull(client, server, tmp_path / "race.csv")
    rows = rows_of(out)
    rows[1][rows[0].index("City")] = "Never Sent"
    save(out, rows)
    (folder / "in" / "runscore.csv").write_bytes(out.read_bytes()[:-30])
    reports: list[str] = []
    w = Watcher(load_config(folder), client=client, report=reports.append)
    summary = w.run_once(max_wait=10)
    assert [o.status for o in summary.outcomes] == ["failed"]
    assert any("waiting" in r and "looks cut short" in r for r in reports), reports
    error = (folder / "failed" / "runscore.csv.error.txt").read_text()
    assert "the file looks cut short" in error.splitlines()[0]
    assert "Never Sent" not in {p.city for p in people(client, server)}


def test_the_readme_rehearsal_settles_after_one_push(client, server, tmp_path):
    """The README's race-day edit (a rename, a switch typed as an event name, a bib swap, a late entry on
    a new team), pushed once: RaceEntry gives the switched runner a new id, and the file's Event ID column
    still holds the old event. The next diff must not switch the runner back."""
    out = pull(client, server, tmp_path / "runscore.csv")
    subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
    r = run("push", out, "--team-type", "69", "--yes")
    assert r.exit_code == 0, r.output
    for _ in range(2):
        r = run("diff", out)
        assert r.exit_code == 0, r.output
        assert "switch " not in r.output and "0 adds, 0 modifies, 0 switches" in r.output, r.output
        assert "not pushable" in r.output  # the bib swap stays listed: the API has no bib field
        assert run("push", out, "--yes").exit_code == 0


@pytest.mark.documented_only
def test_a_strict_rehearsal_ends_with_the_same_runners(tmp_path):
    """The README's rehearsal (pull, race-day edits, push, push again) against both behaviours of the
    rehearsal server ends with the same runners: what the timer sees does not depend on which RaceEntry."""
    from converters.client import RaceEntryClient
    from converters.rehearsal import start_background

    outcome = {}
    for behave in ("documented", "strict"):
        handle = start_background(participants=60, seed=3, behave=behave)
        try:
            c = RaceEntryClient(handle.url, sleep=lambda s: None)
            c.login(handle.email, handle.password)
            (tmp_path / behave).mkdir()
            out = pull(c, handle, tmp_path / behave / "runscore.csv")
            subprocess.run([sys.executable, str(ROOT / "samples" / "race_day_edit.py"), str(out)], check=True)
            for _ in range(2):
                r = run("push", out, "--team-type", "69", "--yes")
                assert r.exit_code == 0, r.output
            outcome[behave] = Counter((p.first_name, p.last_name, p.event_id, p.team_name, p.email)
                                      for p in answers.parse_participants(c.participants(handle.race_id, 0)))
        finally:
            handle.stop()
    assert outcome["documented"] == outcome["strict"]


def test_a_push_right_after_a_killed_one_waits_for_its_batch(client, server, tmp_path, state_home):
    """kill -9 while RaceEntry is still applying the batch, push again at once: the read-back cannot see
    the rows yet, so the push waits, sending nothing, until they appear; then it has nothing left to send."""

    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 10, "Slow")
    post_fault(server, "slow", delay=3)
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "converters", "push", str(out), "--yes"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not any(q["fault"] == "slow" for q in control(
            server, "requests", method="GET")["requests"]):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    r = run("push", out, "--yes")  # at once: the server is still on it
    assert r.exit_code == 0, r.output
    assert "an earlier push stopped while sending 10 runners" in r.output, r.output
    assert "10 reached RaceEntry" in r.output and "No changes to push." in r.output, r.output
    assert len([q for q in control(server, "requests", method="GET")["requests"] if q["method"] == "POST"
                and q["path"].endswith("/participants")]) == 1
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * 10
