"""The typed pass (issue 12) over real HTTP and real files: fields RaceEntry sends beyond the document reach
the binding's base, a snapshot and the lossless ``raceentry`` profile and come back from it; the typed
decoder and the dict parser give the same participants; sync keeps each row's exact bytes; a wrong type is
refused with its JSON path before anything is written."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from click.testing import CliRunner

from converters.model import answers, codec
from converters.cli import main
from converters.errors import SchemaError
from converters.jsonio import load_file

from .conftest import control

EXTRA = {"shirt_size": "M", "user.nickname": "Speedy", "address.street3": "Unit 4", "wave": 3}


def pull(server, out, profile="raceentry", *more):
    r = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", profile, "-o", str(out), "--api-url",
                                  server.url, *more])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture
def undocumented(server, client):
    control(server, "options", {"extra_fields": EXTRA})
    yield EXTRA
    control(server, "options", {"extra_fields": {}})


def test_undocumented_fields_reach_base_snapshot_and_lossless_file(server, tmp_path, undocumented):
    out = tmp_path / "all.csv"
    pull(server, out, "raceentry", "--snapshot", str(tmp_path / "snap.json"))
    base = json.loads(gzip.decompress((tmp_path / ".timersync" / "all.csv" / "base.json.gz").read_bytes()))
    row = base[0]["participants"][0]
    assert row["shirt_size"] == "M" and row["wave"] == 3
    assert row["user"]["nickname"] == "Speedy" and row["user"]["address"]["street3"] == "Unit 4"
    assert load_file(tmp_path / "snap.json") == base
    with open(out, encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    header = table[0]
    for key in ("shirt_size", "user.nickname", "address.street3", "wave"):
        assert key in header, header
    assert header.index("shirt_size") > header.index("checked_in_by_user_id")  # after the profile's own
    assert {table[1][header.index("shirt_size")], table[1][header.index("wave")]} == {"M", "3"}
    # ... and back: the file's extra columns become the fields again (as text), the rest is unchanged
    r = CliRunner().invoke(main, ["convert", str(out), str(tmp_path / "back.json"), "-p", "raceentry"])
    assert r.exit_code == 0, r.output
    back = load_file(tmp_path / "back.json")[0]["participants"][0]
    assert back["shirt_size"] == "M" and back["wave"] == "3"
    assert back["user"]["nickname"] == "Speedy" and back["user"]["address"]["street3"] == "Unit 4"
    assert back["registration_id"] == row["registration_id"] and back["race_fee"] == row["race_fee"]
    # the fields nobody can push are no edit: the file diffs clean
    r = CliRunner().invoke(main, ["diff", str(out), "--exit-code"])
    assert r.exit_code == 0, r.output


def test_undocumented_fields_in_xlsx_and_sync(server, tmp_path, undocumented):
    out = tmp_path / "all.xlsx"
    r = CliRunner().invoke(main, ["sync", str(server.race_id), "-p", "raceentry", "-o", str(out),
                                  "--api-url", server.url])
    assert r.exit_code == 0, r.output
    from converters.files.reader import read_file

    got = read_file(out, "raceentry")
    p = got.participants[0]
    assert p.extra["shirt_size"] == "M" and p.extra["user.nickname"] == "Speedy"
    # a second round with nothing changed leaves the file alone
    before = out.read_bytes()
    r = CliRunner().invoke(main, ["sync", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == before


def test_typed_decoder_and_dict_parser_agree_on_the_whole_race(client, server):
    answer = client.participants_answer(server.race_id, 0)
    as_dicts = answers.parse_participants(answer.to_json())
    assert answer.participants == as_dicts
    assert [codec.participant_to_api(p) for p in answer.participants] == \
           [codec.participant_to_api(p) for p in as_dicts]
    assert json.loads(answer.to_bytes()) == answer.to_json()


def test_answer_keeps_each_rows_bytes_and_events():
    data = (b'[{"event":{"event_id":16,"participants":[]},"participants":[{"user":{"first_name":"A",'
            b'"last_name":"B","address":null},"registration_id":"7","bib_num":"0042","odd":{"x":[1]}}]},'
            b'{"event":{"event_id":"17","name":"5K","participants":[]}}]')
    a = answers.decode_participants(data, "test", removed=True)
    p = a.participants[0]
    assert (p.registration_id, p.bib, p.event_id) == ("7", "0042", 16)
    assert p.extra["odd"] == {"x": [1]} and p.extra["user.address"] is None
    assert a.event_ids() == [16, 17] and a.events()[1]["name"] == "5K"
    assert a.to_bytes() == data  # the removed feed's event without a participants key included
    out = codec.participant_to_api(p)
    assert out["registration_id"] == "7" and out["bib_num"] == "0042" and out["odd"] == {"x": [1]}


@pytest.mark.parametrize("data, where", [
    (b'[{"event":{"event_id":16},"participants":[{"user":{"first_name":7,"last_name":"B"},'
     b'"registration_id":1}]}]', r"\$\[0\]\.participants\[0\]\.user\.first_name"),
    (b'[{"event":{"event_id":16},"participants":[{"user":{"first_name":"A","last_name":"B"}}]}]',
     r"\$\[0\]\.participants\[0\]: .*registration_id"),
    (b'[{"event":{"event_id":true}}]', r"\$\[0\]\.event\.event_id"),
    (b'{"participants":[]}', r"\$: Expected `array`"),
    (b'[{"event":{"event_id":16},"participants":[{"user":{"first_name":"A","last_name":"B","dob":"5/5/90"},'
     b'"registration_id":1}]}]', r"user\.dob"),
])
def test_wrong_types_name_their_json_path(data, where):
    with pytest.raises(SchemaError, match=where):
        answers.decode_participants(data, "answer")


def test_convert_refuses_a_wrong_type_without_writing(tmp_path):
    src = tmp_path / "p.json"
    src.write_bytes(b'[{"event":{"event_id":16},"participants":[{"user":{"first_name":"A","last_name":7},'
                    b'"registration_id":1}]}]')
    r = CliRunner().invoke(main, ["convert", str(src), str(tmp_path / "out.csv"), "-p", "runscore"])
    assert r.exit_code == 1
    assert "$[0].participants[0].user.last_name" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out.csv").exists()
