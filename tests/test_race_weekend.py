"""A race weekend as timing teams really work it, against both server behaviours: two laptops with
separate state folders, a file e-mailed to a colleague, a copy dropped into a pushing drop folder, a
one-column sort, a full sort with corrections, a runner typed twice, a slow gateway that applies after
the client gave up, an expired key after the batch applied with no password at hand, and POST answers
whose ids come back in another order. RaceEntry must end with exactly the runners and values a careful
person would expect, and the last diff must be empty."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import control, drop_folder, watch_round
from tests.test_push import col, people, read_rows, run, write_rows


@pytest.fixture
def quick_polls(monkeypatch):
    from converters.push import readback as push_readback

    monkeypatch.setattr(push_readback, "SETTLE_POLL", 0.3)


def late(rows, first, last, dob, event_id, email="", team=""):
    row = [""] * len(rows[0])
    row[col(rows, "First Name")], row[col(rows, "Last Name")] = first, last
    row[col(rows, "Event ID")], row[col(rows, "Email")] = str(event_id), email
    row[col(rows, "Date of Birth")], row[col(rows, "Team")] = dob, team
    return row


def append(path: Path, *new: list[str]) -> None:
    rows = read_rows(path)
    write_rows(path, rows + list(new))


def set_cell(path: Path, rid: str, header: str, value: str) -> None:
    rows = read_rows(path)
    i = next(i for i, r in enumerate(rows) if r[col(rows, "Registration ID")] == rid)
    rows[i][col(rows, header)] = value
    write_rows(path, rows)


def fault(server, kind: str, **extra) -> None:
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": kind, "count": 1,
                                           **extra}]})


def desk(client, server, p, **changes) -> None:
    """The registration desk changes a runner in RaceEntry's own pages."""
    from tests.test_identity import desk_fix

    client.login()  # the laptops' logins ended the desk's
    desk_fix(client, server, p, **changes)


