"""Recorded versions: every file timersync writes is recorded, and a file (or a copy of it) finds the version
it was made from by its unchanged rows. Real files, pulled over real HTTP from the bundled server."""

from __future__ import annotations

import logging
import time

from click.testing import CliRunner

from converters.model import answers
from converters.plan import binding, versions
from converters.compare import bodies
from converters.cli import main
from converters.plan.planning import read_input

from .test_pull import pull_runscore_csv, save_csv


def entries(server_url, race_id):
    return versions._entries(versions._race_dir(server_url, race_id))


def blobs(server_url, race_id):
    return sorted(p.name for p in versions._race_dir(server_url, race_id).glob("*.json.gz"))


def read(path, client, race_id):
    return read_input(path, "runscore", client.race(race_id))


def origin_of(path, client, server_url, race_id, profile="runscore"):
    data = read(path, client, race_id)
    return versions.find_origin(server_url, race_id, data.participants, data.present, profile)


def test_a_copy_is_compared_with_the_version_it_was_made_from(server, client, tmp_path):
    race = server.race_id
    out, v1_rows = pull_runscore_csv(server, tmp_path)
    url = binding.load(out).server
    [v1] = entries(url, race)
    assert (v1["file"], v1["profile"], v1["rows"]) == ("runscore.csv", "runscore", len(v1_rows) - 1)
    h = v1_rows[0]
    rid_col, last_col, city_col = h.index("Registration ID"), h.index("Last Name"), h.index("City")
    x, y = v1_rows[1], v1_rows[2]  # the desk fixes X in RaceEntry; the timer edits Y in a copy of v1

    time.sleep(0.01)
    people = {p.registration_id: p for p in answers.parse_participants(client.participants(race, 0))}
    client.post_participants(race, bodies.participants_request(
        [bodies.participant_payload(people[x[rid_col]].copy(last_name="Fixedbydesk"), ["last_name"])]))
    out2, v2_rows = pull_runscore_csv(server, tmp_path)
    assert out2 == out
    assert [e["id"] for e in entries(url, race)][1:] == [v1["id"]] and len(blobs(url, race)) == 2
    v2 = entries(url, race)[0]

    # A copy of v1, e-mailed and edited: Y's city. X still holds its old name.
    old_copy = tmp_path / "mail" / "runscore from the timer.csv"
    old_copy.parent.mkdir()
    edited = [list(r) for r in v1_rows]
    edited[2][city_col] = "Elsewhere"
    save_csv(old_copy, edited)
    got = origin_of(old_copy, client, url, race)
    assert got is not None and got.written_at == v1["written_at"] and got.file_name == "runscore.csv"
    assert got.profile == "runscore" and (got.matched, got.compared) == (len(v1_rows) - 2, len(v1_rows) - 1)
    base = {p.registration_id: p for p in got.participants()}
    assert base[x[rid_col]].last_name == x[last_col] != "Fixedbydesk"  # X's old name is the base: not an edit
    assert base[y[rid_col]].city == y[city_col]
    assert got.participants() is not None  # a second call decodes afresh
    text = got.describe()
    assert text.startswith("the version of runscore.csv written ") and "runscore" in text
    assert f"(found by its rows: {len(v1_rows) - 2} of {len(v1_rows) - 1} unchanged)" in text

    # A copy of v2 (the desk's fix in it) is v2's.
    new_copy = tmp_path / "mail" / "latest.csv"
    save_csv(new_copy, v2_rows)
    got = origin_of(new_copy, client, url, race)
    assert got is not None and got.id == v2["id"] and got.matched == got.compared == len(v2_rows) - 1
    assert {p.registration_id: p for p in got.participants()}[x[rid_col]].last_name == "Fixedbydesk"
    # ... and so is the same copy with one more edit of its own.
    edited = [list(r) for r in v2_rows]
    edited[3][city_col] = "Elsewhere"
    save_csv(new_copy, edited)
    assert origin_of(new_copy, client, url, race).id == v2["id"]
    # With no profile given, the same answers.
    assert origin_of(old_copy, client, url, race, profile=None).id == v1["id"]
    # The timer edited X, the runner the desk fixed between v1 and v2: the copy is as far from either.
    # The older is its origin: then RaceEntry's fix and the timer's edit are a conflict, never sent over.
    edited = [list(r) for r in v1_rows]
    edited[1][last_col] = "Typedbytimer"
    tie = tmp_path / "mail" / "tie.csv"
    save_csv(tie, edited)
    assert origin_of(tie, client, url, race).id == v1["id"]

    # A file whose rows are mostly not any version's: no origin.
    unrelated = tmp_path / "mail" / "other.csv"
    edited = [list(r) for r in v2_rows]
    for r in edited[1:len(edited) // 2 + 2]:
        r[last_col] = r[last_col] + "son"
    save_csv(unrelated, edited)
    assert origin_of(unrelated, client, url, race) is None
    # Another race, another server: nothing recorded there.
    data = read(new_copy, client, race)
    assert versions.find_origin(url, race + 1, data.participants, data.present, "runscore") is None
    assert versions.find_origin("http://elsewhere.example/rest", race, data.participants, data.present) is None
    # Rows without registration ids tell nothing.
    no_ids = [p.copy(registration_id=None) for p in data.participants]
    assert versions.find_origin(url, race, no_ids, data.present) is None


def test_an_identical_rewrite_is_not_stored_twice(server, client, tmp_path):
    out, _ = pull_runscore_csv(server, tmp_path)
    url = binding.load(out).server
    [first] = entries(url, server.race_id)
    time.sleep(0.01)
    pull_runscore_csv(server, tmp_path)  # RaceEntry unchanged: the same base, the same file
    [again] = entries(url, server.race_id)
    assert again["id"] == first["id"] and again["written_at"] > first["written_at"]
    assert len(blobs(url, server.race_id)) == 1
    # The same base written to another file is another version, sharing the stored base.
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "raceresult", "-o",
                                  str(tmp_path / "entrants.xlsx"), "--api-url", server.url])
    assert r.exit_code == 0, r.output
    got = entries(url, server.race_id)
    assert [(e["file"], e["profile"]) for e in got] == [("entrants.xlsx", "raceresult"), ("runscore.csv", "runscore")]
    assert len(blobs(url, server.race_id)) == 1
    # A file read through runscore is the runscore file's version (the same rows; its own profile first).
    data = read(out, client, server.race_id)
    origin = versions.find_origin(url, server.race_id, data.participants, data.present, "runscore")
    assert origin.file_name == "runscore.csv"


