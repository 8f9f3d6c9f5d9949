"""diff and push over a venue's link: RaceEntry is read incrementally (the file's base and what changed
since), push verifies only what changed since its read, and the whole race is read only when it must be
(no base, an old base, --full, changes that do not add up). Against the bundled server over real HTTP;
the server's request log shows what was asked for."""

from __future__ import annotations

import json
import time

import pytest

from converters.plan.binding import binding_dir
from tests.conftest import control
from tests.test_identity import desk_fix
from tests.test_push import col, one_row_goes_bad, people, pulled, read_rows, run, write_rows

FEEDS = ("/participants", "/removed_participants")


def reads(server) -> list[str]:
    """The participants and removed-participants reads since the log was cleared: their
    ``modified_after_timestamp`` each ("0" is the whole race)."""
    out = []
    for r in control(server, "requests", method="GET")["requests"]:
        if r["method"] == "GET" and r["path"].endswith(FEEDS):
            q = dict(part.split("=", 1) for part in r["query"].split("&") if "=" in part)
            out.append(q.get("modified_after_timestamp", "now"))
    return out


def clear(server) -> None:
    control(server, "requests", method="DELETE")


def edit(path, reg_id, column, value):
    rows = read_rows(path)
    i = next(i for i, r in enumerate(rows) if r[col(rows, "Registration ID")] == str(reg_id))
    rows[i][col(rows, column)] = value
    write_rows(path, rows)


