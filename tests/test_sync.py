"""Incremental sync against the bundled server over real HTTP."""

from __future__ import annotations

import time

from click.testing import CliRunner

from converters.plan.convert import read_file, write_file
from converters.model.answers import parse_participants
from converters.compare.bodies import delete_request, participant_payload, participants_request, switch_request
from converters.model import Participant
from converters.files.profiles import load_profile
from converters.raceday.sync import Syncer
from converters.raceday.sync_outputs import SyncOutput, incoming_path_for, visible_fields

from .conftest import control

PROFILE = "runscore"


def server_participants(client, race_id) -> list[Participant]:
    return parse_participants(client.participants(race_id, 0))


def assert_file_matches_server(client, race_id, path, profile=PROFILE):
    """The file holds exactly the server's participants on every field the profile shows."""
    prof = load_profile(profile)
    data = read_file(path, prof, race=client.race(race_id))
    fields = [f for f in visible_fields(prof) if f in data.present]

    def row(p):
        return tuple(None if p.get(f) == "" else p.get(f) for f in fields)

    got = {p.registration_id: row(p) for p in data.participants}
    want = {p.registration_id: row(p) for p in server_participants(client, race_id)}
    assert len(got) == len(data.participants), "duplicate rows in the file"
    assert got == want


def make_syncer(client, server, tmp_path, **kw):
    return Syncer(client, server.race_id, [SyncOutput(PROFILE, tmp_path / "out.csv")], **kw)


def edit(client, race_id, p: Participant, **changes):
    new = p.copy(**changes)
    client.post_participants(race_id, participants_request([participant_payload(new, changes)]))


def add(client, race_id, event_id, first, last):
    p = Participant(event_id=event_id, first_name=first, last_name=last, email=f"{first}@example.com")
    client.post_participants(race_id, participants_request([participant_payload(p)]))


def test_first_sync_writes_and_binds_the_file(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path)
    result = syncer.run()
    assert result.ok and result.full
    assert result.added == result.total == len(server_participants(client, server.race_id))
    assert (tmp_path / "out.csv").exists()
    bound = tmp_path / ".timersync" / "out.csv"
    assert (bound / "base.json.gz").exists() and (bound / "race.json").exists() and (bound / "binding.json").exists()
    assert "wrote out.csv" in result.status_line()
    assert_file_matches_server(client, server.race_id, tmp_path / "out.csv")


def test_changes_add_edit_switch_remove_in_the_watermark_second(client, server, tmp_path):
    race = server.race_id
    syncer = make_syncer(client, server, tmp_path)
    syncer.run()
    now = int(time.time())
    control(server, "clock", {"now": now})  # every change below lands in the same second
    control(server, "options", {"switch_new_id": True})  # a RaceEntry whose switch gives a new registration
    people = server_participants(client, race)
    a, b, c, d = people[0], people[1], people[2], people[3]
    edit(client, race, a, first_name="Zelda")
    result = syncer.run()
    assert (result.added, result.changed, result.removed) == (0, 1, 0)
    assert syncer.roster.get("watermark") == now
    # Still the same second as the watermark: these must not be missed.
    edit(client, race, b, last_name="Quimby")
    add(client, race, a.event_id, "Newt", "Comer")
    other_event = next(p.event_id for p in people if p.event_id != c.event_id)
    client.switch_events(race, switch_request([(c.registration_id, other_event)]))
    client.delete_participants(race, delete_request([d.registration_id]))
    result = syncer.run()
    assert result.added == 2  # the new participant, and the switched one's new registration
    assert result.changed == 1
    assert result.removed == 2  # the deleted one, and the switched one's old registration
    assert_file_matches_server(client, race, tmp_path / "out.csv")
    # Rows rendered incrementally give the very bytes a fresh write_file gives.
    from converters.plan.convert import with_events

    race_obj = with_events(client.race(race), client.participants(race, 0))[0]  # events as sync found them
    write_file(tmp_path / "fresh.csv", syncer.participants(), PROFILE, race=race_obj)
    assert (tmp_path / "fresh.csv").read_bytes() == (tmp_path / "out.csv").read_bytes()
    ids = [p.registration_id for p in read_file(tmp_path / "out.csv", PROFILE).participants]
    assert c.registration_id not in ids and d.registration_id not in ids
    # The overlap re-reads these rows: not a change, no write.
    before = (tmp_path / "out.csv").stat()
    result = syncer.run()
    assert (result.added, result.changed, result.removed) == (0, 0, 0)
    assert "no change" in result.status_line()
    after = (tmp_path / "out.csv").stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    changes = syncer.roster.db.execute("SELECT kind, count(*) FROM changes WHERE full=0 GROUP BY kind").fetchall()
    assert dict(changes) == {"add": 2, "change": 2, "remove": 2}


