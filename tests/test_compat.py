"""The compatibility suite (issue 17, part 7): the README's race-day session (login, races, teams, pull,
edit, diff, push, push again, sync, pull) against the rehearsal server with each quirk a real RaceEntry
plausibly has switched on, one at a time, beside a quirk-free baseline of each behaviour and the strict
behaviour with every quirk at once. Every session ends with RaceEntry holding exactly the intended
runners (read from the server's own store, not through timersync) and with files that hold exactly
RaceEntry's runners.

One server per variant, a race of 60, every command through the command line as a timer types it. The
key is ended twice on the way (RaceEntry ends it when the account logs in elsewhere): with the password
at hand (RACEENTRY_EMAIL/RACEENTRY_PASSWORD), each command logs in again by itself."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from converters.plan.convert import unneutralize
from converters.rehearsal.defaults import QUIRKS

from .conftest import control
from .test_push import read_rows, write_rows

# (name, behaviour, quirks)
VARIANTS = ([("documented", "documented", ()), ("strict", "strict", ())]
            + [(q, "documented", (q,)) for q in QUIRKS] + [("strict-every-quirk", "strict", tuple(QUIRKS))])


def run(*args):
    from converters.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args) -> str:
    r = run(*args)
    assert r.exit_code == 0, f"timersync {' '.join(map(str, args))}:\n{r.output}"
    print(f"$ timersync {' '.join(map(str, args))}\n{r.output}")   # (shown when the session fails)
    return r.output


def store_docs(server) -> dict[int, dict]:
    """RaceEntry's live runners as the server stores them, by user id (kept through an event switch
    that gives a new registration id)."""
    store = server._server.store
    with store.lock:
        docs = [orjson.loads(r[0]) for r in store.db.execute(
            "SELECT doc FROM participants WHERE race_id=? AND deleted=0", (server.race_id,))]
    return {d["user"]["user_id"]: d for d in docs}


def runners_in(path: Path) -> set[tuple[str, ...]]:
    """(registration id, first name, last name, event id, city) of every row of a runscore file."""
    rows = read_rows(path)
    h = rows[0]
    cell = unneutralize   # a value a spreadsheet would run is written with a ' before it
    return {(r[h.index("Registration ID")], cell(r[h.index("First Name")]), cell(r[h.index("Last Name")]),
             r[h.index("Event ID")], r[h.index("City")]) for r in rows[1:]}


def runners_of(docs: dict[int, dict]) -> set[tuple[str, ...]]:
    """The same of RaceEntry's runners."""
    return {(str(d["registration_id"]), d["user"]["first_name"], d["user"]["last_name"], str(d["event_id"]),
             (d["user"]["address"] or {}).get("city") or "") for d in docs.values()}


def edit(path: Path, docs: dict[int, dict]) -> dict[str, int]:
    """The timer's race-day edits: a corrected first name, a city, an event switch (by the Event ID
    column), a scratched runner's row deleted, a late entry on a new team. The user ids of the runners
    edited."""
    rows = read_rows(path)
    h = rows[0]
    by_reg = {str(d["registration_id"]): d for d in docs.values()}
    col = h.index
    plain = [i for i, r in enumerate(rows[1:], 1) if not r[col("Team")] and r[col("Event ID")] != "67"
             and by_reg[r[col("Registration ID")]]["user"]["dob"]]
    renamed, moved, city, scratched = plain[:4]
    shown = {r[col("Event ID")]: r[col("Event")] for r in rows[1:]}
    rows[renamed][col("First Name")] = "Renamed"
    rows[city][col("City")] = "Ogden"
    rows[moved][col("Event ID")], rows[moved][col("Event")] = "67", shown.get("67", "67")
    late = [""] * len(h)
    for k, v in {"First Name": "Late", "Last Name": "Entry", "Sex": "F", "Date of Birth": "07/04/1990",
                 "Event ID": "68", "Event": shown.get("68", "68"), "Team": "Track Pack",
                 "Email": "late.entry@example.com"}.items():
        late[col(k)] = v
    rows.append(late)
    user = {name: by_reg[rows[i][col("Registration ID")]]["user"]["user_id"]
            for name, i in (("renamed", renamed), ("moved", moved), ("city", city), ("scratched", scratched))}
    del rows[scratched]
    write_rows(path, rows)
    return user


def same_runner(doc: dict) -> dict:
    """What a push must keep of a runner: everything but the time of the last change (and the age,
    which follows the dob)."""
    return {k: v for k, v in doc.items() if k not in ("last_modified", "age")}


