"""Doubtful answers settled by identity, over real HTTP against the bundled server: a gateway's 504 while
RaceEntry still applies the batch, an expired key answered after the batch landed with no password at
hand, ids answered in another order than the rows, twins two machines added at once, and one server
under two spellings. Each ends with exactly the intended runners (none twice, none lost) and the exit
status the README promises."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from converters import model, state
from tests.conftest import ROOT, control
from tests.test_push import read_rows as rows_of
from tests.test_push import write_rows as save


def run(*args):
    from converters.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def people(client, server):
    return model.parse_participants(client.participants(server.race_id, 0))


def pull(client, server, path: Path) -> Path:
    from converters.pull import pull as do_pull

    do_pull(client, server.race_id, "runscore", path)
    return path


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
