"""Deterministic seed data for the rehearsal RaceEntry server (converters/server/app.py).

``generate_race(participants, seed)`` returns plain JSON-able data in the API's own shapes:

    {
      "anchor_ts": int,                 # fixed "generation time"; last_modified values lie before it
      "main_race_id": 2026,
      "races": [race, ...],             # the inner "race" objects of GET /races, events filled
      "team_types": [{"race_id": .., "team_type": {...GET team_types item...}}, ...],
      "teams": [{"race_id": .., "team": {...GET teams item...}}, ...],
      "participants": [participant, ...],   # GET participants item shape, every documented field, doc order
      "removed_registration_ids": [int, ...],  # soft-deleted (their last_modified is the deletion time)
    }

Each participant's race follows from its ``event_id`` (see the races' ``events``).
Stdlib only (the server must run with stdlib + orjson).

``python -m converters.rehearsal.seed`` prints the race as JSON; ``python -m converters.rehearsal.samples
samples/race`` writes the realistic sample race (seed 1, 300 participants) exactly as the server answers it.
"""

from __future__ import annotations

import datetime as _dt
import bisect
import functools
import itertools
import random
import time
import unicodedata

from ..model import ADDRESS_KEYS, PARTICIPANT_KEYS, USER_KEYS  # the documented key order, one definition

MAIN_RACE_ID = 2026
SECOND_RACE_ID = 2027
# Fixed anchor so output depends on ``seed`` only (2026-11-18 ~10:13 UTC). last_modified values are
# spread over the four weeks before it.
ANCHOR_TS = 1795000000
SECOND_RACE_PARTICIPANTS = 12

MAIN_RACE_DATE = _dt.date(2027, 9, 18)
SECOND_RACE_DATE = _dt.date(2027, 1, 16)

# event_id, name, start HH:MM, end HH:MM, distance, fee
MAIN_EVENTS = [
    (16, "Marathon", "06:30", "13:00", "26.2 Miles", "$95.00"),
    (67, "Half Marathon", "07:00", "11:00", "13.1 Miles", "$70.00"),
    (68, "10K", "07:30", "09:30", "10 K", "$45.00"),
    (69, "5K", "08:00", "09:30", "5 K", "$35.00"),
    (70, "Kids Mile", "09:45", "10:30", "1 Mile", "$10.00"),
]
MAIN_EVENT_WEIGHTS = [0.18, 0.32, 0.22, 0.20, 0.08]
SECOND_EVENTS = [(71, "5K", "09:00", "10:30", "5 K", "$30.00")]


# (first, middle, last, gender, street, city, state, zipcode, country)  -- always included (if N allows)
SPECIAL_PEOPLE = [
    ("José", None, "García", "M", "12 Calle Sol", "Provo", "UT", "84601", "USA"),
    ("Zoë", "Anne", "Müller", "F", "88 Elm St", "Orem", "UT", "84057", "USA"),
    ("Łukasz", None, "Kowalski", "M", "5 Birch Ln", "Boston", "MA", "02134", "USA"),
    ("Søren", None, "Ødegaard", "M", "301 Fjord Way", "Hoboken", "NJ", "07030", "USA"),
    ("Chloé", None, "Lefèvre", "F", "9 Rue Rd", "Amherst", "MA", "01002", "USA"),
    ("Antonín", None, "Dvořák", "M", "1841 Symphony Ave", "Salt Lake City", "UT", "84101", "USA"),
    ("芳", None, "王", "F", "77 Lotus Ct", "Sandy", "UT", "84070", "USA"),
    ("Дмитрий", None, "Иванов", "M", "14 Volga Dr", "Lehi", "UT", "84043", "USA"),
    ("محمد", None, "العلي", "M", "3 Oasis Pl", "Draper", "UT", "84020", "USA"),
    ("花子", None, "佐藤", "F", "8 Sakura St", "Logan", "UT", "84321", "USA"),
    ("Ελένη", None, "Παπαδοπούλου", "F", "21 Olympus Rd", "Ogden", "UT", "84401", "USA"),
    ("Siobhan", None, "O'Brien", "F", "40 Shamrock Rd", "Boston", "MA", "02134", "USA"),
    ("Marco", "Luca", "D'Angelo", "M", "6 Vine St", "Hoboken", "NJ", "07030", "USA"),
    ("Robert", None, "Smith, Jr.", "M", "100 Main St", "Provo", "UT", "84604", "USA"),
    ('"Speedy"', None, "Gonzalez", "M", "2 Fast Ln", "Orem", "UT", "84058", "USA"),
    ('Ann "Annie"', None, "Lee, PhD", "F", "55 Quote Ave", "Amherst", "MA", "01002", "USA"),
    ("=SUM(A1)", None, "Formula", "", "1 Cell Rd", "Provo", "UT", "84601", "USA"),
    ("+Plus", None, "Sign", "M", "2 Cell Rd", "Provo", "UT", "84601", "USA"),
    ("Dee", None, "-Dash", "F", "3 Cell Rd", "Provo", "UT", "84601", "USA"),
    ("@Home", None, "Runner", "", "4 Cell Rd", "Provo", "UT", "84601", "USA"),
    ("Émilie", None, "Tremblay", "F", "10 Rue Principale", "Calgary", "AB", "T2P 1J9", "CAN"),
]

