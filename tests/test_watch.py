"""The drop folder: bursts of good and bad files, half-written files, restarts, config errors."""

from __future__ import annotations

import os
import shutil
import threading
import time

import orjson
import pytest
from click.testing import CliRunner

from converters.plan.convert import write_file
from converters.model.answers import parse_participants
from converters.raceday.inbox import JOURNAL, is_ignored
from converters.raceday.watch import Watcher
from converters.raceday.watch_config import ConfigError, load_config
from tests.conftest import drop_folder

SETTLE = 0.4


def make_folder(tmp_path, server, extra=""):
    return drop_folder(tmp_path, server, f"settle_seconds = {SETTLE}\n{extra}",
                       (("raceresult", "raceresult.xlsx"), ("runscore", "runscore.csv")))


def watcher(folder, client):
    w = Watcher(load_config(folder), client=client)
    w.start_checks()
    return w


def names(folder, sub):
    return sorted(p.name for p in (folder / sub).iterdir())


def test_burst_of_good_and_bad_files_each_processed_once(client, server, tmp_path):
    folder = make_folder(tmp_path, server, extra="incomplete_timeout = 0\n")  # the truncated copy fails at once
    w = watcher(folder, client)
    inbox = folder / "in"
    data = client.participants(server.race_id, 0)
    raw = orjson.dumps(data)
    (inbox / "race.json").write_bytes(raw)
    (inbox / "broken.json").write_bytes(raw[: len(raw) // 2])  # a corrupt (truncated) copy
    (inbox / "shape.json").write_bytes(b'{"races": []}')
    (inbox / "nope__edits.csv").write_text("a,b\n1,2\n")
    (inbox / "notes.pdf").write_bytes(b"%PDF")
    participants = parse_participants(data)
    write_file(inbox / "runscore.csv", participants, "runscore", race=client.race(server.race_id))
    for ignored in ("~$raceresult.xlsx", ".hidden.json", "copy.json.part", "x.tmp"):
        (inbox / ignored).write_bytes(b"junk")
    # A file still being copied: half now, the rest shortly (within the settle time).
    (inbox / "late.json").write_bytes(raw[: len(raw) // 3])

    def finish():
        time.sleep(SETTLE / 2)
        with open(inbox / "late.json", "ab") as fh:
            fh.write(raw[len(raw) // 3:])

    t = threading.Thread(target=finish)
    t.start()
    summary = w.run_once()
    t.join()
    assert summary.count("done") == 3 and summary.count("failed") == 4
    assert names(folder, "done") == ["late.json", "race.json", "runscore.csv"]
    assert names(folder, "failed") == sorted(
        ["broken.json", "broken.json.error.txt", "shape.json", "shape.json.error.txt", "nope__edits.csv",
         "nope__edits.csv.error.txt", "notes.pdf", "notes.pdf.error.txt"])
    assert names(folder, "in") == sorted([".hidden.json", "copy.json.part", "x.tmp", "~$raceresult.xlsx"])
    assert "malformed JSON" in (folder / "failed" / "broken.json.error.txt").read_text().splitlines()[0]
    assert "participants response" in (folder / "failed" / "shape.json.error.txt").read_text()
    assert "unknown profile 'nope'" in (folder / "failed" / "nope__edits.csv.error.txt").read_text()
    out = set(names(folder, "out"))
    assert {"race.raceresult.xlsx", "race.runscore.csv", "late.raceresult.xlsx", "late.runscore.csv",
            "runscore.plan"} <= out
    assert {"race.runscore.csv", "race.raceresult.xlsx"} <= set(names(folder, "out/.timersync"))
    assert (folder / "out" / "late.runscore.csv").read_bytes() == (folder / "out" / "race.runscore.csv").read_bytes()
    plan = orjson.loads((folder / "out" / "runscore.plan" / "summary.json").read_bytes())
    assert plan["counts"]["modifies"] == 0 and plan["source"] == "runscore.csv"
    journal = (folder / JOURNAL).read_bytes().splitlines()
    assert len(journal) == 7

    # A restart: nothing is processed again.
    w2 = watcher(folder, client)
    assert w2.run_once().outcomes == []
    assert len((folder / JOURNAL).read_bytes().splitlines()) == 7


def test_crash_between_processing_and_moving_does_not_process_twice(client, server, tmp_path):
    folder = make_folder(tmp_path, server)
    inbox = folder / "in"
    (inbox / "race.json").write_bytes(orjson.dumps(client.participants(server.race_id, 0)))
    watcher(folder, client).run_once()
    # Put the very same file back (as if the move had not happened before a crash).
    shutil.copy2(folder / "done" / "race.json", inbox / "race.json")
    produced = (folder / "out" / "race.runscore.csv").stat().st_mtime_ns
    summary = watcher(folder, client).run_once()
    assert [o.status for o in summary.outcomes] == ["skipped"]
    assert (folder / "out" / "race.runscore.csv").stat().st_mtime_ns == produced
    done = names(folder, "done")
    assert len(done) == 2 and "race.json" in done  # the second copy got a timestamp suffix, nothing lost
    assert not list(inbox.iterdir())


def test_unreachable_raceentry_leaves_table_in_inbox(client, server, tmp_path):
    from .conftest import control

    folder = make_folder(tmp_path, server)
    w = watcher(folder, client)
    participants = parse_participants(client.participants(server.race_id, 0))
    write_file(folder / "in" / "runscore.csv", participants, "runscore", race=client.race(server.race_id))
    control(server, "faults", {"faults": [{"method": "GET", "path": "participants", "kind": "drop_before",
                                           "count": 50}]})
    summary = w.run_once()
    assert [o.status for o in summary.outcomes] == ["deferred"]
    assert names(folder, "in") == ["runscore.csv"] and not names(folder, "failed")


def test_watchdog_observer_path(client, server, tmp_path):
    folder = make_folder(tmp_path, server)
    w = watcher(folder, client)
    w.config.scan_every = 30  # long: only a file-system event can make it notice the drop quickly
    t = threading.Thread(target=w.run_forever, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 5
        while not w.observing and time.monotonic() < deadline:
            time.sleep(0.02)
        assert w.observing
        (folder / "in" / "race.json").write_bytes(orjson.dumps(client.participants(server.race_id, 0)))
        deadline = time.monotonic() + 10
        while not (folder / "done" / "race.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (folder / "done" / "race.json").exists()
    finally:
        w.request_stop()
        t.join(5)
    assert not t.is_alive()


def test_sync_every_keeps_out_current(client, server, tmp_path):
    folder = make_folder(tmp_path, server, extra="sync_every = 60\n")
    watcher(folder, client).run_once()
    assert {"raceresult.xlsx", "runscore.csv"} <= set(names(folder, "out"))
    assert (folder / "out" / ".timersync" / "runscore.csv" / "base.json.gz").exists()


def test_config_errors(client, server, tmp_path):
    folder = make_folder(tmp_path, server)
    cfg = folder / "timersync.toml"
    cfg.write_text(cfg.read_text().replace('"runscore"', '"runscor"'))
    with pytest.raises(ConfigError, match="unknown profile 'runscor'"):
        load_config(folder)
    cfg.write_text(f'race_id = 999\napi_url = "{server.url}"\n[[outputs]]\nprofile = "runscore"\nfile = "r.csv"\n')
    with pytest.raises(ConfigError, match="race_id = 999: race 999 is not a race this account can see"):
        watcher(folder, client)
    with pytest.raises(ConfigError, match="config not found"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="no such folder"):
        load_config(tmp_path / "missing")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(client, server, tmp_path):
    folder = make_folder(tmp_path, server)
    load_config(folder)
    os.chmod(folder / "out", 0o555)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            load_config(folder)
    finally:
        os.chmod(folder / "out", 0o755)


def test_cli_watch_once_and_bad_config(client, server, tmp_path, monkeypatch):
    from converters.cli import main

    folder = make_folder(tmp_path, server)
    (folder / "in" / "race.json").write_bytes(orjson.dumps(client.participants(server.race_id, 0)))
    res = CliRunner().invoke(main, ["watch", str(folder), "--once", "--poll"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().splitlines()[-1].startswith("1 processed, 0 failed")
    (folder / "in" / "runscore__bad.csv").write_bytes(b"nothing,to,see\r\n")  # a file that fails
    res = CliRunner().invoke(main, ["watch", str(folder), "--once", "--poll"])
    assert res.exit_code == 1, res.output  # a script running --once sees that a file went to failed/
    assert "0 processed, 1 failed" in res.output, res.output
    (folder / "timersync.toml").write_text("race_id = 'x'\n")
    res = CliRunner().invoke(main, ["watch", str(folder), "--once"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: ") and "race_id must be" in res.output


def test_ignored_names():
    assert is_ignored("~$book.xlsx") and is_ignored(".DS_Store") and is_ignored("a.csv.crdownload")
    assert not is_ignored("raceresult.xlsx") and not is_ignored("runscore__x.csv")


def test_folder_that_cannot_hold_the_layout(client, server, tmp_path):
    folder = make_folder(tmp_path, server)
    (folder / "done").write_text("a file where the done/ folder should be")
    with pytest.raises(ConfigError, match="done: cannot create the folder"):
        load_config(folder)


def test_push_true_sends_a_dropped_edit_once(client, server, tmp_path):
    """With push = true a dropped, edited timing file reaches RaceEntry, with push's guards and journal."""
    # The dropped file is made here, not by timersync: of unknown origin, its edit goes with two_way.
    folder = make_folder(tmp_path, server, extra="push = true\ntwo_way = true\n")
    w = watcher(folder, client)
    race = client.race(server.race_id)
    people = parse_participants(client.participants(server.race_id, 0))
    target = people[0]
    edited = [p.copy(first_name="Renamed") if p.registration_id == target.registration_id else p for p in people]
    write_file(folder / "in" / "runscore.csv", edited, "runscore", race=race)
    summary = w.run_once()
    assert summary.count("done") == 1, summary.outcomes
    now = {p.registration_id: p for p in parse_participants(client.participants(server.race_id, 0))}
    assert now[target.registration_id].first_name == "Renamed"
    assert len(now) == len(people)
    summary_text = (folder / "out" / "runscore.plan" / "summary.txt").read_text()
    assert "0 adds, 1 modify, 0 switches, 0 deletes" in summary_text
    assert "pushed: 0 added, 1 modified" in summary_text
    assert (folder / "out" / "runscore.plan" / "participants.json").exists()  # the exact request body
    # The same file dropped again: nothing left to send, nothing duplicated.
    write_file(folder / "in" / "runscore.csv", edited, "runscore", race=race)
    w.run_once()
    assert len(parse_participants(client.participants(server.race_id, 0))) == len(people)


def _far_cell_workbook(path, people):
    """A raceresult workbook of ``people`` whose sheet also claims a cell at XFD1048576."""
    from tests.corpus.make_corpus import _add_cells

    plain = path.with_name("plain.xlsx")
    write_file(plain, people, "raceresult")
    _add_cells(plain, path, b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    plain.unlink()


def test_hostile_workbook_fails_alone_and_the_watcher_goes_on(client, server, tmp_path):
    """A 2 KB workbook claiming a cell at XFD1048576 once aborted the process inside the XLSX reader
    (550 GB asked for), on every restart. Now it is read cell by cell and fails on what it holds (a blank
    row, for Race Result), and the file after it is processed."""
    folder = make_folder(tmp_path, server, extra="incomplete_timeout = 0\n")
    w = watcher(folder, client)
    people = parse_participants(client.participants(server.race_id, 0))
    _far_cell_workbook(folder / "in" / "a_hostile.raceresult.xlsx", people[:2])
    assert (folder / "in" / "a_hostile.raceresult.xlsx").stat().st_size < 4000
    write_file(folder / "in" / "b_runscore.csv", people, "runscore", race=client.race(server.race_id))
    summary = w.run_once()
    assert [(o.name, o.status) for o in summary.outcomes] == [("a_hostile.raceresult.xlsx", "failed"),
                                                              ("b_runscore.csv", "done")]
    error = (folder / "failed" / "a_hostile.raceresult.xlsx.error.txt").read_text().splitlines()[0]
    assert "stops importing at a blank row" in error and "1048" in error


def test_a_native_crash_reading_a_workbook_fails_that_file_only(client, server, tmp_path, monkeypatch):
    """Whatever a native library does on a workbook (here the child reader aborts, as calamine does when
    an allocation fails), the file goes to failed/ with the reason and the next file is processed."""
    import converters.files.xlsx_guard

    monkeypatch.setattr(converters.files.xlsx_guard, "_CHILD", "import os; os.abort()")
    folder = make_folder(tmp_path, server)
    w = watcher(folder, client)
    people = parse_participants(client.participants(server.race_id, 0))
    write_file(folder / "in" / "a.raceresult.xlsx", people, "raceresult")
    write_file(folder / "in" / "b_runscore.csv", people, "runscore", race=client.race(server.race_id))
    summary = w.run_once()
    assert [(o.name, o.status) for o in summary.outcomes] == [("a.raceresult.xlsx", "failed"),
                                                              ("b_runscore.csv", "done")]
    error = (folder / "failed" / "a.raceresult.xlsx.error.txt").read_text().splitlines()[0]
    assert "the XLSX reader crashed (SIGABRT)" in error and "save it again as .xlsx" in error


@pytest.mark.skipif(os.name == "nt" or os.uname().sysname == "Darwin",
                    reason="names that are not UTF-8: Linux file systems only")
def test_file_names_of_any_bytes_and_length(client, server, tmp_path):
    """A name that is not UTF-8 (Latin-1 from an old share) and one of 245 bytes are processed like any
    other: reported and journaled readably, outputs under a usable name, the input moved to done/ or
    failed/ under its own name (a long one cut to fit beside its .error.txt)."""
    folder = make_folder(tmp_path, server)
    w = watcher(folder, client)
    data = client.participants(server.race_id, 0)
    inbox = os.fsencode(folder / "in")
    latin = b"r\xe9sultats.json"
    with open(os.path.join(inbox, latin), "wb") as fh:
        fh.write(orjson.dumps(data))
    long_name = ("x" * 237 + ".json").encode()
    assert len(long_name) == 242
    with open(os.path.join(inbox, long_name), "wb") as fh:
        fh.write(orjson.dumps(data))
    broken = b"\xff" * 240 + b".csv"
    assert len(broken) == 244
    with open(os.path.join(inbox, broken), "wb") as fh:
        fh.write(b"nothing,to,see\n")
    lines = []
    w.report = lines.append
    summary = w.run_once()
    assert sorted(o.status for o in summary.outcomes) == ["done", "done", "failed"], summary.outcomes
    assert "r\\xe9sultats.json: ok" in "\n".join(lines)
    done = set(os.listdir(os.fsencode(folder / "done")))
    assert latin in done and long_name not in done  # 242 bytes leave no room for a time stamp if taken
    assert any(n.startswith(b"x" * 150) and n.endswith(b".json") and len(n) <= 210 for n in done)
    out = os.listdir(folder / "out")
    assert "r_sultats.runscore.csv" in out and "r_sultats.raceresult.xlsx" in out
    assert any(n.startswith("x" * 100) and n.endswith(".raceresult.xlsx") for n in out)
    failed = os.listdir(os.fsencode(folder / "failed"))
    assert len(failed) == 2 and all(len(n) <= 255 for n in failed)
    text = next(n for n in failed if n.endswith(b".error.txt"))
    assert "File: " + "\\xff" * 240 + ".csv" in (folder / "failed" / os.fsdecode(text)).read_text(encoding="utf-8")
    journal = [orjson.loads(line) for line in (folder / JOURNAL).read_bytes().splitlines()]
    assert {j["name"] for j in journal} == {"r\\xe9sultats.json", "x" * 237 + ".json", "\\xff" * 240 + ".csv"}
    assert os.listdir(inbox) == []


def test_push_false_says_nothing_was_sent_and_how_to_send_it(client, server, tmp_path):
    """Issue 20 part 4: with push = false the watcher says per file that nothing was sent, and the command
    that sends it; that command, run as printed, sends it."""
    from converters.cli import main

    folder = make_folder(tmp_path, server, extra="two_way = true\n")
    said: list[str] = []
    w = Watcher(load_config(folder), client=client, report=said.append)
    w.start_checks()
    people = parse_participants(client.participants(server.race_id, 0))
    target = people[0]
    edited = [p.copy(first_name="Renamed") if p.registration_id == target.registration_id else p for p in people]
    write_file(folder / "in" / "runscore.csv", edited, "runscore", race=client.race(server.race_id))
    # and one that changes nothing, and a participants JSON (converted: its warnings one line per kind)
    write_file(folder / "in" / "raceresult.xlsx", people, "raceresult", race=client.race(server.race_id))
    (folder / "in" / "race.json").write_bytes(orjson.dumps(client.participants(server.race_id, 0)))
    w.run_once()
    text = "\n".join(said)
    formulas = [line for line in said if line.startswith("race.json -> out/race.runscore.csv: warning: ")]
    assert len(formulas) == 1 and "values start with =, +, - or @" in formulas[0], said
    assert ("runscore.csv: ok: wrote out/runscore.plan/ (1 modify), nothing sent (push = false in "
            "timersync.toml)") in text, text
    assert "raceresult.xlsx: ok: wrote out/raceresult.plan/, nothing to send (the file agrees with RaceEntry)" in text
    command = next(line for line in said if "timersync push " in line).split("\n")[-1].strip()
    assert command.startswith(f"timersync push {server.race_id} {folder / 'done' / 'runscore.csv'} -p runscore")
    unchanged = {p.registration_id: p for p in parse_participants(client.participants(server.race_id, 0))}
    assert unchanged[target.registration_id].first_name == target.first_name  # nothing was sent
    res = CliRunner().invoke(main, command.split()[1:] + ["--yes"])
    assert res.exit_code == 0, res.output
    now = {p.registration_id: p for p in parse_participants(client.participants(server.race_id, 0))}
    assert now[target.registration_id].first_name == "Renamed"
