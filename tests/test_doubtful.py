"""Doubtful answers settled by identity, over real HTTP against the bundled server: a gateway's 504 while
RaceEntry still applies the batch, an expired key answered after the batch landed with no password at
hand, ids answered in another order than the rows, twins two machines added at once, and one server
under two spellings. Each ends with exactly the intended runners (none twice, none lost) and the exit
status the README promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from converters import state
from converters.push.result import PushInterrupted
from tests.conftest import ROOT, control, unwrapped
from tests.test_race_day import people, pull, run
from tests.test_push import read_rows as rows_of
from tests.test_push import write_rows as save


def post_fault(server, kind: str, **extra) -> None:
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": kind, "count": 1,
                                           **extra}]})


def add_runners(path: Path, n: int, prefix: str = "Late") -> list[str]:
    rows = rows_of(path)
    h = rows[0]
    names = [f"{prefix}{i:03d}" for i in range(n)]
    for i, name in enumerate(names):
        row = [""] * len(h)
        row[h.index("First Name")], row[h.index("Last Name")], row[h.index("Event ID")] = name, "Runner", "68"
        row[h.index("Email")] = f"{name.lower()}@example.com"
        row[h.index("Date of Birth")] = f"03/{i % 28 + 1:02d}/1990"
        rows.append(row)
    save(path, rows)
    return names


def counts(client, server) -> Counter:
    return Counter((p.first_name, p.last_name) for p in people(client, server))


def posts(server) -> list[dict]:
    return [q for q in control(server, "requests", method="GET")["requests"]
            if q["method"] == "POST" and q["path"].endswith("/participants")]


# ----------------------------------------------------------------------------- one server, one key

def test_server_key_spellings():
    k = state.server_key
    assert k("http://127.0.0.1:8765/rest") == k("http://localhost:8765/rest") == k("HTTP://LOCALHOST:8765/rest/") \
        == k("http://[::1]:8765/rest") == "localhost:8765/rest"
    assert k("https://www.raceentry.com:443/rest") == k("http://WWW.RaceEntry.com:80/rest/") \
        == "www.raceentry.com/rest"
    assert k("http://127.0.0.1:8765/rest") != k("http://127.0.0.1:8766/rest")
    assert k("https://demo.raceentry.com/rest") != k("https://www.raceentry.com/rest")


def test_a_login_under_one_spelling_serves_the_other(server):
    from converters.client import RaceEntryClient

    RaceEntryClient(server.url).login(server.email, server.password)
    other = server.url.replace("127.0.0.1", "localhost")
    assert other != server.url
    assert state.load_credentials(other) is not None
    assert RaceEntryClient(other).races()["races"]
    state.forget_credentials(other)
    assert state.load_credentials(server.url) is None


def test_two_spellings_of_one_server_push_one_at_a_time(client, server, tmp_path, state_home):
    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 100)
    before = len(people(client, server))
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    urls = [server.url.replace("127.0.0.1", "localhost"), server.url.replace("http://", "HTTP://") + "/"]
    procs = [subprocess.Popen([sys.executable, "-m", "converters", "push", str(out), "--yes", "--batch-size", "20",
                               "--api-url", url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for url in urls]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(people(client, server)) == before + len(names)
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * len(names)
    assert sum("No changes to push." in o for o, _ in outputs) == 1  # the second waited, then saw the ledger
    assert len(list((state_home / "journal").iterdir())) == 1  # one journal for the server's race


# ------------------------------------------------------------------- a gateway's 504, applied later

@pytest.fixture
def quick_polls(monkeypatch):
    from converters.push import readback as push_readback

    monkeypatch.setattr(push_readback, "SETTLE_POLL", 0.3)


def test_504_then_applied_later_is_waited_for_not_sent_twice(client, server, tmp_path, quick_polls):
    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 30)
    post_fault(server, "504_apply_later", delay=2)
    r = run("push", out, "--yes")
    assert r.exit_code == 3, r.output  # not confirmed, never "failed"
    assert "HTTP 504" in r.output and "run the same push again" in r.output, r.output
    assert counts(client, server)[("Late000", "Runner")] == 0  # the gateway gave up; RaceEntry is still on it
    r = run("push", out, "--yes")  # at once
    assert r.exit_code == 0, r.output
    assert "an earlier push stopped while sending 30 runners" in r.output, r.output
    assert "batch 0" not in r.output  # in the timer's words
    assert "30 reached RaceEntry and are not sent again" in r.output and "No changes to push." in r.output
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * len(names)
    assert len(posts(server)) == 1
    assert run("diff", out).output.count("No changes to push.") == 1


def test_rows_that_never_appear_are_planned_again_after_the_window(client, server, tmp_path):
    """The wait is counted from when the batch was sent, on the clock given; after it, what never
    appeared did not land and is sent again (here the 503 really applied nothing)."""
    from converters import push as lib
    from converters.client import RaceEntryClient

    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 5)
    post_fault(server, "503")
    with pytest.raises(PushInterrupted):
        lib.push(RaceEntryClient(server.url), out)
    now = [time.time()]
    slept, said = [], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    result = lib.push(RaceEntryClient(server.url), out, settle_wait=20, settle_poll=4, clock=lambda: now[0],
                      sleep=sleep, progress=said.append)
    assert sum(slept) >= 19 and len(slept) >= 5, slept
    assert re.match(r"an earlier push stopped while sending 5 runners \(\d\d:\d\d\): 5 of 5 not in RaceEntry yet; waiting up to 20 s", said[0]), said
    assert any("0 reached RaceEntry" in m and "5 did not: sent now if the file still has them" in m for m in said), said
    assert len(result.added) == 5
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * 5


# ------------------------------------------------------ an expired key after the batch, no password

def test_expired_key_after_the_batch_without_a_password_is_not_confirmed(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 20)
    post_fault(server, "102_after")
    r = run("push", out, "--yes")  # only the key `login` stored: no password to log in again with
    assert r.exit_code == 3, r.output
    line = unwrapped(r.output).strip().splitlines()[-1]
    assert line.startswith("Error: the 20 runners just sent may have reached RaceEntry: ") and \
        f"Run `timersync login --api-url {server.url}`, then push again" in line, r.output
    assert "nothing sent" not in r.output.lower() and "Traceback" not in r.output
    assert counts(client, server)[("Late000", "Runner")] == 1  # it had landed
    r = run("login", "--api-url", server.url, "--email", server.email, "--password", server.password)
    assert r.exit_code == 0, r.output
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "20 reached RaceEntry and are not sent again" in r.output and "No changes to push." in r.output
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * len(names)
    assert len(posts(server)) == 1


# ---------------------------------------------------------------- ids answered in another order

def test_reversed_answer_ids_are_settled_by_identity(client, server, tmp_path):
    from converters.plan import binding

    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 6)
    post_fault(server, "reverse_after")
    r = run("push", out, "--yes", "--write-ids")
    assert r.exit_code == 0, r.output
    assert "RaceEntry's answer gave id" in r.output and "another runner's" in r.output
    everyone = people(client, server)
    id_of = {p.first_name: p.registration_id for p in everyone if p.first_name in names}
    assert Counter(p.first_name for p in everyone if p.first_name in names) == Counter(names)
    receipt = next((out.parent / ".timersync" / out.name / "pushes").glob("*/receipt.csv"))
    import csv

    with open(receipt, encoding="utf-8-sig", newline="") as fh:
        added = [row for row in csv.DictReader(fh) if row["what"] == "added"]
    assert len(added) == 6
    assert all(row["registration id"] == id_of[row["runner"].split()[0]] for row in added), added
    ledger = [e for e in binding.load(out).ledger if e["op"] == "add"]
    assert {e["values"]["first_name"]: e["registration_id"] for e in ledger} == {n: id_of[n] for n in names}
    rows = rows_of(out)
    h = rows[0]
    in_file = {row[h.index("First Name")]: row[h.index("Registration ID")] for row in rows[1:]
               if row[h.index("First Name")] in names}
    assert in_file == {n: id_of[n] for n in names}
    r = run("push", out, "--yes")
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output


# ------------------------------------------------------- what landed, when a later batch fails

def test_a_failure_after_a_batch_landed_says_what_landed(client, server, tmp_path):
    from converters import push as lib
    from converters.client import RaceEntryClient
    from converters.errors import ConnectionFailed

    class Flaky(RaceEntryClient):
        calls = 0

        def post_participants(self, race_id, body):
            Flaky.calls += 1
            if Flaky.calls == 2:
                raise ConnectionFailed(f"cannot reach RaceEntry at {self.base_url} (connection refused)")
            return super().post_participants(race_id, body)

    out = pull(client, server, tmp_path / "race.csv")
    names = add_runners(out, 10)
    with pytest.raises(PushInterrupted) as caught:
        lib.push(Flaky(server.url), out, batch_size=5)
    assert str(caught.value).startswith("5 added before: ") and "connection refused" in str(caught.value)
    assert caught.value.exit_code == 3
    result = lib.push(RaceEntryClient(server.url), out)
    assert len(result.added) == 5
    got = counts(client, server)
    assert [got[(n, "Runner")] for n in names] == [1] * 10


# ----------------------------------------------------------- twins two machines added at once

def test_a_twin_added_elsewhere_at_the_same_moment_is_named_and_undone(client, server, tmp_path):
    import threading

    out = pull(client, server, tmp_path / "race.csv")
    add_runners(out, 1, "Twin")
    post_fault(server, "slow", delay=1)

    def elsewhere():  # another computer adds the same runner while this push's batch is on its way
        for _ in range(200):
            if any(q["fault"] == "slow" for q in posts(server)):
                client.post_participants(server.race_id, {"participants": [{
                    "registration_id": "", "event_id": 68, "user": {
                        "first_name": "Twin000", "last_name": "Runner", "email": "twin000@example.com",
                        "dob": "1990-03-01"}}]})
                return
            time.sleep(0.02)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    r = run("push", out, "--yes")
    thread.join()
    assert r.exit_code == 6, r.output
    twins = sorted(p.registration_id for p in people(client, server) if p.first_name == "Twin000")
    assert len(twins) == 2
    ours = next(line for line in r.output.splitlines() if "(added by this push)" in line)
    assert ours.startswith("Duplicate: row 59, Twin000 Runner, is in RaceEntry twice: "), r.output
    mine = ours.split("twice: ")[1].split()[0]
    other = next(t for t in twins if t != mine)
    assert f"and {other} (added at the same moment elsewhere)" in r.output
    assert f"timersync undo-add {out} {mine}" in r.output
    assert all(len(line) <= 100 for line in r.output.splitlines() if "undo-add" in line or "Duplicate" in line)
    r = run("undo-add", out, other)  # not this computer's: refused
    assert r.exit_code == 1 and "was not added by a push from this computer" in r.output, r.output
    r = run("undo-add", out, mine)
    assert r.exit_code == 0, r.output
    assert f"Removed registration {mine} (Twin000 Runner)" in r.output
    assert [p.registration_id for p in people(client, server) if p.first_name == "Twin000"] == [other]
    r = run("undo-add", out, mine)
    assert r.exit_code == 1 and f"was removed already (by an earlier undo-add; {other} stays)" in r.output, r.output
    r = run("push", out, "--yes")
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output
    assert [p.registration_id for p in people(client, server) if p.first_name == "Twin000"] == [other]


def test_reversed_team_ids_put_each_runner_in_their_own_team(client, server, tmp_path):
    out = pull(client, server, tmp_path / "race.csv")
    add_runners(out, 4, "Teamed")
    rows = rows_of(out)
    h = rows[0]
    teams = {"Teamed000": "Alpha Pack", "Teamed001": "Alpha Pack", "Teamed002": "Beta Pack", "Teamed003": "Beta Pack"}
    for row in rows[1:]:
        if row[h.index("First Name")] in teams:
            row[h.index("Team")] = teams[row[h.index("First Name")]]
    save(out, rows)
    control(server, "faults", {"faults": [{"method": "POST", "path": "/teams$", "kind": "reverse_after", "count": 1}]})
    r = run("push", out, "--yes", "--team-type", "69")
    assert r.exit_code == 0, r.output
    assert "RaceEntry's answer gave id" in r.output and "another team's" in r.output, r.output
    got = {p.first_name: p.team_name for p in people(client, server) if p.first_name in teams}
    assert got == teams
    r = run("push", out, "--yes", "--team-type", "69")
    assert r.exit_code == 0 and "No changes to push." in r.output, r.output


def test_a_journal_kept_under_the_url_as_typed_is_taken_over(state_home):
    from converters.plan.journal import Journal

    url = "http://127.0.0.1:8765/rest"
    legacy = state_home / "journal" / f"{state.slug(url)}-race-2026"
    legacy.mkdir(parents=True)
    (legacy / "000001-participants.json").write_text('{"kind": "participants", "status": "lost", "items": []}')
    journal = Journal(2026, server=url)  # an earlier version's pending batches go on being reconciled
    assert journal.folder.name == "localhost_8765_rest-race-2026"
    assert Journal(2026, server="http://LOCALHOST:8765/rest/").folder == journal.folder
    assert [e["status"] for _, e in journal.pending()] == ["lost"]
    assert not legacy.exists()