FIRST_M = ["James", "John", "Michael", "David", "Daniel", "Matthew", "Tyler", "Jacob", "Ethan", "Logan",
           "Nathan", "Samuel", "Benjamin", "Carlos", "Luis", "Andrés", "Kenji", "Wei", "Ahmed", "Olaf",
           "Liam", "Noah", "Spencer", "Brigham", "Parker", "Jonah", "Isaac", "Caleb", "René", "Mateo"]
FIRST_F = ["Emily", "Sarah", "Jessica", "Ashley", "Hannah", "Megan", "Rachel", "Emma", "Olivia", "Ava",
           "Sophia", "Mia", "Abigail", "Madison", "María", "Lucía", "Yuki", "Mei", "Fatima", "Ingrid",
           "McKenna", "Brooklyn", "Kaylee", "Chloe", "Zoe", "Renée", "Anaïs", "Priya", "Ngozi", "Camila"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Anderson", "Taylor", "Thomas",
        "Jensen", "Christensen", "Nielsen", "Larsen", "Peterson", "Young", "Allen", "Hernández", "López",
        "Martínez", "Nguyen", "Tanaka", "Kim", "Patel", "O'Connor", "McDonald", "Van der Berg", "Núñez",
        "Schröder", "Björk", "Hall", "Wright", "Clark", "Lewis", "Walker", "Robinson", "Baker", "Adams",
        "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans"]
MIDDLE = ["Ann", "Marie", "Lee", "James", "Ray", "Lynn", "Jo", "Michael", "Grace", "Dean"]
CITIES = [("Provo", "84601"), ("Provo", "84604"), ("Orem", "84057"), ("Orem", "84058"), ("Lehi", "84043"),
          ("Sandy", "84070"), ("Draper", "84020"), ("Salt Lake City", "84101"), ("Salt Lake City", "84105"),
          ("Ogden", "84401"), ("Logan", "84321"), ("St. George", "84770"), ("Park City", "84060"),
          ("American Fork", "84003"), ("Spanish Fork", "84660")]
FAR_CITIES = [("Boston", "MA", "02134"), ("Hoboken", "NJ", "07030"), ("Amherst", "MA", "01002"),
              ("Denver", "CO", "80202"), ("Boise", "ID", "83702"), ("Las Vegas", "NV", "89101")]
STREETS = ["Main St", "Center St", "University Ave", "State St", "Canyon Rd", "Maple Dr", "Oak Ln",
           "Cherry Ln", "Sunset Blvd", "Ridge Rd", "Apple Way", "Harvest Ln"]