def race_answer(n, tag):
    return [{"event": {"event_id": 1, "participants": []},
             "participants": [{"registration_id": 100 + i, "event_id": 1,
                               "user": {"first_name": f"Runner{i}", "last_name": f"{tag}"}} for i in range(n)]}]


def test_pruning_keeps_the_newest_versions(monkeypatch):
    monkeypatch.setattr(versions, "KEEP", 3)
    monkeypatch.setattr(versions, "GRACE", 0.0)
    url, now = "http://127.0.0.1:9/rest", time.time()
    ids = [versions.record(url, 7, file_name="a.csv", profile="runscore", base=race_answer(5, f"v{i}"),
                           written_at=now - 100 + i) for i in range(5)]
    assert all(ids)
    # the newest 3, and of the older ones the oldest of their quarter of an hour
    assert [e["id"] for e in entries(url, 7)] == ids[::-1][:3] + [ids[0]]
    assert len(blobs(url, 7)) == 4 and entries(url, 7)[0]["rows"] == 5
    # a day of syncs every two minutes: the newest 3, then one a quarter of an hour
    for i in range(720):
        versions.record(url, 6, file_name="s.csv", profile="runscore", base=race_answer(2, f"s{i}"),
                        written_at=now - 86000 + i * 120)
    assert 3 + 96 - 2 <= len(entries(url, 6)) <= 3 + 97
    # Versions older than MAX_AGE_DAYS go, but the newest stays whatever its age.
    old = now - (versions.MAX_AGE_DAYS + 1) * 86400
    monkeypatch.setattr(versions, "KEEP", 30)
    versions.record(url, 8, file_name="b.csv", profile="runscore", base=race_answer(2, "x"), written_at=old)
    versions.record(url, 8, file_name="b.csv", profile="runscore", base=race_answer(2, "y"), written_at=old + 1)
    assert [e["written_at"] for e in entries(url, 8)] == [old + 1]
    versions.record(url, 8, file_name="b.csv", profile="runscore", base=race_answer(2, "z"))
    assert len(entries(url, 8)) == 1 and len(blobs(url, 8)) == 1
    # Any shape bind gets: bytes and a typed answer too; the one base is stored once.
    raw = answers.as_answer(race_answer(3, "w"))
    versions.record(url, 9, file_name="c.csv", profile="runscore", base=raw, written_at=now)
    versions.record(url, 9, file_name="c.csv", profile="runscore", base=raw.to_bytes(), written_at=now + 1)
    [e] = entries(url, 9)
    assert e["rows"] == 3 and e["written_at"] == now + 1