def test_no_change_round_is_one_request_pair_and_no_write(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path)
    syncer.run()
    out = tmp_path / "out.csv"
    before = out.stat()
    control(server, "requests", method="DELETE")
    result = syncer.run()
    log = control(server, "requests", method="GET")["requests"]
    paths = sorted(r["path"].rsplit("/", 1)[-1] for r in log)
    # the overlap's rows, once: the first round found that this server ignores paging (fewer rows than
    # asked is otherwise never taken as the end); nothing removed: one empty page
    assert paths == ["participants", "removed_participants"]
    assert all(r["method"] == "GET" for r in log)
    assert result.wrote_nothing if hasattr(result, "wrote_nothing") else all(o.wrote is None for o in result.outputs)
    after = out.stat()
    assert (before.st_ino, before.st_mtime_ns, before.st_size) == (after.st_ino, after.st_mtime_ns, after.st_size)


def test_new_process_resumes_from_the_roster(client, server, tmp_path):
    make_syncer(client, server, tmp_path).run()
    p = server_participants(client, server.race_id)[5]
    edit(client, server.race_id, p, city="Springfield")
    syncer = make_syncer(client, server, tmp_path)  # a new run of `timersync sync`
    result = syncer.run()
    assert not result.full and result.changed == 1
    assert_file_matches_server(client, server.race_id, tmp_path / "out.csv")


def test_full_reconcile_drops_rows_the_removed_feed_missed(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path)
    syncer.run()
    victim = server_participants(client, server.race_id)[7]
    client.delete_participants(server.race_id, delete_request([victim.registration_id]))
    # Simulate a removed feed that lagged past its watermark: move our watermark far ahead.
    syncer.roster.set("removed_watermark", 4_000_000_000)
    syncer.roster.db.commit()
    assert syncer.run().removed == 0
    result = syncer.run(full=True)
    assert result.full and result.removed == 1
    assert_file_matches_server(client, server.race_id, tmp_path / "out.csv")


def test_full_every_n_runs(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path, full_every=3)
    fulls = [syncer.run().full for _ in range(7)]
    assert fulls == [True, False, False, True, False, False, True]


def test_server_down_keeps_file_and_catches_up(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path)
    syncer.run()
    out = tmp_path / "out.csv"
    before = out.read_bytes()
    p = server_participants(client, server.race_id)[2]
    edit(client, server.race_id, p, first_name="Offline")
    control(server, "faults", {"faults": [{"method": "GET", "path": "participants", "kind": "drop_before",
                                           "count": 50}]})
    result = syncer.run()
    assert result.error and "not reachable" in result.status_line()
    assert "keeping out.csv" in result.status_line()
    assert out.read_bytes() == before
    control(server, "faults", method="DELETE")
    result = syncer.run()
    assert result.ok and result.changed == 1
    assert_file_matches_server(client, server.race_id, out)