TEAM_TYPES = [
    # team_type_id, name, valid_event_ids, max_members, max_num_teams
    (68, "Team Marathon", [16], 5, 13),
    (69, "Corporate Challenge", [67, 68], 20, 40),
]
TEAMS = [
    # team_id, team_type_id, name, gender, team_bib_num
    (1, 68, "Sole Survivors", None, None),
    (2, 68, "Speedy Squad", "M", 9001),
    (3, 68, "Wasatch Wanderers", "F", 9002),
    (4, 68, "Mile High Club", None, None),
    (5, 69, "Acme Corp", None, 9101),
    (6, 69, "Beehive Bank", None, None),
    (7, 69, "Canyon Software, Inc.", "X", 9102),
    (8, 69, "Deseret Dental", None, None),
    (9, 69, "Ëlite Engineering", None, None),
    (10, 69, "Provo \"Pacers\"", None, 9103),
    (11, 69, "O'Malley & Sons", None, None),
    (12, 69, "Utah Valley Hospital", "F", None),
]
GIVEAWAYS = [(None, None)] * 6 + [("Tech Tee - S", 301), ("Tech Tee - M", 302), ("Tech Tee - L", 303)]


def fmt_mdy(d: _dt.date) -> str:
    """A date as MM/DD/YYYY, RaceEntry's other date typing."""
    return d.strftime("%m/%d/%Y")


@functools.lru_cache(maxsize=None)
def zone(tz: str):
    """The time zone ``tz`` (UTC when the system has no time zone database)."""
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(tz)
    except Exception:  # pragma: no cover - no tz database
        return _dt.timezone.utc


@functools.lru_cache(maxsize=65536)
def _utc_offset(tz: str, hour: int) -> int:
    return int(_dt.datetime.fromtimestamp(hour * 3600, zone(tz)).utcoffset().total_seconds())


