"""Read liberally, write strictly (issue 17): every plausible typing of a documented field is read in the
one typed pass, normalised to the canonical values, and reported once per command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from converters.model import wire
from converters.cli import main
from converters.errors import SchemaError
from converters.model.answers import decode_participants, parse_team_types, parse_teams
from converters.raceday.sync import Syncer
from converters.raceday.sync_outputs import SyncOutput

from .conftest import control


@pytest.fixture(autouse=True)
def _fresh_notes():
    wire.take_notes()
    wire.ZONES.clear()
    yield
    wire.take_notes()
    wire.ZONES.clear()


def _answer(row_fields=None, user_fields=None, group_participants=None):
    import orjson

    user = {"user_id": 30, "first_name": "Jo", "last_name": "Ru", "dob": "1990-05-06", **(user_fields or {})}
    row = {"user": user, "registration_id": 7, "event_id": 16, "checked_in": "F", "last_modified": 1546606179,
           **(row_fields or {})}
    rows = [row] if group_participants is None else group_participants
    return orjson.dumps([{"event": {"event_id": 16, "participants": []}, "participants": rows}])


def _one(data, source="participants of race 1"):
    return decode_participants(data, source).participants[0]



def test_documented_typing_reads_with_no_note():
    p = _one(_answer())
    assert (p.registration_id, p.user_id, p.dob, p.checked_in, p.last_modified) == ("7", "30", "1990-05-06", False,
                                                                                   1546606179)
    assert wire.take_notes() == []


@pytest.mark.parametrize("spelling, want", [
    ("T", True), ("F", False), (True, True), (False, False), (1, True), (0, False), ("1", True), ("0", False),
    ("Y", True), ("N", False), ("true", True), ("false", False), ("", None), (None, None)])
def test_flag_spellings(spelling, want):
    assert _one(_answer({"checked_in": spelling})).checked_in is want


@pytest.mark.parametrize("key", ["registration_id", "event_id", "team_id", "team_type_id", "age"])
@pytest.mark.parametrize("spelling", [73, "73", 73.0])
def test_ids_and_numbers_as_text_or_numbers(key, spelling):
    p = _one(_answer({key: spelling}))
    got = p.get({"age": "age"}.get(key, key))
    assert str(got) == "73"
    if spelling != 73:
        assert len(wire.take_notes()) == 1


@pytest.mark.parametrize("spelling", ["1990-05-06", "05/06/1990"])
def test_dob_spellings(spelling):
    assert _one(_answer(user_fields={"dob": spelling})).dob == "1990-05-06"


def test_dob_that_cannot_be_read_names_its_path():
    with pytest.raises(SchemaError, match=r"\$\[0\]\.participants\[0\]\.user\.dob"):
        decode_participants(_answer(user_fields={"dob": "soon"}), "answer")
    with pytest.raises(SchemaError, match=r"user\.dob"):  # M/D/YY is not a plausible spelling of a date
        decode_participants(_answer(user_fields={"dob": "5/6/90"}), "answer")


@pytest.mark.parametrize("spelling", [1546606179, "1546606179", 1546606179.0, "2019-01-04 12:49:39",
                                      "2019-01-04T12:49:39Z", "2019-01-04 05:49:39-07:00"])
def test_timestamp_spellings_utc_when_no_race_timezone(spelling):
    assert _one(_answer({"last_modified": spelling})).last_modified == 1546606179


def test_timestamp_text_read_in_the_race_timezone():
    wire.loosen_races({"races": [{"race": {"race_id": 1, "name": "R", "timezone": "America/Denver"}}]})
    assert _one(_answer({"last_modified": "2019-01-04 05:49:39"})).last_modified == 1546606179
    assert any("America/Denver" in n for n in wire.take_notes())


def test_empty_text_and_null_lists():
    p = _one(_answer({"team_id": ""}, {"address": ""}))
    assert p.team_id in ("", None) and p.street is None
    a = decode_participants(b'[{"event":{"event_id":16,"participants":null},"participants":null}]', "x")
    assert a.participants == [] and a.event_ids() == [16]


def test_one_note_per_kind_however_many_rows():
    rows = [{"user": {"user_id": str(i), "first_name": "A", "last_name": "B", "dob": "05/06/1990"},
             "registration_id": str(i), "checked_in": 1} for i in range(1, 50)]
    decode_participants(_answer(group_participants=rows))
    notes = wire.take_notes()
    assert len(notes) == len(set(notes)) == 4, notes
    assert "RaceEntry sent registration ids as text; read as numbers" in notes
    assert "RaceEntry sent dates of birth as MM/DD/YYYY; read as dates" in notes


def test_teams_and_team_types_read_liberally():
    teams = parse_teams([{"team_id": "9", "team_name": "S", "team_type_id": 68.0,
                          "last_modified_ts": "2019-01-04 12:49:39"}])
    assert (teams[0].team_id, teams[0].team_type_id, teams[0].last_modified) == ("9", "68", 1546606179)
    types = parse_team_types({"race_team_types": [{"team_type_id": "68", "valid_event_ids": None,
                                                   "allow_coed_team": 1, "require_gender_selection": "N"}]})
    assert types[0].valid_event_ids == [] and types[0].raw["allow_coed_team"] == "T"
    assert types[0].raw["require_gender_selection"] == "F"
    wire.check([{"team_id": 9.0, "team_name": "S"}], wire.ANSWERS["teams.response"], "teams")


# ----------------------------------------------------------------------------------- over real HTTP

def _pull(server, tmp_path, name):
    out = tmp_path / name
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-o", str(out), "-p", "runscore",
                                  "--api-url", server.url])
    assert r.exit_code == 0, r.output
    return out.read_bytes(), [line for line in r.output.splitlines() if line.startswith("note: ")]


def _login(server):
    r = CliRunner().invoke(main, ["login", "--api-url", server.url, "--email", server.email,
                                  "--password", server.password])
    assert r.exit_code == 0, r.output


def test_pull_with_loose_typing_writes_the_same_file(server, tmp_path):
    _login(server)
    plain, notes = _pull(server, tmp_path, "plain.csv")
    assert notes == []
    assert control(server, "options", {"typing": "loose"})["typing"] == "loose"
    loose, notes = _pull(server, tmp_path, "loose.csv")
    assert loose == plain
    assert len(notes) == len(set(notes)) and notes
    for words in ("registration ids as text", "dates of birth as MM/DD/YYYY", "checked_in as 0/1",
                  "last_modified times as date-time text; read in America/Denver"):
        assert sum(words in n for n in notes) == 1, (words, notes)


def test_sync_with_loose_typing_finds_no_false_changes(server, client, tmp_path):
    """Loose typing from the first round on: the incremental rounds re-read the overlap and find nothing
    changed, and the file is the one documented typing gives."""
    assert Syncer(client, server.race_id, [SyncOutput("runscore", tmp_path / "plain.csv")]).run().ok
    control(server, "options", {"typing": "loose"})
    for i in range(3):
        result = Syncer(client, server.race_id, [SyncOutput("runscore", tmp_path / "out.csv")]).run()
        assert result.ok, result.status_line()
        if i:
            assert (result.added, result.changed, result.removed) == (0, 0, 0), result.status_line()
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()


def test_loose_answer_that_cannot_be_read_stops_with_its_path(server, client):
    control(server, "options", {"typing": "loose", "extra_fields": {"user.dob": "soon"}})
    with pytest.raises(SchemaError, match=r"\$\[\d+\]\.participants\[\d+\]\.user\.dob"):
        client.participants_answer(server.race_id, 0)
