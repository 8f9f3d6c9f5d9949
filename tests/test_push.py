"""push end to end against the bundled server over real HTTP: every plan kind, the spreadsheet round trip,
conflicts, guards, per-row errors and injected faults (lost answers, 5xx after commit, 429, a killed run),
each ending with the server holding exactly the intended participants."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from converters.model.answers import parse_participants
from tests.conftest import snapshot_path_for, unwrapped
from tests.conftest import ROOT, control, has_soffice


def run(*args, input=None):
    from converters.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, input=input)


def pulled(client, server, tmp_path, profile="runscore", ext="csv") -> Path:
    from converters.plan.pull import pull

    out = tmp_path / f"race.{ext}"
    pull(client, server.race_id, profile, out)
    return out


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def col(rows, name):
    return rows[0].index(name)


def people(client, server):
    return parse_participants(client.participants(server.race_id, 0))


def key(p):
    return (p.first_name, p.last_name, p.event_id, p.email)


def new_row(rows, first, last, event_id, email=""):
    row = [""] * len(rows[0])
    row[col(rows, "First Name")], row[col(rows, "Last Name")] = first, last
    row[col(rows, "Event ID")], row[col(rows, "Email")] = str(event_id), email
    row[col(rows, "Date of Birth")] = "03/04/1990"
    return row


def edit_everything(path: Path) -> dict:
    """One of every change: modify, add, switch, new team, delete (row removed)."""
    rows = read_rows(path)
    e = {c: col(rows, c) for c in ("Registration ID", "Email", "Event ID", "Team", "Team ID", "Event", "City")}
    modified, switched, teamed = rows[1], rows[2], rows[3]
    modified[e["Email"]] = "Changed.Address@Example.com"
    modified[e["City"]] = "  Spanish   Fork "
    old_event = switched[e["Event ID"]]
    switched[e["Event ID"]] = "69" if old_event != "69" else "70"
    switched[e["Event"]] = ""
    teamed[e["Team"]], teamed[e["Team ID"]] = "Brand New Harriers", ""
    teamed[e["Event ID"]] = "16"
    teamed[e["Event"]] = ""
    deleted = rows.pop(4)
    rows.append(new_row(rows, "Newt", "Scamander", 68, "newt@example.com"))
    rows.append(new_row(rows, "Luna", "Lovegood", 69))
    write_rows(path, rows)
    return {"modified": modified[e["Registration ID"]], "switched": switched[e["Registration ID"]],
            "new_event": int(switched[e["Event ID"]]), "teamed": teamed[e["Registration ID"]],
            "deleted": deleted[e["Registration ID"]]}


def assert_intended(client, server, before, info, teams_event16=True):
    after = people(client, server)
    by_id = {p.registration_id: p for p in after}
    assert len(after) == len(before) + 2 - 1
    assert info["deleted"] not in by_id
    assert by_id[info["modified"]].email == "Changed.Address@Example.com"
    assert by_id[info["modified"]].city == "Spanish Fork"
    names = Counter((p.first_name, p.last_name) for p in after)
    assert names[("Newt", "Scamander")] == 1 and names[("Luna", "Lovegood")] == 1
    switched = [p for p in after if p.user_id == next(b.user_id for b in before if b.registration_id == info["switched"])]
    assert [p.event_id for p in switched] == [info["new_event"]]
    assert by_id[info["teamed"]].team_name == "Brand New Harriers"
    assert len(set(map(key, after))) == len(after)  # nobody twice
    return after


def event16_first(path: Path) -> None:
    rows = read_rows(path)
    ev = col(rows, "Event ID")
    rows[1:] = sorted(rows[1:], key=lambda r: r[ev] != "16")
    write_rows(path, rows)


# ------------------------------------------------------------------------------------ the happy path

def test_push_every_kind_then_nothing_left(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    event16_first(out)  # the new team's type (Team Marathon) fits event 16 only
    info = edit_everything(out)
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete")
    assert result.exit_code == 0, result.output
    assert ("Pushed to race 2026: 1 team created, 2 added, 2 modified, 1 switched, 1 deleted."
            in result.output), result.output
    assert "tmp_key" not in result.output and "tmp_secret" not in result.output
    assert_intended(client, server, before, info)
    # the same file again: nothing to do (adds matched, the switched id followed, the delete done)
    again = run("diff", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--delete")
    assert again.exit_code == 0, again.output
    assert "No changes to push." in again.output, again.output
    again = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete")
    assert again.exit_code == 0 and "No changes to push." in again.output
    assert len(people(client, server)) == len(before) + 1


def test_push_needs_confirmation(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    rows.append(new_row(rows, "Newt", "Scamander", 68))
    write_rows(out, rows)
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url)
    assert result.exit_code == 1
    assert result.output.endswith("Error: nothing was sent: there is no terminal to confirm on; add --yes to push "
                                  "from a script\n")
    assert len(people(client, server)) == 57 or all(p.first_name != "Newt" for p in people(client, server))


def test_spreadsheet_round_trip_diffs_empty(client, server, tmp_path):
    from converters.plan.convert import read_file, write_file

    out = pulled(client, server, tmp_path, "raceresult", "xlsx")
    race = client.race(server.race_id)
    # write -> read -> write again (what a timer's re-save does to the values)
    data = read_file(out, "raceresult", race=race)
    again = tmp_path / "again.xlsx"
    write_file(again, data.participants, "raceresult", race=race)
    for path in [out, again]:
        result = run("diff", server.race_id, path, "-p", "raceresult", "--api-url", server.url)
        assert result.exit_code == 0 and "No changes to push." in result.output, result.output
    if not has_soffice():
        pytest.skip("LibreOffice (soffice) not installed: spreadsheet re-save not tested")
    resaved = tmp_path / "resaved"
    for path, fmt in [(out, "xlsx"), (pulled(client, server, tmp_path, "runscore", "csv"), "csv")]:
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to",
                        fmt, "--outdir", str(resaved), str(path)], check=True, capture_output=True, timeout=120)
        profile = "raceresult" if fmt == "xlsx" else "runscore"
        result = run("diff", server.race_id, resaved / path.name, "-p", profile, "--api-url", server.url,
                     "--base", snapshot_path_for(path))
        assert result.exit_code == 0 and "No changes to push." in result.output, result.output


# -------------------------------------------------------------------------------- conflicts, guards

def city_conflict(client, server, out: Path) -> str:
    """The first runner's city changed both in the file (FileTown) and in RaceEntry (WebTown): a conflict.
    Returns their registration id."""
    rows = read_rows(out)
    rid = rows[1][col(rows, "Registration ID")]
    event = int(rows[1][col(rows, "Event ID")])
    rows[1][col(rows, "City")] = "FileTown"
    write_rows(out, rows)
    client.post_participants(server.race_id, {"participants": [{
        "registration_id": rid, "event_id": event, "user": {"first_name": rows[1][col(rows, "First Name")],
                                                           "last_name": rows[1][col(rows, "Last Name")],
                                                           "address": {"city": "WebTown"}}}]})
    return rid


def test_conflict_not_pushed_unless_preferred(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rid = city_conflict(client, server, out)
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes")
    assert result.exit_code == 8, result.output  # a conflict left unsent is not "done"
    assert "CONFLICT" in result.output and "file FileTown, RaceEntry WebTown: not pushed" in result.output
    by_id = {p.registration_id: p for p in people(client, server)}
    assert by_id[rid].city == "WebTown"
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--prefer", "file")
    assert result.exit_code == 0, result.output
    assert {p.registration_id: p for p in people(client, server)}[rid].city == "FileTown"


def test_delete_guards(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    n = len(rows) - 1
    write_rows(out, rows[:-10])
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete")
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: refusing to delete 10 participants: the limit is {n // 10} (--max-delete; "
                                  f"default 10% of the race or 25, whichever is smaller); nothing sent\n")
    write_rows(out, rows[:20])
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete",
                 "--max-delete", "100%")
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: refusing to delete: the file has 19 rows for RaceEntry's {n} participants, "
                                  f"so it looks truncated or empty; nothing sent\n")
    write_rows(out, rows[:-10])
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete",
                 "--max-delete", "10")
    assert result.exit_code == 0, result.output
    assert len(people(client, server)) == n - 10


def test_invalid_rows_block_unless_skipped(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    rows.append(new_row(rows, "Nolast", "", 68))
    rows.append(new_row(rows, "Good", "Runner", 68))
    write_rows(out, rows)
    bad = len(rows) - 1
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes")
    assert result.exit_code == 1
    assert result.output.endswith(f"Error: 1 invalid row, nothing sent (row {bad} (Nolast): last name is missing); "
                                  f"fix them, "
                                  f"or use --skip-invalid to send the valid rows\n")
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert [p.first_name for p in people(client, server) if p.first_name in ("Good", "Nolast")] == ["Good"]


def one_row_goes_bad(client, server, out: Path, monkeypatch) -> None:
    """Two runners' cities edited in ``out``; the first runner is deleted in RaceEntry between the last
    plan and sending (at push's re-check under the lock), so RaceEntry refuses that row (a strict one:
    the whole batch)."""
    from converters import push as lib

    rows = read_rows(out)
    rows[1][col(rows, "City")] = "Elsewhere"
    rows[2][col(rows, "City")] = "Elsewhere"
    victim = rows[1][col(rows, "Registration ID")]
    write_rows(out, rows)

    def recheck(asked, plan, say):
        client.delete_participants(server.race_id, {"registrations": [{"registration_id": int(victim)}]})

    monkeypatch.setattr(lib, "_recheck", recheck)


def test_per_row_errors_reported_by_row(client, server, tmp_path, monkeypatch):
    from converters import push as lib

    out = pulled(client, server, tmp_path)
    one_row_goes_bad(client, server, out, monkeypatch)
    result = lib.push(client, out, confirm=lambda plan: True)
    assert [(e.row, e.what) for e in result.errors] == [(2, "modify")]
    assert "not a registration of race" in result.errors[0].message and result.modified == 1


def test_a_refusal_out_of_order_is_no_other_rows(client, server, tmp_path, monkeypatch):
    """An answer listing its entries in another order than asked: a modified row is confirmed by its own
    id, never by the entry at its position (that would count the refused row as sent, and report the
    landed one as refused); the row that cannot be told is read back by the next push."""
    from converters import push as lib

    out = pulled(client, server, tmp_path)
    one_row_goes_bad(client, server, out, monkeypatch)
    control(server, "faults", {"faults": [{"method": "POST", "path": "/[0-9]+/participants$",
                                           "kind": "reverse_after", "count": 1}]})
    if server.behave == "strict":  # refuses the whole batch, then each row alone: nothing out of order
        result = lib.push(client, out, confirm=lambda plan: True)
        assert [(e.row, e.what) for e in result.errors] == [(2, "modify")] and result.modified == 1
        return
    # [row 3's id, row 2's refusal]: row 3 is confirmed by its id; row 2 is never counted as sent
    with pytest.raises(lib.PushInterrupted) as got:
        lib.push(client, out, confirm=lambda plan: True)
    assert "1 modified before: 1 of the 2 runners just sent were not confirmed" in str(got.value), str(got.value)


# ------------------------------------------------------------------------------------------- faults

@pytest.mark.parametrize("kind", ["drop_after", "500_after"])
def test_lost_answer_then_reconcile(client, server, tmp_path, kind):
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    event16_first(out)
    info = edit_everything(out)
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": kind, "count": 1}]})
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete")
    assert result.exit_code == 3, result.output
    assert "Push stopped; run the same push again" in unwrapped(result.output)
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete")
    assert result.exit_code == 0, result.output
    assert "reached RaceEntry and are not sent again" in result.output
    assert_intended(client, server, before, info)
    posts = [r for r in control(server, "requests", method="GET")["requests"]
             if r.get("method") == "POST" and str(r.get("path", "")).endswith("/participants")]
    assert len(posts) == 1  # the lost batch was not sent again


def test_429_is_retried(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    rows.append(new_row(rows, "Newt", "Scamander", 68))
    write_rows(out, rows)
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": "429", "count": 1,
                                           "retry_after": 0}]})
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes")
    assert result.exit_code == 0, result.output
    assert [p.first_name for p in people(client, server)].count("Newt") == 1


def test_killed_push_resumes(client, server, tmp_path, state_home):
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    event16_first(out)
    info = edit_everything(out)
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": "slow", "count": 1,
                                           "delay": 1}]})
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "converters", "push", str(server.race_id), str(out), "-p",
                             "runscore", "--api-url", server.url, "--yes", "--delete"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            reqs = control(server, "requests", method="GET")["requests"]
            if any(r.get("method") == "POST" and str(r.get("path", "")).endswith("/participants") for r in reqs):
                break
            time.sleep(0.1)
        else:
            pytest.fail("push never sent its participants batch")
        proc.send_signal(signal.SIGKILL)  # killed while waiting for the answer; the server goes on
    finally:
        proc.wait(timeout=10)
    deadline = time.time() + 20
    while time.time() < deadline and any(r.get("status") is None for r in control(server, "requests", method="GET")[
            "requests"] if r.get("method") == "POST"):
        time.sleep(0.1)
    pending = list((state_home / "journal").glob(f"*-race-{server.race_id}/*participants.json"))
    assert pending, "the batch was journaled before sending"
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", "--delete")
    assert result.exit_code == 0, result.output
    assert "an earlier push stopped while sending" in result.output
    assert_intended(client, server, before, info)


def test_cli_partial_exit_4(client, server, tmp_path):
    """A row RaceEntry rejects is reported by file row; the rest still goes; exit status 4."""
    import threading

    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    rows[1][col(rows, "City")] = "Elsewhere"
    rows[2][col(rows, "City")] = "Elsewhere"
    victim = rows[1][col(rows, "Registration ID")]
    write_rows(out, rows)
    control(server, "faults", {"faults": [{"method": "POST", "path": "/participants$", "kind": "slow", "count": 1,
                                           "delay": 1}]})

    def meanwhile():  # someone deletes the first runner while the batch is on its way
        for _ in range(100):
            if any(r.get("method") == "POST" and r["path"].endswith("/2026/participants")
                   for r in control(server, "requests", method="GET")["requests"]):
                client.delete_participants(server.race_id, {"registrations": [{"registration_id": int(victim)}]})
                return
            time.sleep(0.05)
    thread = threading.Thread(target=meanwhile)
    thread.start()
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes")
    thread.join()
    assert result.exit_code == 4, result.output
    # Refused per row (documented) or the whole batch refused, then split to find the row (strict).
    # One row number, the file's: RaceEntry's place of the row in its request is not repeated.
    told = result.output[result.output.index("Refused by RaceEntry: row 2 ("):result.output.index("\n1 row refused")]
    failed = [" ".join(told.split("\n  "))]  # one refusal, wrapped at 80 columns
    assert len(failed) == 1 and f"registration {victim}), the change: " in failed[0]
    assert "not a registration of race" in failed[0]
    assert "row 1" not in failed[0] and "registration_id" not in failed[0]
    assert result.output.endswith("1 row refused; the rest was sent.\n")
    assert [p.city for p in people(client, server)].count("Elsewhere") == 1


@pytest.mark.parametrize("snapshot", [True, False])
def test_lost_switch_answer_is_not_switched_twice(client, server, tmp_path, snapshot):
    """RaceEntry gives a switched registration a new id; after a lost answer the next push follows it
    (through the journal's read-back, or the snapshot's user id) instead of seeing a deleted runner."""
    control(server, "options", {"switch_new_id": True})  # the documented server keeps ids; RaceEntry may not
    out = pulled(client, server, tmp_path)
    if not snapshot:
        snapshot_path_for(out).unlink()
    rows = read_rows(out)
    i = next(i for i, r in enumerate(rows[1:], 1) if not r[col(rows, "Team")])  # a team would limit the events
    rid = rows[i][col(rows, "Registration ID")]
    old_event = rows[i][col(rows, "Event ID")]
    new_event = "69" if old_event != "69" else "70"
    rows[i][col(rows, "Event ID")], rows[i][col(rows, "Event")] = new_event, ""
    write_rows(out, rows)
    before = people(client, server)
    user = next(p.user_id for p in before if p.registration_id == rid)
    control(server, "faults", {"faults": [{"method": "POST", "path": "switch_participant_events$",
                                           "kind": "drop_after", "count": 1}]})
    # Without its snapshot the file's origin is unknown: --two-way sends its edits anyway.
    two_way = [] if snapshot else ["--two-way"]
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", *two_way)
    assert result.exit_code == 3, result.output
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes", *two_way)
    assert result.exit_code == 0, result.output
    assert "1 reached RaceEntry and is not sent again" in result.output
    assert "No changes to push." in result.output and "CONFLICT" not in result.output
    after = people(client, server)
    assert len(after) == len(before)
    assert [(p.event_id, p.registration_id != rid) for p in after if p.user_id == user] == [(int(new_event), True)]


def test_switch_answers_out_of_order_are_each_runners_own(client, server, tmp_path):
    """A RaceEntry that gives switched registrations new ids and lists them in another order than asked:
    each row takes the id its own runner has in the new event (read back), never the one at its position,
    which is another runner's (a later push would have sent one runner's edits to the other)."""
    control(server, "options", {"switch_new_id": True})
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    loners = [i for i, r in enumerate(rows[1:], 1) if not r[col(rows, "Team")]]  # a team limits the events
    old_event = rows[loners[0]][col(rows, "Event ID")]
    chosen = [i for i in loners if rows[i][col(rows, "Event ID")] == old_event][:3]
    new_event = "69" if old_event != "69" else "70"
    for i in chosen:
        rows[i][col(rows, "Event ID")], rows[i][col(rows, "Event")] = new_event, ""
    write_rows(out, rows)
    user_of = {p.registration_id: p.user_id for p in people(client, server)}
    control(server, "faults", {"faults": [{"method": "POST", "path": "switch_participant_events$",
                                           "kind": "reverse_after", "count": 1}]})
    result = run("push", server.race_id, out, "-p", "runscore", "--api-url", server.url, "--yes")
    assert result.exit_code == 0, result.output
    assert "another runner's new id" in unwrapped(result.output)
    switched = {user_of[rows[i][col(rows, "Registration ID")]] for i in chosen}
    assert len([p for p in people(client, server) if p.event_id == int(new_event) and p.user_id in switched]) == 3
    # The file's rows are still their own runners: nothing to send, nobody's id "moved" to another row.
    result = run("diff", out, "--api-url", server.url)
    assert result.exit_code == 0 and "No changes to push." in result.output, result.output


# ------------------------------------------------------------------------- updates that cannot wipe

def _record(p):
    return (p.first_name, p.middle_name, p.last_name, p.email, p.street, p.city, p.state, p.zipcode,
            p.country_code, p.dob, p.gender, p.phone, p.team_id, p.event_id)


@pytest.mark.parametrize("edit", ["first_name", "address", "team", "event"])
def test_a_replacing_server_keeps_every_other_field(client, server, tmp_path, edit):
    control(server, "options", {"update": "replace"})  # documented too: RaceEntry may replace on update
    out = pulled(client, server, tmp_path)
    before = {p.registration_id: p for p in people(client, server)}
    rows = read_rows(out)
    rid_col = col(rows, "Registration ID")
    row = next(r for r in rows[1:] if before[r[rid_col]].dob and before[r[rid_col]].city
               and (edit != "event" or not before[r[rid_col]].team_id))
    rid = row[rid_col]
    want = list(_record(before[rid]))
    if edit == "first_name":
        row[col(rows, "First Name")], want[0] = "Annabel", "Annabel"
    elif edit == "address":
        row[col(rows, "City")], want[5] = "Spanish Fork", "Spanish Fork"
    elif edit == "team":
        row[col(rows, "Team")], row[col(rows, "Team ID")] = "", ""
        want[12] = None
    else:
        new = 69 if before[rid].event_id != 69 else 70
        row[col(rows, "Event ID")], row[col(rows, "Event")] = str(new), ""
        want[13] = new
    write_rows(out, rows)
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    after = people(client, server)
    p = next(q for q in after if q.user_id == before[rid].user_id)
    assert list(_record(p)) == want
    others = {q.registration_id: _record(q) for q in after if q.user_id != before[rid].user_id}
    assert others == {k: _record(v) for k, v in before.items() if v.user_id != before[rid].user_id}


def test_a_server_that_wipes_anyway_is_named(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    before = {p.registration_id: p for p in people(client, server)}
    rows = read_rows(out)
    rid_col = col(rows, "Registration ID")
    row = next(r for r in rows[1:] if before[r[rid_col]].dob)
    rid, dob = row[rid_col], before[row[rid_col]].dob
    row[col(rows, "First Name")] = "Annabel"
    write_rows(out, rows)
    control(server, "faults", {"method": "POST", "path": "/participants$", "kind": "blank_after", "field": "dob"})
    r = run("push", out, "--yes")
    assert r.exit_code == 7, r.output
    name = f"Annabel {before[rid].last_name}"
    assert f"{name}'s dob was blanked by RaceEntry when" in r.output and "first name was changed" in r.output
    assert people(client, server) and next(p for p in people(client, server) if p.registration_id == rid).dob is None
    r = run("push", out, "--yes")  # the file still holds the dob: the next push sends it back
    assert r.exit_code == 0, r.output
    assert next(p for p in people(client, server) if p.registration_id == rid).dob == dob