def test_timer_edits_are_kept_and_fresh_data_goes_to_incoming(client, server, tmp_path):
    race = server.race_id
    syncer = make_syncer(client, server, tmp_path)
    syncer.run()
    out = tmp_path / "out.csv"
    ctx = client.race(race)
    data = read_file(out, PROFILE, race=ctx)
    edited = [p.copy(bib="9999") if i == 0 else p for i, p in enumerate(data.participants)]
    write_file(out, edited, PROFILE, race=ctx)
    timer_version = out.read_bytes()
    first = data.participants[0]
    people = {p.registration_id: p for p in server_participants(client, race)}
    edit(client, race, people[first.registration_id], first_name="Conflicted")
    edit(client, race, people[data.participants[1].registration_id], last_name="Elsewhere")
    result = syncer.run()
    o = result.outputs[0]
    assert o.incoming and o.wrote == incoming_path_for(out)
    assert len(o.edits) == 1 and "bib" in o.edits[0] and o.conflicts == o.edits
    assert "timer edited 1 row in out.csv" in result.status_line()
    assert out.read_bytes() == timer_version
    assert_file_matches_server(client, race, incoming_path_for(out))
    # Nothing new: the incoming file is not rewritten again.
    assert syncer.run().outputs[0].wrote is None
    # --overwrite-edits replaces the file, keeping the timer's version as .bak.
    syncer2 = make_syncer(client, server, tmp_path, overwrite_edits=True)
    edit(client, race, people[data.participants[2].registration_id], last_name="Again")
    result = syncer2.run()
    assert result.outputs[0].wrote == out
    assert (tmp_path / "out.csv.bak").read_bytes() == timer_version
    assert_file_matches_server(client, race, out)


def test_resaved_file_without_edits_is_overwritten(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path)
    syncer.run()
    out = tmp_path / "out.csv"
    data = read_file(out, PROFILE, race=client.race(server.race_id))
    # A program re-saves the file: different bytes (LF line endings), same content.
    out.write_bytes(out.read_bytes().replace(b"\r\n", b"\n"))
    p = server_participants(client, server.race_id)[4]
    edit(client, server.race_id, p, first_name="Fresh")
    result = syncer.run()
    assert result.outputs[0].wrote == out and not result.outputs[0].incoming
    assert len(data.participants) == len(read_file(out, PROFILE).participants)
    assert_file_matches_server(client, server.race_id, out)


def test_cli_sync_every_stops_cleanly_on_ctrl_c(client, server, tmp_path, monkeypatch):
    from converters.cli import sync as cli_sync
    from converters.raceday import sync
    from converters.cli import main

    monkeypatch.setattr(cli_sync, "make_client", lambda base_url: client)
    calls = []

    def fake_sleep(seconds):
        calls.append(seconds)
        if len(calls) >= 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sync.time, "sleep", fake_sleep)
    out = tmp_path / "out.txt"
    res = CliRunner().invoke(main, ["sync", str(server.race_id), "-p", PROFILE, "-o", str(out), "--every", "5",
                                    "--api-url", server.url])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.strip().splitlines() if not line.startswith("  ")]
    assert len(lines) == 3 and lines[-1] == "Stopped."
    assert "(wrote out.txt; read in full)" in lines[0] and "(no change)" in lines[1]
    assert "  added: " in res.output and " more" in res.output  # the first round names its first runners


def test_cli_one_shot_unreachable_exits_non_zero(client, server, tmp_path, monkeypatch):
    from converters.cli import sync as cli_sync
    from converters.cli import main

    monkeypatch.setattr(cli_sync, "make_client", lambda base_url: client)
    out = tmp_path / "out.csv"
    assert CliRunner().invoke(main, ["sync", str(server.race_id), "-p", PROFILE, "-o", str(out)]).exit_code == 0
    control(server, "faults", {"faults": [{"method": "GET", "path": "participants", "kind": "drop_before",
                                           "count": 50}]})
    res = CliRunner().invoke(main, ["sync", str(server.race_id), "-p", PROFILE, "-o", str(out)])
    assert res.exit_code == 1
    assert "RaceEntry not reachable" in res.output and "keeping out.csv" in res.output
    assert out.exists()


def test_cli_unknown_profile(server, tmp_path):
    from converters.cli import main

    res = CliRunner().invoke(main, ["sync", "2026", "-p", "nope", "-o", str(tmp_path / "x.csv"),
                                    "--api-url", server.url])
    assert res.exit_code == 1
    assert "unknown profile 'nope'" in res.output


def test_sync_needs_nothing_but_a_pulled_file(client, server, tmp_path):
    from click.testing import CliRunner

    from converters.cli import main
    from converters.plan.pull import pull

    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, PROFILE, out)
    res = CliRunner().invoke(main, ["sync", str(out)])  # race, profile and server from the binding
    assert res.exit_code == 0, res.output
    assert "wrote runscore.csv" in res.output or "no change" in res.output
    res = CliRunner().invoke(main, ["sync", str(out), "-p", "raceresult"])
    assert res.exit_code == 1 and "was written with profile runscore, not raceresult" in res.output
    res = CliRunner().invoke(main, ["sync", str(tmp_path / "never.csv")])
    assert res.exit_code == 1 and "which race?" in res.output