def test_diff_reads_only_the_changes_since_the_pull(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    desk_fix(client, server, before[2], first_name="Deskfixed")
    edit(out, before[5].registration_id, "City", "Linkville")
    clear(server)
    result = run("diff", out)
    assert result.exit_code == 0, result.output
    asked = reads(server)
    assert asked and "0" not in asked, asked  # never the whole race
    first = result.output.splitlines()[0]
    assert first.startswith("Read RaceEntry: 1 change since the file was pulled at "), result.output
    assert "1 modify" in result.output and "Linkville" in result.output
    assert "Deskfixed" not in result.output  # the desk's change is RaceEntry's, not an edit to send back


@pytest.mark.parametrize("update", ["merge", "replace"])
def test_push_keeps_a_desk_fix_made_between_pull_and_push(client, server, tmp_path, update):
    """The desk changes a runner after the pull; the timer edits another field of the same runner and of
    another. The push sends the timer's edits on RaceEntry's record as the desk left it (a replacing
    RaceEntry keeps the fix), verifies them from the changes alone, and the next diff is empty."""
    control(server, "options", {"update": update})
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    runner, other = before[4], before[9]
    desk_fix(client, server, runner, first_name="Deskfixed", city="Deskton")
    edit(out, runner.registration_id, "Phone", "801-555-0199")
    edit(out, other.registration_id, "City", "Linkville")
    clear(server)
    result = run("push", out, "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Read RaceEntry: 1 change since the file was pulled"), result.output
    assert "0" not in reads(server)  # planned and verified without reading the whole race
    now = {p.registration_id: p for p in people(client, server)}
    assert now[runner.registration_id].first_name == "Deskfixed"
    assert now[runner.registration_id].city == "Deskton"
    assert now[runner.registration_id].phone == "801-555-0199"
    assert now[other.registration_id].city == "Linkville"
    clear(server)
    again = run("diff", out)
    assert again.exit_code == 0 and "No changes to push." in again.output, again.output
    assert again.output.startswith("Read RaceEntry: "), again.output
    assert "0" not in reads(server)


def test_push_of_adds_and_a_delete_is_verified_from_the_changes(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    rows = read_rows(out)
    late = [""] * len(rows[0])
    late[col(rows, "First Name")], late[col(rows, "Last Name")] = "Late", "Linkrunner"
    late[col(rows, "Event ID")], late[col(rows, "Date of Birth")] = "68", "02/03/1991"
    gone = rows.pop(7)[col(rows, "Registration ID")]
    write_rows(out, rows + [late])
    clear(server)
    result = run("push", out, "--yes", "--delete")
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "1 deleted" in result.output, result.output
    assert "0" not in reads(server)
    now = people(client, server)
    assert gone not in {p.registration_id for p in now}
    assert sum(p.last_name == "Linkrunner" for p in now) == 1
    # pushed again: nothing to send, still from the changes alone
    clear(server)
    again = run("push", out, "--yes", "--delete")
    assert again.exit_code == 0 and "2 changes since" in again.output.splitlines()[0], again.output
    assert "0 adds" in again.output and "0" not in reads(server)


def _set_binding(path, **meta):
    folder = binding_dir(path)
    data = json.loads((folder / "binding.json").read_text())
    for k, v in meta.items():
        data[k] = v(data[k]) if callable(v) else v
    (folder / "binding.json").write_text(json.dumps(data))


@pytest.mark.parametrize("case", ["full", "old", "no-base", "counts-off"])
def test_the_whole_race_is_read_when_it_must_be(client, server, tmp_path, case):
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    edit(out, before[5].registration_id, "City", "Linkville")
    args = ["diff", out]
    why = {"full": "--full", "old": "the file's copy is 14 h old",
           "no-base": "the file has no base of its own",
           "counts-off": "the changes lack 1 of the 1 this file's pushes made"}[case]
    if case == "full":
        args.append("--full")
    elif case == "old":
        _set_binding(out, pulled_at=time.time() - 14 * 3600)
    elif case == "no-base":
        (binding_dir(out) / "base.json.gz").unlink()
    else:  # the ledger says a push modified a runner whom RaceEntry's changes do not show changed
        entry = {"op": "modify", "row": 9, "registration_id": before[7].registration_id,
                 "values": {"city": "Nowhere"}, "at": time.time()}
        _set_binding(out, ledger=lambda ledger: ledger + [entry])
    clear(server)
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Read the whole race ({why}).", result.output
    assert "0" in reads(server)
    if case != "counts-off":
        assert "Linkville" in result.output
    if case == "full":  # `push --dry-run` is `diff`, --full included
        dry = run("push", out, "--dry-run", "--full")
        assert dry.output.splitlines()[0] == "Read the whole race (--full).", dry.output


def test_full_after_option_sets_the_age(client, server, tmp_path):
    out = pulled(client, server, tmp_path)
    _set_binding(out, pulled_at=time.time() - 2 * 3600)
    assert run("diff", out).output.startswith("Read RaceEntry: 0 changes since")
    result = run("diff", out, "--full-after", "1")
    assert result.output.startswith("Read the whole race (the file's copy is 2 h old)."), result.output


def test_a_runner_who_registered_since_the_pull_is_matched_from_the_changes(client, server, tmp_path):
    """Identity checks use the same state: a late entry typed into the file (no id) who registered online
    after the pull is that runner, found among the changes, never added twice, without a full read."""
    from converters.compare.bodies import participants_request, participant_payload
    from converters.model import Participant

    out = pulled(client, server, tmp_path)
    online = Participant(event_id=68, first_name="Olive", last_name="Online", dob="1988-04-05",
                         email="olive@example.com", gender="F")
    client.post_participants(server.race_id, participants_request([participant_payload(online)]))
    rows = read_rows(out)
    late = [""] * len(rows[0])
    for column, value in (("First Name", "Olive"), ("Last Name", "Online"), ("Event ID", "68"),
                          ("Date of Birth", "04/05/1988"), ("Email", "olive@example.com")):
        late[col(rows, column)] = value
    write_rows(out, rows + [late])
    clear(server)
    result = run("push", out, "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Read RaceEntry: 1 change since"), result.output
    assert "0 adds" in result.output and "0" not in reads(server), result.output
    assert sum(p.last_name == "Online" for p in people(client, server)) == 1


def test_the_plan_under_the_lock_reuses_the_confirmed_read_until_something_changed(client, server, tmp_path,
                                                                                    monkeypatch):
    """Push plans before asking and again under the race's lock. The second plan reads neither the file
    nor its base again while they are unchanged: only RaceEntry's changes since the first read. With none,
    the confirmed plan is the plan; a desk fix meanwhile is compared afresh (and kept by the modify); a file
    saved meanwhile is read again."""
    from converters.plan import planning
    from converters import push as lib

    reads_of_file = []
    read_input = planning.read_input
    monkeypatch.setattr(planning, "read_input", lambda *a, **k: reads_of_file.append(a[0]) or read_input(*a, **k))
    out = pulled(client, server, tmp_path)
    before = people(client, server)
    edit(out, before[3].registration_id, "City", "Linkville")
    asked = []
    result = lib.push(client, out, confirm=lambda plan: asked.append(plan) or True)
    assert len(reads_of_file) == 1 and result.plan is asked[0] and len(result.plan.modifies) == 1

    runner = before[6]
    edit(out, runner.registration_id, "Phone", "801-555-0142")
    reads_of_file.clear()

    def desk_meanwhile(plan):
        asked.append(plan)
        desk_fix(client, server, runner, first_name="Deskfixed")
        return True

    result = lib.push(client, out, confirm=desk_meanwhile)
    assert len(reads_of_file) == 1 and result.plan is not asked[-1] and len(result.plan.modifies) == 1
    now = {p.registration_id: p for p in people(client, server)}[runner.registration_id]
    assert (now.first_name, now.phone) == ("Deskfixed", "801-555-0142")

    edit(out, before[8].registration_id, "City", "Linkton")
    reads_of_file.clear()

    def saved_meanwhile(plan):  # the same edit saved again: same plan, but the file must be read again
        time.sleep(0.01)
        edit(out, before[8].registration_id, "City", "Linkton")
        return True

    result = lib.push(client, out, confirm=saved_meanwhile)
    assert len(reads_of_file) == 2 and len(result.plan.modifies) == 1


def test_a_batch_refused_whole_is_read_back_from_the_changes(strict_server, tmp_path, monkeypatch):
    """A strict RaceEntry refuses a whole batch for one bad row; before sending any part again, push reads
    back what landed: from what changed since its plan's read, not the whole race."""
    from converters import push as lib
    from converters.client import RaceEntryClient

    server = strict_server
    client = RaceEntryClient(server.url, sleep=lambda s: None)
    client.login(server.email, server.password)
    out = pulled(client, server, tmp_path)
    one_row_goes_bad(client, server, out, monkeypatch)
    clear(server)
    result = lib.push(client, out, confirm=lambda plan: True)
    assert [(e.row, e.what) for e in result.errors] == [(2, "modify")] and result.modified == 1
    asked = reads(server)
    assert asked and "0" not in asked, asked  # the split's read-back, and the verification: changes only