def fmt_mdy_hm(ts: int, tz: str = "America/Denver") -> str:
    """Unix seconds -> 'MM/DD/YYYY HH:MM' in the race's timezone (UTC if tz data is unavailable)."""
    t = time.gmtime(int(ts) + _utc_offset(tz, int(ts) // 3600))
    return "%02d/%02d/%04d %02d:%02d" % (t.tm_mon, t.tm_mday, t.tm_year, t.tm_hour, t.tm_min)


def age_on(dob: str | None, on: _dt.date) -> int | None:
    """A runner's age on the day ``on`` (None without a date of birth)."""
    if not dob:
        return None
    b = _dt.date.fromisoformat(dob)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


@functools.lru_cache(maxsize=4096)
def ascii_fold(s: str) -> str:
    """``s`` without accents, spaces or punctuation, lower case (for made-up e-mail addresses)."""
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if c.isascii() and c.isalnum()).lower()


def _blank_template() -> dict:
    p = {k: None for k in PARTICIPANT_KEYS}
    for k in ("race_fee", "offline_payment_amount", "processing_fee", "processing_fee_paid_by_user",
              "processing_fee_paid_by_race", "partner_fee", "affiliate_profit", "extra_fees", "amount_paid",
              "usatf_discount_amount_in_cents"):
        p[k] = "$0.00"
    p["imported"] = "F"
    p["checked_in"] = "F"
    return p


_TEMPLATE = _blank_template()
_USER_TEMPLATE = {k: None for k in USER_KEYS}
_ADDRESS_TEMPLATE = {k: None for k in ADDRESS_KEYS}


def blank_participant() -> dict:
    """A participant with every documented field, in the document's order."""
    p = _TEMPLATE.copy()
    p["user"] = u = _USER_TEMPLATE.copy()
    u["address"] = _ADDRESS_TEMPLATE.copy()
    return p


def _race(race_id, name, date, created_ts, modified_ts, events, days_id, slug, street, city, zipcode):
    return {
        "race_id": race_id,
        "name": name,
        "last_date": fmt_mdy(date),
        "last_end_date": fmt_mdy(date),
        "next_date": fmt_mdy(date),
        "next_end_date": fmt_mdy(date),
        "is_draft_race": "F",
        "is_private_race": "F",
        "is_registration_open": "T",
        "created": fmt_mdy_hm(created_ts),
        "last_modified": fmt_mdy_hm(modified_ts),
        "description": "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.0 Transitional//EN\" "
                       "\"http://www.w3.org/TR/REC-html40/loose.dtd\">\n<html><body><p>"
                       f"{name}: fun for the whole family!</p></body></html>\n",
        "url": f"http://raceentry.com/{slug}/race-info",
        "external_race_url": None,
        "external_results_url": None,
        "fb_page_id": None,
        "fb_event_id": None,
        "address": {"street": street, "street2": None, "city": city, "state": "UT", "zipcode": zipcode,
                    "country_code": "USA"},
        "timezone": "America/Denver",
        "logo_url": f"https://cfimages.raceentry.com/test/logo/{slug}-registration-logo-{race_id}.jpg?v=1745428804",
        "can_use_registration_api": "T",
        "real_time_notifications_enabled": "F",
        "events": [
            {
                "event_id": eid,
                "race_event_days_id": days_id,
                "name": ename,
                "start_time": f"{fmt_mdy(date)} {start}",
                "end_time": f"{fmt_mdy(date)} {end}",
                "age_calc_base_date": fmt_mdy(date),
                "registration_opens": fmt_mdy_hm(created_ts + 86400),
                "event_type": "running_race",
                "distance": dist,
            }
            for eid, ename, start, end, dist, _fee in events
        ],
        "race_event_days": [{"race_event_days_id": days_id, "start_date": fmt_mdy(date),
                             "end_date": fmt_mdy(date)}],
    }


def generate_race(participants: int = 200, seed: int = 1) -> dict:
    """Deterministic race data for ``seed``: a main race (id 2026) with ``participants`` registrations
    over five events and a small second race (id 2027, 12 registrations, another month)."""
    rng = random.Random(seed)
    participants = max(0, int(participants))
    anchor = ANCHOR_TS
    created = anchor - 90 * 86400
    races = [
        _race(MAIN_RACE_ID, "Wasatch Harvest Run", MAIN_RACE_DATE, created, anchor - 30 * 86400, MAIN_EVENTS,
              31, "wasatch-harvest-run", "500 University Ave", "Provo", "84601"),
        _race(SECOND_RACE_ID, "Frostbite 5K", SECOND_RACE_DATE, created + 86400 * 10, anchor - 40 * 86400,
              SECOND_EVENTS, 32, "frostbite-5k", "1 Lakeside Dr", "Orem", "84057"),
    ]
    runners = _Runners(rng, anchor, created)
    main = runners.make(MAIN_RACE_ID, MAIN_RACE_DATE, MAIN_EVENTS, MAIN_EVENT_WEIGHTS, participants,
                        SPECIAL_PEOPLE)
    second = runners.make(SECOND_RACE_ID, SECOND_RACE_DATE, SECOND_EVENTS, [1.0], SECOND_RACE_PARTICIPANTS,
                          [("Ingrid", None, "Björk", "F", "9 Frost Ln", "Orem", "UT", "84057", "USA")])
    return {
        "anchor_ts": anchor,
        "main_race_id": MAIN_RACE_ID,
        "races": races,
        "team_types": _team_types(),
        "teams": _teams(created),
        "participants": main + second,
        "removed_registration_ids": _remove_some(rng, main, anchor),
    }


def _team_types() -> list[dict]:
    """The main race's team types (TEAM_TYPES) as GET team_types lists them."""
    return [{"race_id": MAIN_RACE_ID, "team_type": {
        "team_type_id": ttid, "team_type": name, "team_type_desc": None, "min_members": 0,
        "max_members": max_members, "min_male_members": 0, "max_male_members": None,
        "min_female_members": 0, "max_female_members": None, "max_num_teams": max_teams,
        "valid_event_ids": list(valid), "require_gender_selection": "F", "allow_all_male_team": "T",
        "allow_all_female_team": "T", "allow_coed_team": "T", "require_age_range_selection": "F",
        "team_age_restrictions": []}} for ttid, name, valid, max_members, max_teams in TEAM_TYPES]


def _teams(created: int) -> list[dict]:
    """The main race's teams (TEAMS) as GET teams lists them."""
    return [{"race_id": MAIN_RACE_ID, "team": {
        "team_id": tid, "team_type_id": ttid, "team_name": name, "team_gender": gender,
        "team_bib_num": tbib, "team_age_restriction_id": None,
        "last_modified_ts": created + 86400 * 5 + tid * 37}} for tid, ttid, name, gender, tbib in TEAMS]


def _teams_for_event() -> dict[int, list[tuple]]:
    """Event id -> the teams (TEAMS rows) whose type takes a runner of that event."""
    teams_for_event: dict[int, list[tuple]] = {}
    for t in TEAMS:
        for ttid, _n, valid, _m, _x in TEAM_TYPES:
            if t[1] == ttid:
                for eid in valid:
                    teams_for_event.setdefault(eid, []).append(t)
    return teams_for_event


class _Runners:
    """The seeded races' registrations, drawn from the seed's generator. The order of the draws is the
    data: a step moved before another changes every race of every seed."""

    def __init__(self, rng: random.Random, anchor: int, created: int) -> None:
        self.rng = rng
        self.rnd = rng.random
        self.anchor = anchor
        self.created = created
        self.reg_id = 1000
        self.user_id = 5000
        self.tt_name = {t[0]: t[1] for t in TEAM_TYPES}
        self.tt_max_members = {t[0]: t[3] for t in TEAM_TYPES}
        self.members = dict.fromkeys((t[0] for t in TEAMS), 0)
        self.teams_for_event = _teams_for_event()
        # Shared-second clusters: a bulk import and a few bursts (several rows with the same last_modified).
        self.import_ts = anchor - 20 * 86400 + 1234
        self.bursts = [anchor - rng.randint(1, 27 * 86400) for _ in range(6)]

    def ri(self, a: int, b: int) -> int:   # faster rng.randint (deterministic per seed, not the same stream)
        return a + int(self.rnd() * (b - a + 1))

    def pick(self, seq):
        return seq[int(self.rnd() * len(seq))]

    def make(self, race_id, race_date, events, weights, n, specials) -> list[dict]:
        """``n`` registrations over ``events`` (drawn by ``weights``), ``specials`` among them."""
        rnd = self.rnd
        people = list(specials[:n])
        people += [None] * (n - len(people))
        self.rng.shuffle(people)
        bibs = list(range(101, 101 + n))
        self.rng.shuffle(bibs)
        event_ids = [e[0] for e in events]
        fees = {e[0]: e[5] for e in events}
        cum = list(itertools.accumulate(weights))
        rows = []
        for i, person in enumerate(people):
            self.reg_id += 1
            self.user_id += 1
            eid = event_ids[bisect.bisect(cum, rnd() * cum[-1])] if len(event_ids) > 1 else event_ids[0]
            p = blank_participant()
            self._user(p["user"], person, eid, race_date)
            p["registration_id"] = self.reg_id
            p["event_id"] = eid
            bib = bibs[i]
            p["bib_num"] = bib
            p["chip_num"] = None if rnd() < 0.04 else bib
            p["age"] = age_on(p["user"]["dob"], race_date)
            lm = self._registration(p, fees[eid])
            self._team(p, eid)
            p["giveaway"], p["giveaway_option_id"] = self.pick(GIVEAWAYS)
            p["last_modified"] = lm
            rows.append(p)
        return rows

    def _person(self) -> tuple:
        """A made-up runner: (first, middle, last, gender, street, city, state, zipcode, country)."""
        rnd, pick = self.rnd, self.pick
        g = rnd()
        gender = "M" if g < 0.48 else "F" if g < 0.96 else ""
        first = pick(FIRST_M if gender == "M" else FIRST_F if gender == "F"
                     else FIRST_M + FIRST_F)
        middle = pick(MIDDLE) if rnd() < 0.2 else None
        last = pick(LAST)
        street = f"{self.ri(1, 9999)} {pick(STREETS)}"
        if rnd() < 0.06:
            city, state, zipcode = pick(FAR_CITIES)
        else:
            (city, zipcode), state = pick(CITIES), "UT"
        return first, middle, last, gender, street, city, state, zipcode, "USA"

    def _user(self, u: dict, person: tuple | None, eid: int, race_date: _dt.date) -> None:
        """The registration's user: a special person or a made-up one, with an email, a dob (kids mile
        5-12, everyone else 14-78, a few without) and a phone in one of three forms (or none)."""
        rnd, ri = self.rnd, self.ri
        first, middle, last, gender, street, city, state, zipcode, country = (
            person if person is not None else self._person())
        u["user_id"] = self.user_id
        u["first_name"] = first
        u["middle_name"] = middle
        u["last_name"] = last
        local = ascii_fold(first) and ascii_fold(last) and f"{ascii_fold(first)}.{ascii_fold(last)}"
        u["email"] = f"{local or 'runner'}{self.user_id}@example.com"
        u["address"] = {"street": street, "city": city, "state": state, "zipcode": zipcode,
                        "country_code": country}
        # age: kids mile 5-12, everyone else 14-78; a few without dob
        if rnd() < 0.03:
            dob = None
        else:
            age_years = ri(5, 12) if eid == 70 else ri(14, 78)
            d = race_date - _dt.timedelta(days=age_years * 365 + ri(0, 364))
            dob = d.isoformat()
        u["dob"] = dob
        u["gender"] = gender
        r = rnd()
        u["phone"] = ("+1 801 555 %04d" % ri(0, 9999) if r < 0.05
                      else None if r < 0.08 else "801555%04d" % ri(0, 9999))

    def _registration(self, p: dict, fee: str) -> int:
        """Imported in the bulk import, or registered and paid (fees, transaction); its registration
        date. The registration's last_modified."""
        rnd, ri = self.rnd, self.ri
        if rnd() < 0.2:
            lm = self.import_ts
            p["imported"] = "T"
            reg_ts = self.created + ri(86400, 40 * 86400)
        else:
            lm = self.pick(self.bursts) if rnd() < 0.05 else self.anchor - ri(60, 28 * 86400)
            reg_ts = lm - ri(0, 5 * 86400)
            p["transaction_id"] = 700000 + self.reg_id
            p["race_fee"] = fee
            fee_cents = int(float(fee[1:]) * 100)
            proc = fee_cents * 6 // 100 + 100
            p["processing_fee"] = "$%d.%02d" % divmod(proc, 100)
            p["processing_fee_paid_by_user"] = p["processing_fee"]
            p["amount_paid"] = "$%d.%02d" % divmod(fee_cents + proc, 100)
        p["registration_date"] = fmt_mdy_hm(reg_ts)
        return lm

    def _team(self, p: dict, eid: int) -> None:
        """About 15% of the runners of an event a team type takes join one of its teams, if not full."""
        if eid in self.teams_for_event and self.rnd() < 0.15 / 0.72 * (1 if eid != 16 else 0.8):
            t = self.pick(self.teams_for_event[eid])
            if self.members[t[0]] < self.tt_max_members[t[1]]:   # a full team (its type's max_members) takes no one
                self.members[t[0]] += 1
                p["team_id"], p["team_type_id"], p["team_name"] = t[0], t[1], t[2]
                p["team_type"] = self.tt_name[t[1]]
                p["team_gender"], p["team_bib_num"] = t[3], t[4]


def _remove_some(rng: random.Random, main: list[dict], anchor: int) -> list[int]:
    """Soft-delete a few of the main race's registrations (never a special person's): their ids, sorted;
    their last_modified becomes the deletion time."""
    removed: list[int] = []
    if main:
        n_removed = min(len(main) // 4, max(3, len(main) // 100))
        special_first = {s[0] for s in SPECIAL_PEOPLE}
        special_ids = {p["registration_id"] for p in main if p["user"]["first_name"] in special_first}
        candidates = [p for p in main if p["registration_id"] not in special_ids]
        del_ts = anchor - rng.randint(3600, 3 * 86400)
        for p in rng.sample(candidates, min(n_removed, len(candidates))):
            removed.append(p["registration_id"])
            p["last_modified"] = max(p["last_modified"], del_ts) + rng.randint(0, 1)
        removed.sort()
    return removed


def _main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="python -m converters.rehearsal.seed", description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    json.dump(generate_race(args.participants, args.seed), sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