def test_race_weekend(server, tmp_path, monkeypatch, quick_polls):
    from converters.client import RaceEntryClient

    # The desk, and the checks, use their own login (one account: every login ends the others' keys, so
    # each logs in again as it needs to).
    client = RaceEntryClient(server.url, email=server.email, password=server.password, sleep=lambda s: None)
    def laptop(name: str, password: bool = True) -> None:
        monkeypatch.setenv("TIMERSYNC_HOME", str(tmp_path / f"home-{name}"))
        for var, value in (("RACEENTRY_EMAIL", server.email), ("RACEENTRY_PASSWORD", server.password)):
            if password:
                monkeypatch.setenv(var, value)
            else:
                monkeypatch.delenv(var, raising=False)

    def push(path, *more, code=0):
        result = run("push", path, "--yes", *more)
        assert result.exit_code == code, result.output
        return result.output

    start = {p.registration_id: p for p in people(client, server)}
    ids = sorted(start, key=int)
    files = {}
    for name in ("A", "B"):
        laptop(name)
        (tmp_path / name).mkdir()
        assert run("login", "--api-url", server.url).exit_code == 0
        files[name] = tmp_path / name / "runscore.csv"
        assert run("pull", server.race_id, "-p", "runscore", "-o", files[name]).exit_code == 0
    a, b = files["A"], files["B"]

    # 1. Both laptops add the same walk-up runner; the desk then corrects the name and gives a team.
    for name in ("A", "B"):
        rows = read_rows(files[name])
        append(files[name], late(rows, "Walk", "Upton", "03/04/1985", 68, "walk@upton.org"))
        laptop(name)
        push(files[name])
    walk = [p for p in people(client, server) if p.last_name == "Upton"]
    assert len(walk) == 1
    team = next(t for t in client.teams(server.race_id) if str(t.get("team_type_id")) == "69")
    desk(client, server, walk[0], first_name="Walker", team_id=str(team["team_id"]))
    for name in ("B", "A"):  # neither laptop adds the runner again nor reverts the desk
        laptop(name)
        push(files[name])

    # 2. Laptop A: Last Name sorted on its own is refused; nothing changes.
    laptop("A")
    saved = a.read_bytes()
    rows = read_rows(a)
    lasts = sorted(r[col(rows, "Last Name")] for r in rows[1:])
    for r, last in zip(rows[1:], lasts):
        r[col(rows, "Last Name")] = last
    write_rows(a, rows)
    out = push(a, code=1)
    assert "sorted on its own" in out and "nothing sent" in out
    a.write_bytes(saved)

    # 3. A full sort (every column together), then a correction and a runner pasted twice.
    rows = read_rows(a)
    rows = [rows[0]] + sorted(rows[1:], key=lambda r: (r[col(rows, "Last Name")], r[col(rows, "First Name")]))
    write_rows(a, rows)
    set_cell(a, ids[1], "City", "Sortville")
    rows = read_rows(a)
    twice = late(rows, "Paste", "Twice", "05/06/1977", 67, "paste@twice.org")
    append(a, twice, list(twice))
    out = push(a)
    assert "1 added, 1 modified" in out

    # 4. A copy e-mailed to a colleague (no binding, no state of ours), while the desk renames a runner.
    mail = tmp_path / "mail"
    mail.mkdir()
    shutil.copy(a, mail / "runscore.csv")
    desk(client, server, start[ids[2]], first_name="Deskname")
    laptop("C")
    rows = read_rows(mail / "runscore.csv")
    append(mail / "runscore.csv", late(rows, "Mailed", "Entry", "01/02/1990", 68))
    set_cell(mail / "runscore.csv", ids[3], "City", "Colleagueville")  # cannot tell: not sent
    mailed = [server.race_id, mail / "runscore.csv", "-p", "runscore", "--api-url", server.url, "--yes", "--delete"]
    out = run("push", *mailed)
    # The copy holds the walk-up runner laptop A added, still without an id and under the name the desk has
    # corrected since: too like that runner to add, never added on its own.
    assert out.exit_code == 1 and "Walk Upton looks like registration" in out.output, out.output
    out = run("push", *mailed, "--skip-invalid")
    assert out.exit_code == 0 and out.output.startswith(
        "Read the whole race (the file has no base of its own).\nNo base:"), out.output
    assert "1 added, 0 modified" in out.output and "0 deleted" in out.output, out.output

    # 5. Laptop A's drop folder pushes what lands in in/: a copy of out/ edited while the desk fixed a runner.
    laptop("A")
    folder = drop_folder(tmp_path, server, "settle_seconds = 0.2\npush = true\nsync_every = 60\n")

    watch_round(folder, client)
    copy = tmp_path / "timer-copy.csv"
    shutil.copy(folder / "out" / "runscore.csv", copy)
    desk(client, server, start[ids[4]], first_name="Deskfix")
    watch_round(folder, client)
    set_cell(copy, ids[5], "City", "Droptown")
    copy.replace(folder / "in" / "runscore.csv")
    assert watch_round(folder, client).count("done") == 1
    assert "pushed: 0 added, 1 modified" in (folder / "out" / "runscore.plan" / "summary.txt").read_text()

    # 6. A slow gateway: 504 at once, RaceEntry applies the batch a moment later.
    rows = read_rows(a)
    append(a, late(rows, "Slow", "Gateway", "07/08/1970", 16, "slow@gate.org"))
    fault(server, "504_apply_later", delay=1)
    out = push(a, code=3)
    out = push(a)  # waits for the batch, sends nothing twice
    assert "reached RaceEntry and is not sent again" in out

    # 7. An expired key answered after the batch applied, with no password at hand.
    laptop("A")
    assert run("login", "--api-url", server.url).exit_code == 0  # the password typed once, then gone
    laptop("A", password=False)
    rows = read_rows(a)
    append(a, late(rows, "Expired", "Keyes", "09/10/1960", 67, "exp@keyes.org"))
    fault(server, "102_after")
    out = push(a, code=3)
    assert "timersync login" in out
    assert run("login", "--api-url", server.url, "--email", server.email, "--password", server.password).exit_code == 0
    push(a)

    # 8. POST answers listing the ids in reverse order.
    rows = read_rows(a)
    append(a, late(rows, "Rev", "One", "01/01/1981", 68, "rev1@x.org"),
           late(rows, "Rev", "Two", "02/02/1982", 68, "rev2@x.org"))
    fault(server, "reverse_after")
    push(a, "--write-ids")

    # RaceEntry now holds exactly what a careful person expects.
    now = people(client, server)
    by_id = {p.registration_id: p for p in now}
    names = Counter((p.first_name, p.last_name) for p in now)
    for who in [("Walker", "Upton"), ("Paste", "Twice"), ("Mailed", "Entry"), ("Slow", "Gateway"),
                ("Expired", "Keyes"), ("Rev", "One"), ("Rev", "Two")]:
        assert names[who] == 1, (who, names[who])
    assert len(now) == len(start) + 7
    walker = next(p for p in now if p.last_name == "Upton")
    assert walker.team_id == str(team["team_id"])
    assert by_id[ids[1]].city == "Sortville"
    assert by_id[ids[2]].first_name == "Deskname"
    assert by_id[ids[3]].city == start[ids[3]].city
    assert by_id[ids[4]].first_name == "Deskfix" and by_id[ids[5]].city == "Droptown"
    untouched = set(ids) - set(ids[1:6])
    assert all((by_id[i].first_name, by_id[i].last_name, by_id[i].city) ==
               (start[i].first_name, start[i].last_name, start[i].city) for i in untouched if i in by_id)
    rows = read_rows(a)
    got = {r[col(rows, "First Name")] + " " + r[col(rows, "Last Name")]: r[col(rows, "Registration ID")]
           for r in rows[1:] if r[col(rows, "Last Name")] in ("One", "Two")}
    rev = {f"{p.first_name} {p.last_name}": p.registration_id for p in now if p.first_name == "Rev"}
    assert got == rev  # --write-ids gave each runner their own id
    for path in (a, b):
        laptop(path.parent.name)
        assert "No changes to push." in run("diff", path).output