def test_a_failure_to_record_never_breaks_a_pull(server, client, tmp_path, state_home, caplog):
    (state_home / "versions").write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="timersync.versions"):
        out, rows = pull_runscore_csv(server, tmp_path)
    assert len(rows) > 1 and binding.load(out).has_base
    assert "could not record the version of runscore.csv" in caplog.text
    data = read(out, client, server.race_id)
    assert versions.find_origin(server.url, server.race_id, data.participants, data.present) is None


def test_sync_and_the_drop_folder_record_what_they_write(server, client, tmp_path):
    from converters.raceday.sync import Syncer
    from converters.raceday.sync_outputs import SyncOutput

    Syncer(client, server.race_id, [SyncOutput("runscore", tmp_path / "out.csv")]).run()
    [e] = entries(client.base_url, server.race_id)
    assert e["file"] == "out.csv" and e["rows"] == len(client.participants_answer(server.race_id, 0).participants)
    data = read(tmp_path / "out.csv", client, server.race_id)
    origin = versions.find_origin(client.base_url, server.race_id, data.participants, data.present, "runscore")
    assert origin is not None and origin.id == e["id"] and origin.matched == origin.compared == e["rows"]

    # The drop folder: a dropped answer becomes one file per output, each a version of its own.
    import orjson

    from converters.raceday.watch import Watcher
    from converters.raceday.watch_config import load_config

    from .conftest import drop_folder

    folder = drop_folder(tmp_path, server, "settle_seconds = 0.2\n",
                         (("raceresult", "raceresult.xlsx"), ("runscore", "runscore.csv")))
    (folder / "in" / "race.json").write_bytes(orjson.dumps(client.participants(server.race_id, 0)))
    w = Watcher(load_config(folder), client=client)
    w.start_checks()
    w.run_once()
    got = entries(client.base_url, server.race_id)
    assert {(e["file"], e["profile"]) for e in got[:2]} == {("race.raceresult.xlsx", "raceresult"),
                                                             ("race.runscore.csv", "runscore")}
    assert got[0]["sha256"] == got[1]["sha256"]  # two files from one answer: one stored base
    data = read(folder / "out" / "race.runscore.csv", client, server.race_id)
    origin = versions.find_origin(client.base_url, server.race_id, data.participants, data.present, "runscore")
    assert origin.file_name == "race.runscore.csv"


def test_a_damaged_version_is_skipped(caplog):
    url, now = "http://127.0.0.1:9/rest", time.time()
    versions.record(url, 5, file_name="a.csv", profile="runscore", base=race_answer(4, "old"), written_at=now - 10)
    versions.record(url, 5, file_name="a.csv", profile="runscore", base=race_answer(4, "new"), written_at=now)
    newest, older = entries(url, 5)
    folder = versions._race_dir(url, 5)
    file_rows = answers.as_answer(race_answer(4, "new")).participants
    present = {"first_name", "last_name", "event_id", "registration_id"}
    got = versions.find_origin(url, 5, file_rows, present, "runscore")
    assert got.id == newest["id"] and got.matched == got.compared == 4 and got.rows == 4
    assert [p.last_name for p in got.participants()] == ["new"] * 4
    (folder / f"{newest['sha256']}.json.gz").write_bytes(b"\x1f\x8b not gzip")
    with caplog.at_level(logging.WARNING, logger="timersync.versions"):
        assert versions.find_origin(url, 5, file_rows, present, "runscore") is None  # the old one: 0 of 4
    assert f"version {newest['id']} of race 5 could not be read" in caplog.text
    # Half the rows equal is enough; fewer is not.
    half = file_rows[:2] + [p.copy(last_name="old") for p in file_rows[2:]]
    assert versions.find_origin(url, 5, half, present).id == older["id"]
    assert versions.find_origin(url, 5, half[:1] + [p.copy(last_name="x") for p in half[1:]], present) is None