def test_roster_of_an_earlier_version_resumes_without_false_changes(client, server, tmp_path):
    """A roster written before the typed pass holds each row as re-serialised JSON (keys in another order,
    the group's event_id added): the next full read is no change, and the file is left alone."""
    import orjson

    syncer = make_syncer(client, server, tmp_path)
    first = syncer.run()
    assert first.ok
    db = syncer.roster.db
    with db:
        for rid, doc in db.execute("SELECT registration_id, doc FROM participants").fetchall():
            db.execute("UPDATE participants SET doc=? WHERE registration_id=?",
                       (orjson.dumps(orjson.loads(doc), option=orjson.OPT_SORT_KEYS), rid))
    syncer.close()
    before = (tmp_path / "out.csv").read_bytes()
    again = make_syncer(client, server, tmp_path)  # a new process: the rows come from the roster
    result = again.run(full=True)
    assert result.ok and result.full
    assert (result.added, result.changed, result.removed) == (0, 0, 0), result.status_line()
    assert (tmp_path / "out.csv").read_bytes() == before
    again.close()


def test_a_sync_right_after_a_pull_starts_from_the_pull_and_names_who(client, server, tmp_path, monkeypatch):
    """Issue 20 part 4: the first sync of a pulled file shows 0 changes (not every runner as added), and
    each later round names who was added, changed (which fields) and removed, in words."""
    from converters.cli import sync as cli_sync
    from converters.cli import main
    from converters.plan.pull import pull

    monkeypatch.setattr(cli_sync, "make_client", lambda base_url: client)
    out = tmp_path / "runscore.csv"
    pull(client, server.race_id, PROFILE, out)
    pulled = out.read_bytes()
    res = CliRunner().invoke(main, ["sync", str(out)])
    assert res.exit_code == 0, res.output
    first = res.output.splitlines()[0]
    assert "0 added, 0 changed, 0 removed" in first and "(no change; read in full)" in first, res.output
    assert "  started from runscore.csv as timersync wrote it at " in res.output
    assert out.read_bytes() == pulled  # nothing changed since the pull: the file is left alone

    people = server_participants(client, server.race_id)
    a, gone = people[0], people[1]
    edit(client, server.race_id, a, first_name="Zelda", email="zelda@example.com")
    add(client, server.race_id, a.event_id, "Newt", "Comer")
    client.delete_participants(server.race_id, delete_request([gone.registration_id]))
    res = CliRunner().invoke(main, ["sync", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 added, 1 changed, 1 removed" in res.output and "(wrote runscore.csv)" in res.output
    assert "  added: Newt Comer\n" in res.output
    assert f"  changed: Zelda {a.last_name} (first name, email)\n" in res.output
    assert f"  removed: {gone.first_name} {gone.last_name}\n" in res.output
    assert_file_matches_server(client, server.race_id, out)


def test_a_round_names_the_first_few_then_how_many_more(client, server, tmp_path):
    syncer = make_syncer(client, server, tmp_path)
    first = syncer.run()
    assert first.started_from is None  # a new file: every runner is news, five named
    assert len(first.added_who) == 5 and first.story()[0].endswith(f" and {first.added - 5:,} more")
    for p in server_participants(client, server.race_id)[:7]:
        edit(client, server.race_id, p, city="Elsewhere")
    result = syncer.run()
    assert result.changed == 7 and len(result.changed_who) == 5, result.story()
    assert result.story() == ["  changed: " + ", ".join(result.changed_who) + " and 2 more"]
    assert all(w.endswith(" (city)") for w in result.changed_who)


def test_what_changed_says_the_event_by_name():
    from converters.raceday.sync_report import what_changed

    old = Participant(registration_id="7", event_id=16, first_name="Ann", email="a@x.org", last_modified=1)
    new = old.copy(event_id=68, email="b@x.org", last_modified=2)
    assert what_changed(old, new, {16: "Marathon", 68: "10K"}) == "event Marathon -> 10K, email"
    assert what_changed(old, old.copy(last_modified=5), {}) == "fields the file does not show"