@pytest.fixture(params=VARIANTS, ids=[name for name, _, _ in VARIANTS])
def variant(request, monkeypatch):
    from converters.rehearsal import start_background

    _, behave, quirks = request.param
    # a race of 60 (quick), but one longer than its pages where pages are cut to 100
    handle = start_background(participants=250 if "page-cap" in quirks else 60, seed=3, behave=behave,
                              test_controls=True, quirks=quirks)
    monkeypatch.setenv("RACEENTRY_EMAIL", handle.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", handle.password)
    yield handle
    handle.stop()


def test_the_race_day_session_ends_right(variant, tmp_path):
    s = variant
    race = s.race_id
    before = store_docs(s)

    ok("login", "--api-url", s.url, "--email", s.email, "--password", s.password)
    assert "Wasatch Harvest Run" in ok("races")
    assert "Team Marathon" in ok("teams", race, "--types")
    ok("teams", race)
    out = tmp_path / "runscore.csv"
    assert f"({len(before)} participants" in ok("pull", race, "-p", "runscore", "-o", out)
    assert runners_in(out) == runners_of(before)

    user = edit(out, before)
    control(s, "expire_credentials")   # RaceEntry ended the key: the next command logs in again
    planned = ok("diff", out, "--team-type", 69, "--delete")
    assert "1 team to create, 1 add, 2 modifies, 1 switch, 1 delete" in planned
    pushed = ok("push", out, "--team-type", 69, "--delete", "--yes")
    assert "1 team created, 1 added, 2 modified, 1 switched, 1 deleted" in pushed
    assert "No changes to push." in ok("push", out, "--team-type", 69, "--delete", "--yes")

    control(s, "expire_credentials")
    synced = tmp_path / "synced.csv"
    ok("sync", race, "-p", "runscore", "-o", synced)
    again = ok("sync", race, "-p", "runscore", "-o", synced)   # re-reads the rows pushed just now
    assert "0 changed" in again and "(no change)" in again, again
    ok("pull", race, "-p", "runscore", "-o", out)
    assert "No changes to push." in ok("diff", out)

    # RaceEntry: exactly the intended runners, nothing else changed, nothing wiped
    after = store_docs(s)
    new = [uid for uid in after if uid not in before]
    assert sorted(before) == sorted([uid for uid in after if uid not in new] + [user["scratched"]])
    assert len(new) == 1
    late = after[new[0]]
    assert (late["user"]["first_name"], late["user"]["last_name"], late["user"]["dob"], late["user"]["gender"],
            late["user"]["email"], late["event_id"], late["team_name"], late["team_type_id"]) == (
        "Late", "Entry", "1990-07-04", "F", "late.entry@example.com", 68, "Track Pack", 69)
    expected = {uid: same_runner(d) for uid, d in before.items() if uid != user["scratched"]}
    expected[user["renamed"]]["user"]["first_name"] = "Renamed"
    expected[user["city"]]["user"]["address"]["city"] = "Ogden"
    moved = expected[user["moved"]]
    moved["event_id"] = 67
    moved["registration_id"] = after[user["moved"]]["registration_id"]   # a new id where switching gives one
    assert {uid: same_runner(after[uid]) for uid in expected} == expected

    # the files: exactly RaceEntry's runners, the edits in them
    assert runners_in(out) == runners_in(synced) == runners_of(after)


def test_a_typing_switch_between_syncs_is_no_change(tmp_path):
    """RaceEntry sending the same runners in another typing (ids as text, dob as MM/DD/YYYY, ...) from
    one read to the next changed nothing: sync says so and leaves the file alone."""
    from converters.rehearsal import start_background

    with start_background(participants=60, seed=3, test_controls=True) as s:
        ok("login", "--api-url", s.url, "--email", s.email, "--password", s.password)
        out = tmp_path / "runscore.csv"
        ok("pull", s.race_id, "-p", "runscore", "-o", out)
        edit(out, store_docs(s))
        ok("push", out, "--team-type", 69, "--yes")   # runners changed just now: the next syncs re-read them
        synced = tmp_path / "synced.csv"
        ok("sync", s.race_id, "-p", "runscore", "-o", synced)
        written = synced.read_bytes()
        for typing in ("loose", "documented"):
            control(s, "options", {"typing": typing})
            line = ok("sync", s.race_id, "-p", "runscore", "-o", synced)
            assert "0 changed" in line and "(no change)" in line, line
        assert synced.read_bytes() == written
