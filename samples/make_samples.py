"""Regenerate samples/doc/*.json (the Timer API document's examples, syntax slips fixed) and
samples/race/*.json (seed 1, 300 participants, exactly as the rehearsal server answers).

    python samples/make_samples.py            # from the repository root
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

DESCRIPTION = ("<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.0 Transitional//EN\" "
               "\"http://www.w3.org/TR/REC-html40/loose.dtd\">\n<html><body><p>Fun for the whole family!</p>"
               "</body></html>\n")

RACES = {"races": [{"race": {
    "race_id": 21, "name": "City Fun Run", "last_date": "04/17/2026", "last_end_date": "04/17/2026",
    "next_date": "04/17/2026", "next_end_date": "04/17/2026", "is_draft_race": "F", "is_private_race": "F",
    "is_registration_open": "F", "created": "04/17/2025 15:51", "last_modified": "04/29/2025 10:09",
    "description": DESCRIPTION, "url": "http://raceentry.com/city-fun-run/race-info",
    "external_race_url": None, "external_results_url": None, "fb_page_id": None, "fb_event_id": None,
    "address": {"street": "123 Main St", "street2": None, "city": "Provo", "state": "UT", "zipcode": "84601",
                "country_code": "USA"},
    "timezone": "America/Denver",
    "logo_url": "https://cfimages.raceentry.com/test/logo/city-fun-run-registration-logo-21.jpg?v=1745428804",
    "can_use_registration_api": "F", "real_time_notifications_enabled": "F", "events": [],
    "race_event_days": [{"race_event_days_id": 21, "start_date": "04/17/2026", "end_date": "04/17/2026"}],
}}]}


def participant(user_id, first, last, email, street, city, zipcode, dob, gender, reg, event, bib, age,
                reg_date, last_modified, imported):
    p = {
        "user": {"user_id": user_id, "first_name": first, "middle_name": None, "last_name": last, "email": email,
                 "address": {"street": street, "city": city, "state": "UT", "zipcode": zipcode,
                             "country_code": "USA"},
                 "dob": dob, "gender": gender, "phone": "5555555555", "profile_image_url": None},
        "registration_id": reg, "event_id": event, "rsu_transaction_id": None, "transaction_id": None,
        "bib_num": bib, "chip_num": bib, "age": age, "registration_date": reg_date,
        "team_id": None, "team_name": None, "team_type_id": None, "team_type": None, "team_gender": None,
        "team_bib_num": None, "last_modified": last_modified, "imported": imported,
    }
    for k in ("race_fee", "offline_payment_amount", "processing_fee", "processing_fee_paid_by_user",
              "processing_fee_paid_by_race", "partner_fee", "affiliate_profit", "extra_fees", "amount_paid",
              "usatf_discount_amount_in_cents"):
        p[k] = "$0.00"
    p.update({"usatf_discount_additional_field": None, "giveaway": None, "giveaway_option_id": None,
              "race_corral_id": None, "race_corral_name": None, "checked_in": "F", "checkin_date": None,
              "checked_in_by_user_id": None})
    return p


PARTICIPANTS = [
    {"event": {"event_id": 16, "participants": []}, "participants": [
        participant(30, "John", "Doe", "john.doe@example.com", "123 Main St", "Provo", "84601", "1990-05-05",
                    "M", 30, 16, 50004, 35, "04/24/2025 10:22", 1745877909, "T"),
        participant(29, "Jane", "Doe", "jane.doe@example.com", "123 Main St", "Provo", "84601", "2000-04-13",
                    "F", 29, 16, 50003, 25, "04/24/2025 09:59", 1745877909, "T"),
    ]},
    {"event": {"event_id": 67, "participants": []}, "participants": [
        participant(71, "Bob", "Smith", "bob.smith@example.com", "456 Main St", "Orem", "84057", "1989-01-01",
                    "", 71, 67, 50007, 36, "04/11/2025 16:53", 1757631211, "F"),
    ]},
]

REMOVED = [
    {"event": {"event_id": 16, "participants": []}, "participants": [
        participant(26, "John", "Doe", "john.doe@example.com", "123 Main St", "Provo", "84601", "1990-05-05",
                    "M", 26, 16, 50000, 35, "04/24/2025 10:22", 1757723980, "T"),
        participant(25, "Jane", "Doe", "jane.doe@example.com", "123 Main St", "Provo", "84601", "2000-04-13",
                    "F", 25, 16, 2, 25, "04/24/2025 09:59", 1757723980, "T"),
    ]},
    {"event": {"event_id": 67, "participants": []}},
    {"event": {"event_id": 68, "participants": []}},
]

TEAMS = [
    {"team_id": 9, "team_type_id": 68, "team_name": "Sole Survivors", "team_gender": None, "team_bib_num": None,
     "team_age_restriction_id": None, "last_modified_ts": 1626974217},
    {"team_id": 10, "team_type_id": 68, "team_name": "Speedy Squad", "team_gender": None, "team_bib_num": None,
     "team_age_restriction_id": None, "last_modified_ts": 1626974217},
]

TEAM_TYPES = {"race_team_types": [{
    "team_type_id": 68, "team_type": "Team Marathon", "team_type_desc": None, "min_members": 0,
    "max_members": 5, "min_male_members": 0, "max_male_members": None, "min_female_members": 0,
    "max_female_members": None, "max_num_teams": 13, "valid_event_ids": [68], "require_gender_selection": "F",
    "allow_all_male_team": "T", "allow_all_female_team": "T", "allow_coed_team": "T",
    "require_age_range_selection": "F", "team_age_restrictions": []}]}

# The document's request example, as written (gender/phone/team_id beside "user", "zip code" as a number).
# The document lists event_id as required but leaves it out of the example; it is added here (137 is the
# document's example value).
POST_PARTICIPANTS_REQUEST = {"participants": [
    {"registration_id": "13", "event_id": 137,
     "user": {"first_name": "John", "last_name": "Doe", "email": "john.doe@example.com",
              "address": {"street": "123 Main", "city": "Provo", "state": "UT", "zip code": 84061,
                          "country_code": "US"},
              "dob": "1989-04-06"},
     "gender": "M", "phone": "5552345678", "team_id": "5"},
    {"registration_id": "", "event_id": 137, "user": {"first_name": "Jane", "last_name": "Doe"}},
]}
POST_PARTICIPANTS_RESPONSE = {"participants": [{"registration_id": "73"}, {"registration_id": "74"}]}
SWITCH_REQUEST = {"registrations": [{"registration_id": 72, "new_event_id": 16},
                                    {"registration_id": 76, "new_event_id": 16}]}
SWITCH_RESPONSE = {"participants": [{"registration_id": 72}, {"registration_id": 76}]}
DELETE_REQUEST = {"registrations": [{"registration_id": 25}, {"registration_id": 26}]}
DELETE_RESPONSE = {"participants": [{"registration_id": 25}, {"registration_id": 26}]}
POST_TEAMS_REQUEST = {"race_teams": [{"team_id": "", "team_type_id": 68, "team_name": "Track Pack"}]}
POST_TEAMS_RESPONSE = {"race_teams": [{"team_id": 11}]}

DOC = {
    "races.json": RACES, "participants.json": PARTICIPANTS, "removed_participants.json": REMOVED,
    "teams.json": TEAMS, "team_types.json": TEAM_TYPES,
    "post_participants_request.json": POST_PARTICIPANTS_REQUEST,
    "post_participants_response.json": POST_PARTICIPANTS_RESPONSE,
    "switch_request.json": SWITCH_REQUEST, "switch_response.json": SWITCH_RESPONSE,
    "delete_request.json": DELETE_REQUEST, "delete_response.json": DELETE_RESPONSE,
    "post_teams_request.json": POST_TEAMS_REQUEST, "post_teams_response.json": POST_TEAMS_RESPONSE,
}


def write_doc_samples(outdir: Path = HERE / "doc") -> list[Path]:
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in DOC.items():
        path = outdir / name
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main() -> int:
    from converters.server.samples import write_samples
    for p in write_doc_samples():
        print(p)
    for p in write_samples(str(HERE / "race"), participants=300, seed=1):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
