"""The canonical model: parsing RaceEntry's loose JSON, and producing its shapes and POST payloads."""

from __future__ import annotations

import pytest

from converters.model import answers, codec, schemas
from converters.compare import bodies
from converters import model
from converters.errors import SchemaError, ShapeError


def api_participant(rid=30, event=16, **over):
    row = {
        "user": {"user_id": rid, "first_name": "John", "middle_name": None, "last_name": "Doe",
                 "email": "john.doe@example.com",
                 "address": {"street": "123 Main St", "city": "Provo", "state": "UT", "zipcode": "02134",
                             "country_code": "USA"},
                 "dob": "1990-05-05", "gender": "M", "phone": "5555555555", "profile_image_url": None},
        "registration_id": rid, "event_id": event, "rsu_transaction_id": None, "transaction_id": None,
        "bib_num": 50004, "chip_num": 50004, "age": 35, "registration_date": "04/24/2025 10:22",
        "team_id": None, "team_name": None, "team_type_id": None, "team_type": None, "team_gender": None,
        "team_bib_num": None, "last_modified": 1745877909, "imported": "T", "race_fee": "$0.00",
        "offline_payment_amount": "$0.00", "processing_fee": "$0.00", "processing_fee_paid_by_user": "$0.00",
        "processing_fee_paid_by_race": "$0.00", "partner_fee": "$0.00", "affiliate_profit": "$0.00",
        "extra_fees": "$0.00", "amount_paid": "$0.00", "usatf_discount_amount_in_cents": "$0.00",
        "usatf_discount_additional_field": None, "giveaway": None, "giveaway_option_id": None,
        "race_corral_id": None, "race_corral_name": None, "checked_in": "F", "checkin_date": None,
        "checked_in_by_user_id": None,
    }
    row.update(over)
    return row


def test_round_trip_is_exact_including_loose_types():
    odd = api_participant(31, bib_num="0042", chip_num=None, checked_in="T")
    odd["user"]["user_id"] = "31"          # ids may arrive as strings
    odd["user"]["phone"] = 8015551234      # phone as a number
    odd["user"]["gender"] = ""
    odd["user"]["dob"] = None
    data = [{"event": {"event_id": 16, "participants": []}, "participants": [api_participant(), odd]},
            {"event": {"event_id": 67, "participants": []}, "participants": []}]
    schemas.validate("participants.response", data)
    people = answers.parse_participants(data)
    assert [p.registration_id for p in people] == ["30", "31"]
    assert people[1].bib == "0042" and people[1].phone == "8015551234" and people[1].checked_in is True
    assert people[1].gender == "" and people[1].dob is None
    assert people[0].zipcode == "02134"
    assert people[0].extra["race_fee"] == "$0.00"
    assert answers.participants_response(people, answers.event_ids_in(data)) == data


def test_removed_feed_events_without_participants_key():
    data = [{"event": {"event_id": 16, "participants": []}, "participants": [api_participant(26)]},
            {"event": {"event_id": 67, "participants": []}}]
    schemas.validate("participants.response", data)
    people = answers.parse_participants(data)
    assert len(people) == 1
    assert answers.participants_response(people, [16, 67], removed=True) == data


def test_event_id_taken_from_group_when_row_lacks_it():
    row = api_participant()
    del row["event_id"]
    people = answers.parse_participants([{"event": {"event_id": "67"}, "participants": [row]}])
    assert people[0].event_id == 67


@pytest.mark.parametrize("bad, message", [
    ({"races": []}, "expected a list of events"),
    ([{"event": {"event_id": 1}, "participants": ["x"]}], "expected an object"),
    ([{"event": {"event_id": "abc"}, "participants": []}], "expected a whole number"),
])
def test_wrong_shapes_are_clear(bad, message):
    with pytest.raises(ShapeError, match=message):
        answers.parse_participants(bad)


def test_schema_error_names_the_json_path():
    data = [{"event": {"event_id": 16}, "participants": [api_participant()]}]
    data[0]["participants"][0]["user"]["first_name"] = 7
    with pytest.raises(SchemaError, match=r"\$\[0\]\.participants\[0\]\.user\.first_name"):
        schemas.validate("participants.response", data)


def test_update_payload_sends_the_whole_record_and_clears_changed_blanks():
    # Issue 17: an update sends the complete record (a replacing RaceEntry must keep every field), with the
    # changed fields a change blanked sent as null; it used to send the changed fields alone.
    p = answers.parse_participants([{"event": {"event_id": 16}, "participants": [api_participant()]}])[0]
    p.first_name, p.phone = "Jon", None
    row = bodies.participant_payload(p, changed=["first_name", "phone"])
    assert row["user"]["first_name"] == "Jon" and row["user"]["phone"] is None and row["phone"] is None
    assert row["user"]["dob"] == p.dob and row["user"]["email"] == p.email
    assert row["user"]["address"]["city"] == p.city and row["user"]["gender"] == p.gender
    schemas.validate("participants.request", bodies.participants_request([row]))


def test_create_payload_carries_every_value_both_spellings():
    p = answers.parse_participants([{"event": {"event_id": 16}, "participants": [api_participant()]}])[0]
    p.registration_id, p.team_id = None, "9"
    row = bodies.participant_payload(p)
    assert row["registration_id"] == "" and row["event_id"] == 16
    assert row["user"]["address"]["zipcode"] == row["user"]["address"]["zip code"] == "02134"
    assert row["user"]["team_id"] == row["team_id"] == 9
    assert row["user"]["gender"] == row["gender"] == "M"
    schemas.validate("participants.request", bodies.participants_request([row]))


def test_request_bodies_validate():
    schemas.validate("switch.request", bodies.switch_request([("72", 16)]))
    schemas.validate("delete.request", bodies.delete_request(["25", "26"]))
    schemas.validate("teams.request", bodies.teams_request([model.Team(team_type_id="68", team_name="Track Pack")]))
    with pytest.raises(SchemaError, match="maxItems|more than 250|longer"):
        schemas.validate("delete.request", bodies.delete_request([str(i) for i in range(251)]))


def test_teams_and_team_types():
    teams = answers.parse_teams([{"team_id": 9, "team_type_id": 68, "team_name": "Sole Survivors", "team_gender": None,
                                "team_bib_num": None, "team_age_restriction_id": None, "last_modified_ts": 1626974217}])
    assert teams[0].team_id == "9" and codec.team_to_api(teams[0])["team_id"] == 9
    types = answers.parse_team_types({"race_team_types": [{"team_type_id": 68, "team_type": "Team Marathon",
                                                         "valid_event_ids": [68, "69"]}]})
    assert types[0].valid_event_ids == [68, 69]


def test_post_results_with_row_errors():
    out = bodies.result_ids({"participants": [{"registration_id": "73"},
                                             {"registration_id": None, "error": {"error_msg": "row 2: no name"}}]})
    assert out == ["73", {"error": "row 2: no name"}]
