"""The RaceEntry rehearsal server, over real HTTP (requests) against start_background on a free port."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import requests

from converters.rehearsal.seed import PARTICIPANT_KEYS, USER_KEYS, generate_race
from converters.rehearsal import DEFAULT_EMAIL, DEFAULT_PASSWORD, redact, start_background

RACE = 2026
DOC_SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "doc"


@pytest.fixture(scope="module")
def server():
    h = start_background(participants=200, seed=1, test_controls=True)
    yield h
    h.stop()


@pytest.fixture()
def srv(server):
    """The shared server with control state reset around each test."""
    def reset():
        requests.delete(server.root + "/_control/faults", timeout=5)
        requests.post(server.root + "/_control/options", timeout=5,
                      json={"switch_new_id": False, "error_style": "runsignup", "error_status": 200,
                            "paging": False, "race_events": False, "key_403": False, "page_cap": 0,
                            "since_inclusive": False, "rows_in_event": False})
        requests.post(server.root + "/_control/clock", json={"now": None}, timeout=5)
    reset()
    yield server
    reset()


def login(h, session=None) -> dict:
    r = (session or requests).post(h.url + "/login", data={"email": h.email, "password": h.password}, timeout=5)
    body = r.json()
    return {"tmp_key": body["tmp_key"], "tmp_secret": body["tmp_secret"]}


@pytest.fixture()
def auth(srv):
    return login(srv)


def get(h, path, auth, **params):
    r = requests.get(h.url + path, params={**auth, **params}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def post(h, path, auth, payload, **kw):
    return requests.post(h.url + path, params=auth, data={"request": json.dumps(payload)}, timeout=10, **kw)


def rows(groups):
    return [p for g in groups for p in g.get("participants", [])]


def by_id(groups):
    return {p["registration_id"]: p for p in rows(groups)}


def clock(h, **body):
    return requests.post(h.root + "/_control/clock", json=body, timeout=5).json()["now"]


_FROZEN = [0]


def freeze(h) -> int:
    """Freeze the server clock at a fresh second, later than anything an earlier test froze at (and well
    inside the 24 h credential lifetime)."""
    _FROZEN[0] = max(_FROZEN[0], int(time.time())) + 600
    return clock(h, now=_FROZEN[0])


def full(h, auth):
    return get(h, f"/race/{RACE}/participants", auth, modified_after_timestamp=0)


# ------------------------------------------------------------------------------------------ login
def test_login_shape_and_wrong_password(srv):
    r = requests.post(srv.url + "/login", data={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    body = r.json()
    assert r.status_code == 200 and body["tmp_key"] and body["tmp_secret"]
    assert body["user"]["user"]["email"] == DEFAULT_EMAIL
    assert set(body["user"]["user"]) == {"user_id", "first_name", "last_name", "email"}
    bad = requests.post(srv.url + "/login", data={"email": DEFAULT_EMAIL, "password": "nope"})
    assert bad.status_code == 200
    assert bad.json() == {"error": {"error_code": 101, "error_msg": "Invalid email or password"}}
    # JSON body accepted too
    js = requests.post(srv.url + "/login", json={"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD})
    assert "tmp_key" in js.json()


def test_new_login_invalidates_old_and_expiry(srv):
    first = login(srv)
    assert "races" in get(srv, "/races", first)
    second = login(srv)
    assert get(srv, "/races", first)["error"]["error_code"] == 102
    assert "races" in get(srv, "/races", second)
    now = clock(srv, now=time.time())
    third = login(srv)
    clock(srv, now=now + 24 * 3600 - 1)
    assert "races" in get(srv, "/races", third)
    clock(srv, advance=1)
    assert get(srv, "/races", third)["error"]["error_code"] == 102
    clock(srv, now=None)
    fourth = login(srv)
    requests.post(srv.root + "/_control/expire_credentials")
    assert get(srv, "/races", fourth)["error"]["error_code"] == 102


def test_missing_or_unknown_credentials(srv):
    r = requests.get(srv.url + "/races")
    assert r.status_code == 200 and "error" in r.json()
    assert get(srv, "/races", {"tmp_key": "x", "tmp_secret": "y"})["error"]["error_code"] != 102


# ------------------------------------------------------------------------------------------ races
def test_races_and_date_filter(srv, auth):
    races = get(srv, "/races", auth)["races"]
    assert [r["race"]["race_id"] for r in races] == [2026, 2027]
    # documented: "events": [] as the document's only example shows; quirk race-events lists them
    assert all(r["race"]["events"] == [] for r in races)
    requests.post(srv.root + "/_control/options", json={"quirks": ["race-events"]}, timeout=5)
    main = get(srv, "/races", auth)["races"][0]["race"]
    assert main["name"] == "Wasatch Harvest Run"
    assert [e["event_id"] for e in main["events"]] == [16, 67, 68, 69, 70]
    ev = main["events"][0]
    assert set(ev) == {"event_id", "race_event_days_id", "name", "start_time", "end_time", "age_calc_base_date",
                       "registration_opens", "event_type", "distance"}
    assert ev["distance"] == "26.2 Miles" and ev["event_type"] == "running_race"
    doc_race = json.loads((DOC_SAMPLES / "races.json").read_text())["races"][0]["race"]
    assert list(main) == list(doc_race)
    sept = get(srv, "/races", auth, start_date="2027-09-01", end_date="2027-09-30")["races"]
    assert [r["race"]["race_id"] for r in sept] == [2026]
    jan = get(srv, "/races", auth, start_date="2027-01-01", end_date="2027-01-31")["races"]
    assert [r["race"]["race_id"] for r in jan] == [2027]
    assert get(srv, "/races", auth, start_date="2030-01-01")["races"] == []
    assert "error" in get(srv, "/races", auth, start_date="01/01/2027")


def test_unknown_race(srv, auth):
    body = get(srv, "/race/999/participants", auth, modified_after_timestamp=0)
    assert body["error"]["error_msg"] == "Race not found"


# ------------------------------------------------------------------------------------ participants
def test_participants_full_shape(srv, auth):
    groups = full(srv, auth)
    assert [g["event"] for g in groups] == [{"event_id": e, "participants": []} for e in (16, 67, 68, 69, 70)]
    ps = rows(groups)
    assert len(ps) > 150
    doc = json.loads((DOC_SAMPLES / "participants.json").read_text())[0]["participants"][0]
    for p in ps:
        assert list(p) == list(doc) == list(PARTICIPANT_KEYS)
        assert list(p["user"]) == list(doc["user"]) == list(USER_KEYS)
        assert list(p["user"]["address"]) == list(doc["user"]["address"])
    for g in groups:
        assert all(p["event_id"] == g["event"]["event_id"] for p in g["participants"])
    bibs = [p["bib_num"] for p in ps]
    assert len(set(bibs)) == len(bibs)
    firsts = {p["user"]["first_name"] for p in ps} | {p["user"]["last_name"] for p in ps}
    for name in ("José", "Zoë", "Łukasz", "Дмитрий", "=SUM(A1)", "Smith, Jr.", '"Speedy"', "O'Brien"):
        assert name in firsts
    assert {"02134", "07030", "01002"} <= {p["user"]["address"]["zipcode"] for p in ps}
    assert any(p["team_id"] and p["team_name"] and p["team_type"] for p in ps)
    assert any(p["user"]["dob"] is None and p["age"] is None for p in generate_race(300, 1)["participants"])
    # the second race is separate
    other = get(srv, "/race/2027/participants", auth, modified_after_timestamp=0)
    assert [g["event"]["event_id"] for g in other] == [71] and len(other[0]["participants"]) == 12


def test_no_timestamp_means_now(srv, auth):
    assert rows(get(srv, f"/race/{RACE}/participants", auth)) == []


def named(p, **user):
    """An update row for participant ``p`` carrying its names (required on updates too) and ``user``."""
    return {"registration_id": p["registration_id"], "event_id": p["event_id"],
            "user": {"first_name": p["user"]["first_name"], "last_name": p["user"]["last_name"], **user}}


def test_incremental_is_strictly_after(srv, auth):
    live = by_id(full(srv, auth))
    ids = sorted(live)[:3]
    t = freeze(srv)
    resp = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        dict(named(live[ids[0]], middle_name="Same"), registration_id=str(ids[0])),
        named(live[ids[1]], middle_name="Second")]}).json()
    assert [r["registration_id"] for r in resp["participants"]] == [str(ids[0]), str(ids[1])]
    got = by_id(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=t - 1))
    assert set(got) == {ids[0], ids[1]} and all(p["last_modified"] == t for p in got.values())
    # "modified after this timestamp": a row modified at T is not after T
    assert rows(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=t)) == []


def test_paging(srv, auth):
    everything = rows(full(srv, auth))
    # documented: the document shows no paging, so its parameters mean nothing: every answer is whole
    ignored = rows(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=0, page=3,
                       results_per_page=37, after_registration_id=10**6))
    assert len(ignored) == len(everything) > 37
    requests.post(srv.root + "/_control/options", json={"paging": True}, timeout=5)
    paged, page = [], 1
    while True:
        groups = get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=0, page=page,
                     results_per_page=37)
        assert len(groups) == 5
        chunk = rows(groups)
        paged.extend(chunk)
        if len(chunk) < 37:
            break
        page += 1
    assert sorted(p["registration_id"] for p in paged) == sorted(p["registration_id"] for p in everything)
    assert len(paged) == len(everything)
    assert "error" in get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=0, page=1,
                          results_per_page=2501)


def test_removed_feed_shape(srv, auth):
    groups = get(srv, f"/race/{RACE}/removed_participants", auth, modified_after_timestamp=0)
    assert [g["event"]["event_id"] for g in groups] == [16, 67, 68, 69, 70]
    assert rows(groups), "seed has removed participants"
    for g in groups:
        if "participants" in g:
            assert g["participants"], "non-empty groups only carry the key"
    empty = [g for g in groups if "participants" not in g]
    assert empty and all(g == {"event": {"event_id": g["event"]["event_id"], "participants": []}} for g in empty)
    live = by_id(full(srv, auth))
    assert not set(by_id(groups)) & set(live)


# ------------------------------------------------------------------------------------- POST participants
def test_create_update_partial_and_null(srv, auth):
    t = freeze(srv)
    created = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": "", "event_id": "68",
         "user": {"first_name": "Zoë", "last_name": "O'Neil", "middle_name": "Q", "email": "z@example.com",
                  "dob": "1990-05-05", "address": {"street": "1 A St", "city": "Boston", "state": "MA",
                                                   "zip code": "02134", "country_code": "USA"},
                  "gender": "F", "phone": "8015551234"}},
        # the document's example shape: gender/phone/team_id beside "user", numeric "zip code"
        {"registration_id": None, "event_id": 67, "user": {"first_name": "Jane", "last_name": "Doe",
                                                         "address": {"zip code": 84061}},
         "gender": "F", "phone": 5552345678, "team_id": "5"},
    ]}).json()["participants"]
    a, b = (int(r["registration_id"]) for r in created)
    assert all(isinstance(r["registration_id"], str) for r in created)
    cur = by_id(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=t - 1))
    pa, pb = cur[a], cur[b]
    assert pa["user"]["first_name"] == "Zoë" and pa["user"]["address"]["zipcode"] == "02134"
    assert pa["event_id"] == 68 and pa["bib_num"] is None and pa["chip_num"] is None
    assert pa["age"] == 37 and pa["last_modified"] == t and pa["registration_date"]
    assert pb["user"]["gender"] == "F" and pb["user"]["phone"] == "5552345678"
    assert pb["user"]["address"]["zipcode"] == "84061"
    assert pb["user"]["email"] == DEFAULT_EMAIL  # documented default
    assert pb["team_id"] == 5 and pb["team_name"] == "Acme Corp" and pb["team_type"] == "Corporate Challenge"
    assert pb["user"]["user_id"] != pa["user"]["user_id"]

    t2 = clock(srv, advance=10)
    up = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": str(a), "event_id": 68, "user": {"first_name": "Zoë", "last_name": "O'Neil",
                                                           "middle_name": None, "dob": None, "phone": "1"}},
    ]}).json()["participants"]
    assert up == [{"registration_id": str(a)}]
    pa2 = by_id(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=t2 - 1))[a]
    assert pa2["user"]["middle_name"] is None and pa2["user"]["dob"] is None and pa2["age"] is None
    assert pa2["user"]["first_name"] == "Zoë" and pa2["user"]["email"] == "z@example.com"
    assert pa2["user"]["address"] == pa["user"]["address"] and pa2["last_modified"] == t2
    # a no-op update does not bump last_modified
    clock(srv, advance=10)
    post(srv, f"/race/{RACE}/participants", auth, {"participants": [named(pa2, phone="1")]})
    assert by_id(full(srv, auth))[a]["last_modified"] == t2


def test_rows_without_their_id_create_nothing(srv, auth):
    """registration_id and team_id are required: blank creates (the document's example), absent is a bad
    row (the document shows no creation without the key)."""
    before = len(rows(full(srv, auth)))
    resp = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        {"event_id": 70, "user": {"first_name": "No", "last_name": "Key"}}]}).json()["participants"]
    assert resp[0]["error"]["error_msg"] == "row 1: registration_id is required (blank creates a participant)"
    teams = post(srv, f"/race/{RACE}/teams", auth, {"race_teams": [{"team_type_id": 68, "team_name": "Keyless"}]})
    assert teams.json()["race_teams"][0]["error"]["error_msg"] == "row 1: team_id is required (blank creates a team)"
    assert len(rows(full(srv, auth))) == before
    assert "Keyless" not in {t["team_name"] for t in get(srv, f"/race/{RACE}/teams", auth)}


def test_post_per_row_errors(srv, auth):
    live = by_id(full(srv, auth))
    rid = min(live)
    ev = live[rid]["event_id"]
    resp = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": "", "event_id": 69, "user": {"first_name": "Only"}},
        {"registration_id": "999999", "event_id": 69, "user": {"first_name": "X"}},
        {"registration_id": "", "event_id": 71, "user": {"first_name": "A", "last_name": "B"}},
        {"registration_id": "", "event_id": 69, "user": {"first_name": "A", "last_name": "B", "dob": "05/05/1990"}},
        {"registration_id": "", "event_id": 69, "user": {"first_name": "A", "last_name": "B"}, "team_id": 777},
        {"registration_id": "", "user": {"first_name": "A", "last_name": "B"}},
        {"registration_id": rid, "event_id": ev, "user": {"first_name": "Still", "last_name": "Fine"}},
    ]}).json()["participants"]
    assert len(resp) == 7
    for i, r in enumerate(resp[:6], 1):
        assert r["registration_id"] is None
        assert r["error"]["error_code"] == 400 and r["error"]["error_msg"].startswith(f"row {i}")
    assert resp[1]["error"]["error_msg"] == ("row 2 (registration_id 999999): not a registration of race 2026 "
                                             "(unknown or deleted)")
    assert resp[6] == {"registration_id": str(rid)}
    assert by_id(full(srv, auth))[rid]["user"]["last_name"] == "Fine"


def test_post_malformed_request(srv, auth):
    r = requests.post(srv.url + f"/race/{RACE}/participants", params=auth, data={"request": "{not json"})
    assert r.status_code == 200 and r.json()["error"]["error_code"] == 400
    r = requests.post(srv.url + f"/race/{RACE}/participants", params=auth, data={"request": '{"x": 1}'})
    assert "error" in r.json()
    # a raw JSON body without "request" (the document shows none) is refused; one carrying it is read
    row = {"registration_id": "", "event_id": 70, "user": {"first_name": "Raw", "last_name": "Json"}}
    r = requests.post(srv.url + f"/race/{RACE}/participants", params=auth, json={"participants": [row]})
    assert r.json()["error"]["error_msg"] == "Missing request parameter"
    r = requests.post(srv.url + f"/race/{RACE}/participants", params=auth,
                      json={"request": json.dumps({"participants": [row]})})
    assert r.json()["participants"][0]["registration_id"]


# ------------------------------------------------------------------------------------ switch / delete
def test_switch_keeps_id_by_default_and_new_id_as_option(srv, auth):
    live = by_id(full(srv, auth))
    mover = next(p for p in sorted(live.values(), key=lambda p: p["registration_id"])
                 if p["event_id"] == 69 and not p["team_id"])
    resp = post(srv, f"/race/{RACE}/switch_participant_events", auth,
                {"registrations": [{"registration_id": mover["registration_id"], "new_event_id": 70}]}).json()
    assert resp == {"participants": [{"registration_id": mover["registration_id"]}]}
    assert by_id(full(srv, auth))[mover["registration_id"]]["event_id"] == 70

    requests.post(srv.root + "/_control/options", json={"switch_new_id": True})
    old = next(p for p in sorted(live.values(), key=lambda p: p["registration_id"])
               if p["event_id"] == 69 and not p["team_id"] and p is not mover)
    t = freeze(srv)
    resp = post(srv, f"/race/{RACE}/switch_participant_events", auth,
                {"registrations": [{"registration_id": old["registration_id"], "new_event_id": 16},
                                   {"registration_id": 1, "new_event_id": 16}]}).json()["participants"]
    new_id = resp[0]["registration_id"]
    assert isinstance(new_id, int) and new_id != old["registration_id"]
    assert resp[1]["registration_id"] is None
    assert resp[1]["error"]["error_msg"].startswith("row 2 (registration_id 1): ")
    changed = by_id(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=t - 1))
    assert set(changed) == {new_id}
    new = changed[new_id]
    assert new["event_id"] == 16 and new["bib_num"] == old["bib_num"] and new["chip_num"] == old["chip_num"]
    assert new["user"]["user_id"] == old["user"]["user_id"]
    removed = by_id(get(srv, f"/race/{RACE}/removed_participants", auth, modified_after_timestamp=t - 1))
    assert set(removed) == {old["registration_id"]} and removed[old["registration_id"]]["last_modified"] == t

    requests.post(srv.root + "/_control/options", json={"switch_new_id": False})
    resp = post(srv, f"/race/{RACE}/switch_participant_events", auth,
                {"registrations": [{"registration_id": new_id, "new_event_id": "67"}]}).json()
    assert resp == {"participants": [{"registration_id": new_id}]}
    assert by_id(full(srv, auth))[new_id]["event_id"] == 67


def test_delete(srv, auth):
    live = by_id(full(srv, auth))
    victims = sorted(live)[-2:]
    t = freeze(srv)
    resp = post(srv, f"/race/{RACE}/delete_participants", auth,
                {"registrations": [{"registration_id": victims[0]}, {"registration_id": 424242},
                                   {"registration_id": str(victims[1])}]}).json()["participants"]
    assert resp[0] == {"registration_id": victims[0]} and resp[2] == {"registration_id": victims[1]}
    assert resp[1]["registration_id"] is None and resp[1]["error"]["error_code"] == 400
    assert not set(victims) & set(by_id(full(srv, auth)))
    removed = by_id(get(srv, f"/race/{RACE}/removed_participants", auth, modified_after_timestamp=t - 1))
    assert set(victims) <= set(removed)
    too_many = post(srv, f"/race/{RACE}/delete_participants", auth,
                    {"registrations": [{"registration_id": i} for i in range(251)]}).json()
    assert too_many["error"]["error_code"] == 400


# ------------------------------------------------------------------------------------------- teams
def test_teams_and_team_types(srv, auth):
    teams = get(srv, f"/race/{RACE}/teams", auth)
    doc_team = json.loads((DOC_SAMPLES / "teams.json").read_text())[0]
    assert len(teams) >= 12 and all(list(t) == list(doc_team) for t in teams)
    types = get(srv, f"/race/{RACE}/teams/team_types", auth)["race_team_types"]
    assert {t["team_type"]: t["valid_event_ids"] for t in types} == {
        "Team Marathon": [16], "Corporate Challenge": [67, 68]}
    resp = post(srv, f"/race/{RACE}/teams", auth, {"race_teams": [
        {"team_id": "", "team_type_id": 68, "team_name": "Track Pack"},
        {"team_id": "", "team_type_id": 68, "team_name": ""},
        {"team_id": "", "team_type_id": 999, "team_name": "Nope"},
    ]}).json()["race_teams"]
    assert isinstance(resp[0]["team_id"], int)
    assert resp[1]["team_id"] is None and resp[1]["error"]["error_msg"].startswith("row 2: ")
    assert resp[2]["team_id"] is None
    assert any(t["team_name"] == "Track Pack" for t in get(srv, f"/race/{RACE}/teams", auth))


# ------------------------------------------------------------------------------------------ faults
def fault(h, **f):
    requests.post(h.root + "/_control/faults", json={"faults": [f]}, timeout=5)


def make_one(h, auth, name):
    return post(h, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": "", "event_id": 69, "user": {"first_name": name, "last_name": "Fault"}}]})


def names(h, auth):
    return [p["user"]["first_name"] for p in rows(full(h, auth))]


@pytest.mark.parametrize("kind", ["500", "503", "429"])
def test_fault_status(srv, auth, kind):
    fault(srv, method="POST", path="/participants$", kind=kind, retry_after=2)
    r = make_one(srv, auth, f"S{kind}")
    assert r.status_code == int(kind)
    if kind == "429":
        assert r.headers["Retry-After"] == "2"
    assert f"S{kind}" not in names(srv, auth)
    assert make_one(srv, auth, f"S{kind}ok").status_code == 200  # consumed


def test_fault_drops(srv, auth):
    fault(srv, method="POST", path="/participants$", kind="drop_before")
    with pytest.raises(requests.ConnectionError):
        make_one(srv, auth, "DropBefore")
    assert "DropBefore" not in names(srv, auth)
    fault(srv, method="POST", path="/participants$", kind="drop_after")
    with pytest.raises(requests.ConnectionError):
        make_one(srv, auth, "DropAfter")
    assert "DropAfter" in names(srv, auth)  # committed, response lost
    fault(srv, method="POST", path="/participants$", kind="500_after")
    assert make_one(srv, auth, "FiveAfter").status_code == 500
    assert "FiveAfter" in names(srv, auth)


def test_fault_reverse_after_and_504_apply_later(srv, auth):
    fault(srv, method="POST", path="/participants$", kind="reverse_after")
    r = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": "", "event_id": 69, "user": {"first_name": f"Rev{i}", "last_name": "Fault"}}
        for i in range(3)]})
    ids = [e["registration_id"] for e in r.json()["participants"]]
    got = {p["user"]["first_name"]: p["registration_id"] for p in rows(full(srv, auth))}
    assert ids == [str(got[f"Rev{i}"]) for i in (2, 1, 0)]  # each id right, in reverse order
    fault(srv, method="POST", path="/participants$", kind="504_apply_later", delay=0.5)
    r = make_one(srv, auth, "Later")
    assert r.status_code == 504 and "Later" not in names(srv, auth)  # answered at once, not applied yet
    deadline = time.monotonic() + 10
    while "Later" not in names(srv, auth) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert names(srv, auth).count("Later") == 1
    log = requests.get(srv.root + "/_control/requests").json()["requests"]
    assert [q["applied"] for q in log if q["fault"] == "504_apply_later"][-1] is True


def test_fault_slow_nonjson_error200(srv, auth):
    fault(srv, method="GET", path="/races", kind="slow", delay=0.3)
    t0 = time.monotonic()
    assert "races" in get(srv, "/races", auth)
    assert time.monotonic() - t0 >= 0.3
    fault(srv, method="GET", path="/races", kind="non_json")
    r = requests.get(srv.url + "/races", params=auth)
    assert r.status_code == 200 and r.text.lstrip().startswith("<!DOCTYPE html")
    fault(srv, method=None, path=None, kind="error200")
    r = make_one(srv, auth, "E200")
    assert r.status_code == 200 and "error" in r.json()
    assert "E200" not in names(srv, auth)
    fault(srv, method="GET", path="never-matches", kind="500", count=3)
    listed = requests.get(srv.root + "/_control/faults").json()["faults"]
    assert listed and listed[0]["count"] == 3
    requests.delete(srv.root + "/_control/faults")
    assert requests.get(srv.root + "/_control/faults").json()["faults"] == []


def test_error_styles(srv, auth):
    requests.post(srv.root + "/_control/options", json={"error_style": "message"})
    r = requests.get(srv.url + "/race/999/teams", params=auth)
    assert r.status_code == 200 and r.json() == {"message": "Race not found"}
    requests.post(srv.root + "/_control/options", json={"error_style": "runsignup", "error_status": 400})
    r = requests.get(srv.url + "/race/999/teams", params=auth)
    assert r.status_code == 400 and r.json()["error"]["error_msg"] == "Race not found"


def test_request_log_has_no_secrets(srv):
    requests.delete(srv.root + "/_control/requests")
    a = login(srv)
    get(srv, "/races", a)
    get(srv, f"/race/{RACE}/teams", a)
    log = requests.get(srv.root + "/_control/requests").json()["requests"]
    assert [(e["method"], e["path"]) for e in log] == [
        ("POST", "/rest/login"), ("GET", "/rest/races"), ("GET", f"/rest/race/{RACE}/teams")]
    text = json.dumps(log)
    assert a["tmp_key"] not in text and a["tmp_secret"] not in text and DEFAULT_PASSWORD not in text
    assert "tmp_key=***" in text
    assert redact("/rest/races?tmp_key=abc&tmp_secret=def&x=1") == "/rest/races?tmp_key=***&tmp_secret=***&x=1"


def test_db_reuse(tmp_path):
    db = str(tmp_path / "race.sqlite")
    h = start_background(db=db, participants=40, seed=3)
    try:
        a = login(h)
        n = len(rows(get(h, f"/race/{RACE}/participants", a, modified_after_timestamp=0)))
        post(h, f"/race/{RACE}/participants", a, {"participants": [
            {"registration_id": "", "event_id": 70, "user": {"first_name": "Kept", "last_name": "Row"}}]})
    finally:
        h.stop()
    assert os.path.exists(db)
    h = start_background(db=db, participants=999, seed=9)
    try:
        got = rows(get(h, f"/race/{RACE}/participants", login(h), modified_after_timestamp=0))
        assert len(got) == n + 1 and any(p["user"]["first_name"] == "Kept" for p in got)
    finally:
        h.stop()


def test_seed_deterministic():
    assert generate_race(60, 7) == generate_race(60, 7)
    assert generate_race(60, 7) != generate_race(60, 8)


def test_team_rename_updates_members(srv, auth):
    member = next(p for p in rows(full(srv, auth)) if p["team_id"])
    t = freeze(srv)
    resp = post(srv, f"/race/{RACE}/teams", auth, {"race_teams": [
        {"team_id": str(member["team_id"]), "team_name": "Renamed Runners"}]}).json()
    # the field table marks team_type_id and team_name required, updates included
    assert resp["race_teams"][0]["error"]["error_msg"].endswith(": team_type_id is required")
    resp = post(srv, f"/race/{RACE}/teams", auth, {"race_teams": [
        {"team_id": str(member["team_id"]), "team_type_id": member["team_type_id"],
         "team_name": "Renamed Runners"}]}).json()
    assert resp == {"race_teams": [{"team_id": member["team_id"]}]}
    changed = by_id(get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=t - 1))
    assert member["registration_id"] in changed
    assert all(p["team_name"] == "Renamed Runners" for p in changed.values())
    assert all(p["team_id"] == member["team_id"] for p in changed.values())


def test_verbose_log_redacts(srv, capfd):
    requests.post(srv.root + "/_control/options", json={"verbose": True})
    try:
        a = login(srv)
        get(srv, "/races", a)
    finally:
        requests.post(srv.root + "/_control/options", json={"verbose": False})
    err = capfd.readouterr().err
    assert "/rest/races" in err and "tmp_key=***" in err
    assert a["tmp_key"] not in err and a["tmp_secret"] not in err and DEFAULT_PASSWORD not in err


# -------------------------------------------------------------------- documented: bodies, login, paging
def test_login_from_form_multipart_json_or_query(srv):
    creds = {"email": DEFAULT_EMAIL, "password": DEFAULT_PASSWORD}
    answers = [
        requests.post(srv.url + "/login", data=creds, timeout=5),                                   # form
        requests.post(srv.url + "/login", files={k: (None, v) for k, v in creds.items()}, timeout=5),  # multipart
        requests.post(srv.url + "/login", json=creds, timeout=5),                                   # JSON
        requests.post(srv.url + "/login", params=creds, timeout=5),                                 # query
    ]
    assert "multipart/form-data" in answers[1].request.headers["Content-Type"]
    assert all(r.status_code == 200 and r.json()["tmp_key"] for r in answers)
    bad = requests.post(srv.url + "/login", files={"email": (None, DEFAULT_EMAIL), "password": (None, "nope")})
    assert bad.json()["error"]["error_code"] == 101


def test_request_from_form_multipart_or_query(srv, auth):
    def payload(name):
        return json.dumps({"participants": [{"registration_id": "", "event_id": 70,
                                             "user": {"first_name": name, "last_name": "Carrier"}}]})
    url = srv.url + f"/race/{RACE}/participants"
    sent = [requests.post(url, params=auth, data={"request": payload("Form")}, timeout=5),
            requests.post(url, params=auth, files={"request": (None, payload("Multipart"))}, timeout=5),
            requests.post(url, params={**auth, "request": payload("Query")}, timeout=5)]
    assert all(r.status_code == 200 and r.json()["participants"][0]["registration_id"] for r in sent)
    assert {"Form", "Multipart", "Query"} <= set(names(srv, auth))
    missing = requests.post(url, params=auth, files={"other": (None, "x")}, timeout=5).json()
    assert missing["error"]["error_msg"] == "Missing request parameter"


@pytest.mark.parametrize("feed", ["participants", "removed_participants"])
def test_after_registration_id(srv, auth, feed):
    requests.post(srv.root + "/_control/options", json={"paging": True}, timeout=5)
    everything = sorted(by_id(get(srv, f"/race/{RACE}/{feed}", auth, modified_after_timestamp=0)))
    pivot = everything[len(everything) // 3]
    after = rows(get(srv, f"/race/{RACE}/{feed}", auth, modified_after_timestamp=0, after_registration_id=pivot))
    assert sorted(p["registration_id"] for p in after) == [i for i in everything if i > pivot]
    # ordered by id, then limited; page is ignored beside after_registration_id
    limited = rows(get(srv, f"/race/{RACE}/{feed}", auth, modified_after_timestamp=0, after_registration_id=pivot,
                       results_per_page=2, page=5))
    assert sorted(p["registration_id"] for p in limited) == [i for i in everything if i > pivot][:2]
    assert rows(get(srv, f"/race/{RACE}/{feed}", auth, modified_after_timestamp=0,
                    after_registration_id=everything[-1])) == []
    paged = rows(get(srv, f"/race/{RACE}/{feed}", auth, modified_after_timestamp=0, page=2, results_per_page=2))
    assert sorted(p["registration_id"] for p in paged) == everything[2:4]
    bad = requests.get(srv.url + f"/race/{RACE}/{feed}", params={**auth, "after_registration_id": "x"}).json()
    assert bad["error"]["error_msg"] == "after_registration_id must be an integer, got 'x'"


def test_names_required_on_updates(srv, auth):
    p = min(by_id(full(srv, auth)).values(), key=lambda p: p["registration_id"])
    rid = p["registration_id"]
    resp = post(srv, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": rid, "event_id": p["event_id"], "user": {"middle_name": "NoNames"}},
        {"registration_id": rid, "event_id": p["event_id"], "user": {"first_name": "Only", "last_name": " "}},
        named(p, middle_name="Named")]}).json()["participants"]
    assert resp[0] == {"registration_id": None, "error": {
        "error_code": 400, "error_msg": f"row 1 (registration_id {rid}): user.first_name is required"}}
    assert resp[1]["error"]["error_msg"] == f"row 2 (registration_id {rid}): user.last_name is required"
    assert resp[2] == {"registration_id": str(rid)}
    assert by_id(full(srv, auth))[rid]["user"]["middle_name"] == "Named"


def test_update_naming_another_event_keeps_the_event(srv, auth):
    p = next(p for p in rows(full(srv, auth)) if p["event_id"] == 69 and not p["team_id"])
    resp = post(srv, f"/race/{RACE}/participants", auth,
                {"participants": [dict(named(p, middle_name="Moved?"), event_id=16)]}).json()
    assert resp == {"participants": [{"registration_id": str(p["registration_id"])}]}
    now = by_id(full(srv, auth))[p["registration_id"]]
    assert now["event_id"] == 69 and now["user"]["middle_name"] == "Moved?"


# ------------------------------------------------------------------------------------ team type limits
@pytest.fixture()
def fresh():
    """A server of its own (60 participants) for tests that fill teams up."""
    h = start_background(participants=60, seed=3, test_controls=True)
    yield h
    h.stop()


def new_runner(h, auth, event_id, team_id="", name="Runner"):
    return post(h, f"/race/{RACE}/participants", auth, {"participants": [
        {"registration_id": "", "event_id": event_id, "team_id": team_id,
         "user": {"first_name": name, "last_name": "Teamed"}}]}).json()["participants"][0]


def new_team(h, auth, team_type_id, name):
    return post(h, f"/race/{RACE}/teams", auth, {"race_teams": [
        {"team_id": "", "team_type_id": team_type_id, "team_name": name}]}).json()["race_teams"][0]


def test_team_takes_only_its_types_events(fresh):
    a = login(fresh)
    types = {t["team_type_id"]: t for t in get(fresh, f"/race/{RACE}/teams/team_types", a)["race_team_types"]}
    assert types[68]["valid_event_ids"] == [16]
    refused = new_runner(fresh, a, 69, team_id=1)
    assert refused["registration_id"] is None
    assert refused["error"]["error_msg"] == ("row 1: cannot join team 1 (Sole Survivors): team type 68 "
                                             "(Team Marathon) takes events 16 only, not event 69")
    assert new_runner(fresh, a, 16, team_id=1)["registration_id"]
    # an update joining the team is held to the same rule (the runner's own event counts)
    p = next(p for p in rows(full(fresh, a)) if p["event_id"] == 67 and not p["team_id"])
    resp = post(fresh, f"/race/{RACE}/participants", a, {"participants": [dict(named(p), team_id=2)]}).json()
    assert "takes events 16 only, not event 67" in resp["participants"][0]["error"]["error_msg"]
    # a team member cannot be switched to an event its team's type does not take
    member = next(p for p in rows(full(fresh, a)) if p["team_type_id"] == 68)
    resp = post(fresh, f"/race/{RACE}/switch_participant_events", a, {"registrations": [
        {"registration_id": member["registration_id"], "new_event_id": 69}]}).json()["participants"][0]
    assert resp["registration_id"] is None and "take it off the team first" in resp["error"]["error_msg"]
    assert by_id(full(fresh, a))[member["registration_id"]]["event_id"] == 16


def test_team_holds_at_most_max_members(fresh):
    a = login(fresh)
    team = new_team(fresh, a, 68, "Five Alive")["team_id"]
    joined = [new_runner(fresh, a, 16, team, f"R{i}") for i in range(5)]
    assert all(j["registration_id"] for j in joined)
    sixth = new_runner(fresh, a, 16, team, "R6")
    assert sixth["error"]["error_msg"] == (f"row 1: cannot join team {team} (Five Alive): it is full (team type 68 "
                                           "(Team Marathon) allows 5 members)")
    assert sum(p["team_id"] == team for p in rows(full(fresh, a))) == 5
    # a member leaving makes room
    leaver = by_id(full(fresh, a))[int(joined[0]["registration_id"])]
    post(fresh, f"/race/{RACE}/participants", a, {"participants": [dict(named(leaver), team_id="")]})
    assert new_runner(fresh, a, 16, team, "R7")["registration_id"]


def test_race_holds_at_most_max_num_teams_of_a_type(fresh):
    a = login(fresh)
    # changing a team's type is held to the new type's limits (its members must fit)
    corporate, name = next((p["team_id"], p["team_name"]) for p in rows(full(fresh, a)) if p["team_type_id"] == 69)
    moved = post(fresh, f"/race/{RACE}/teams", a, {"race_teams": [{"team_id": corporate, "team_type_id": 68,
                                                                   "team_name": name}]})
    assert moved.json()["race_teams"][0]["team_id"] is None
    assert "the team cannot change type: team type 68 (Team Marathon) takes events 16 only" in moved.text
    have = sum(t["team_type_id"] == 68 for t in get(fresh, f"/race/{RACE}/teams", a))
    resp = post(fresh, f"/race/{RACE}/teams", a, {"race_teams": [
        {"team_id": "", "team_type_id": 68, "team_name": f"Team {i}"} for i in range(13 - have + 1)]}).json()
    answers = resp["race_teams"]
    assert all(r["team_id"] for r in answers[:-1])
    assert answers[-1]["error"]["error_msg"] == (f"row {len(answers)}: race 2026 already has 13 teams of team "
                                                 "type 68 (Team Marathon), its max_num_teams")


def test_seeded_teams_fit_their_types():
    from converters.rehearsal.seed import TEAM_TYPES

    data = generate_race(2000, 1)
    limit = {ttid: (set(valid), max_members) for ttid, _n, valid, max_members, _t in TEAM_TYPES}
    counts: dict = {}
    for p in data["participants"]:
        if p["team_id"]:
            counts[p["team_id"]] = counts.get(p["team_id"], 0) + 1
            assert p["event_id"] in limit[p["team_type_id"]][0]
    types_of = {t["team"]["team_id"]: t["team"]["team_type_id"] for t in data["teams"]}
    assert all(n <= limit[types_of[tid]][1] for tid, n in counts.items())


# ------------------------------------------------------------------------------------------- strict
def test_strict_bad_row_refuses_the_whole_request(strict_server):
    h = strict_server
    a = login(h)
    before = full(h, a)
    p = min(by_id(before).values(), key=lambda p: p["registration_id"])
    r = post(h, f"/race/{RACE}/participants", a, {"participants": [
        {"registration_id": "", "event_id": 70, "user": {"first_name": "Never", "last_name": "Applied"}},
        named(p, middle_name="NotEither"),
        {"registration_id": p["registration_id"], "event_id": p["event_id"], "user": {"middle_name": "x"}},
        {"registration_id": "", "event_id": 999, "user": {"first_name": "A", "last_name": "B"}}]})
    assert r.status_code == 400
    assert r.json() == {"error": f"Request refused, nothing applied: row 3 (registration_id {p['registration_id']}): "
                                 "user.first_name is required; row 4: event_id 999 is not an event of race 2026"}
    assert full(h, a) == before
    for path, body in [
        ("switch_participant_events", {"registrations": [{"registration_id": p["registration_id"],
                                                          "new_event_id": 70},
                                                         {"registration_id": 1, "new_event_id": 70}]}),
        ("delete_participants", {"registrations": [{"registration_id": p["registration_id"]},
                                                   {"registration_id": 1}]}),
        ("teams", {"race_teams": [{"team_id": "", "team_type_id": 69, "team_name": "Never"},
                                  {"team_id": "", "team_type_id": 999, "team_name": "Bad"}]}),
    ]:
        r = post(h, f"/race/{RACE}/{path}", a, body)
        assert r.status_code == 400 and "row 2" in r.json()["error"] and "\n" not in r.json()["error"], path
    assert full(h, a) == before
    assert not any(t["team_name"] == "Never" for t in get(h, f"/race/{RACE}/teams", a))


def test_strict_success_answers_only_ids_and_switch_gives_new_ids(strict_server):
    h = strict_server
    a = login(h)
    p = next(p for p in rows(full(h, a)) if p["event_id"] == 69 and not p["team_id"])
    r = post(h, f"/race/{RACE}/participants", a, {"participants": [
        named(p, middle_name="Ok"),
        {"registration_id": "", "event_id": 70, "user": {"first_name": "New", "last_name": "One"}}]})
    assert r.status_code == 200
    answer = r.json()["participants"]
    assert answer[0] == {"registration_id": str(p["registration_id"])} and set(answer[1]) == {"registration_id"}
    t = freeze(h)
    moved = post(h, f"/race/{RACE}/switch_participant_events", a, {"registrations": [
        {"registration_id": p["registration_id"], "new_event_id": 70}]}).json()["participants"]
    new_id = moved[0]["registration_id"]
    assert new_id != p["registration_id"] and set(moved[0]) == {"registration_id"}
    assert by_id(get(h, f"/race/{RACE}/participants", a, modified_after_timestamp=t - 1))[new_id]["event_id"] == 70
    assert p["registration_id"] in by_id(get(h, f"/race/{RACE}/removed_participants", a,
                                             modified_after_timestamp=t - 1))


def test_strict_update_naming_another_event_is_refused(strict_server):
    h = strict_server
    a = login(h)
    p = next(p for p in rows(full(h, a)) if p["event_id"] == 69 and not p["team_id"])
    r = post(h, f"/race/{RACE}/participants", a, {"participants": [dict(named(p), event_id=16)]})
    assert r.status_code == 400
    assert r.json()["error"] == (f"Request refused, nothing applied: row 1 (registration_id {p['registration_id']}): "
                                 "the registration is in event 69, not 16; use switch_participant_events to move it")


def test_strict_401_for_missing_bad_or_expired_key(strict_server):
    h = strict_server
    missing = requests.get(h.url + "/races", timeout=5)
    bad = requests.get(h.url + "/races", params={"tmp_key": "x", "tmp_secret": "y"}, timeout=5)
    a = login(h)
    requests.post(h.root + "/_control/expire_credentials", timeout=5)
    expired = requests.get(h.url + "/races", params=a, timeout=5)
    wrong_login = requests.post(h.url + "/login", data={"email": DEFAULT_EMAIL, "password": "nope"}, timeout=5)
    for r, msg in [(missing, "Missing tmp_key or tmp_secret"), (bad, "Invalid tmp_key or tmp_secret"),
                   (expired, "Expired credentials. Please log in again."), (wrong_login, "Invalid email or password")]:
        assert r.status_code == 401 and r.json() == {"error": msg}
    unknown_race = requests.get(h.url + "/race/999/teams", params=login(h), timeout=5)
    assert unknown_race.status_code == 404 and unknown_race.json() == {"error": "Race not found"}


def test_strict_races_list_no_events_and_timestamps_are_strictly_after(strict_server):
    h = strict_server
    a = login(h)
    races = get(h, "/races", a)["races"]
    assert len(races) == 2 and all(r["race"]["events"] == [] for r in races)
    assert all(r["race"]["race_event_days"] for r in races)
    p = next(p for p in rows(full(h, a)) if not p["team_id"])
    t = freeze(h)
    post(h, f"/race/{RACE}/participants", a, {"participants": [named(p, middle_name="Later")]})
    assert p["registration_id"] in by_id(get(h, f"/race/{RACE}/participants", a, modified_after_timestamp=t - 1))
    assert rows(get(h, f"/race/{RACE}/participants", a, modified_after_timestamp=t)) == []


# ------------------------------------------------------------------------------------ safe to leave running
def test_control_endpoints_only_with_test_controls():
    h = start_background(participants=20, seed=2)
    try:
        for method, what in [("GET", "options"), ("POST", "faults"), ("POST", "clock"), ("GET", "requests"),
                             ("POST", "expire_credentials")]:
            r = requests.request(method, f"{h.root}/_control/{what}", json={}, timeout=5)
            assert r.status_code == 404, what
        assert "races" in get(h, "/races", login(h))
    finally:
        h.stop()


def raw_exchange(h, request: bytes) -> bytes:
    import socket

    host, port = h.root.rsplit("/", 1)[-1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):   # the server closes the connection after answering
            chunks.append(chunk)
    return b"".join(chunks)


def test_body_over_10_mb_is_413_unread(srv, auth):
    answer = raw_exchange(srv, (f"POST /rest/race/{RACE}/participants HTTP/1.1\r\nHost: x\r\n"
                                "Content-Type: application/x-www-form-urlencoded\r\n"
                                f"Content-Length: {10 * 1024 * 1024 + 1}\r\n\r\n").encode() + b"request=")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413") and b"Connection: close" in head
    assert json.loads(body)["error"]["error_msg"] == "Request body of 10485761 bytes is over the 10 MB limit"
    assert "races" in get(srv, "/races", auth)   # still serving


def test_unknown_paths_are_404_before_any_credential_check(srv, strict_server):
    for h in (srv, strict_server):
        for method, path in [("GET", "/rest/nope"), ("POST", "/rest/races"), ("GET", "/rest/login"),
                             ("GET", f"/rest/race/{RACE}/nope"), ("GET", "/"), ("GET", "/rest")]:
            r = requests.request(method, h.root + path, timeout=5)
            assert r.status_code == 404, (h.behave, method, path)
        known = requests.get(h.url + "/races", timeout=5)   # a known path without a key: an auth error
        assert known.status_code == (401 if h.behave == "strict" else 200) and "Missing tmp_key" in known.text
    assert requests.get(srv.url + "/nope").json() == {
        "error": {"error_code": 404, "error_msg": "Unknown endpoint GET /rest/nope"}}
    assert requests.get(strict_server.url + "/nope").json() == {"error": "Unknown endpoint GET /rest/nope"}


def test_network_reachable_host_needs_a_password():
    from converters.rehearsal import DEFAULT_PASSWORD as DEFAULT, is_loopback, serve_password

    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
        assert serve_password(host, None) == (DEFAULT, False)
    for host in ("0.0.0.0", "", "::", "192.168.1.20", "10.0.0.1", "myhost.local", "example.com"):
        assert not is_loopback(host), host
        password, generated = serve_password(host, None)
        assert generated and password != DEFAULT and len(password) >= 16
        assert serve_password(host, "s3cret-pass") == ("s3cret-pass", False)
    assert serve_password("0.0.0.0", None)[0] != serve_password("0.0.0.0", None)[0]
    # the well-known default password is refused before anything binds to a network-reachable address
    with pytest.raises(ValueError, match="reachable from the network"):
        start_background(host="0.0.0.0", participants=5)


def test_serve_command_strict_with_test_controls(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "converters", "serve", "--port", "0", "--participants", "30",
                             "--behave", "strict", "--test-controls", "--quirk", "403-key",
                             "--quirk", "race-events"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        banner = proc.stdout.readline()
        assert "RaceEntry-compatible server on http://127.0.0.1:" in banner
        url = banner.split(" on ", 1)[1].split()[0]
        assert "behaving strictly" in proc.stdout.readline()
        assert proc.stdout.readline() == "Quirks: 403-key, race-events (serve --help says what each does).\n"
        assert "Log in as timer@example.com (password " in proc.stdout.readline()
        assert proc.stdout.readline().strip() == f"timersync login --api-url {url}"  # a line to copy whole
        options = requests.get(url.rsplit("/rest", 1)[0] + "/_control/options", timeout=5).json()
        assert options["quirks"] == ["403-key", "race-events"] and options["race_events"]
        assert requests.get(url + "/races", timeout=5).status_code == 403   # (strict alone: 401)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "warning: test controls are on" in err


def test_serve_help_lists_every_quirk_within_80_columns():
    from click.testing import CliRunner

    from converters.cli import main
    from converters.rehearsal.defaults import QUIRKS

    r = CliRunner().invoke(main, ["serve", "--help"], terminal_width=80)
    assert r.exit_code == 0
    assert all(f"  {name}  " in r.output for name in QUIRKS)
    assert max(map(len, r.output.splitlines())) <= 80
    bad = CliRunner().invoke(main, ["serve", "--quirk", "lazy"])
    assert bad.exit_code == 2 and "'lazy' is not one of" in bad.output


def test_quirks_through_the_test_controls(srv, auth):
    r = requests.post(srv.root + "/_control/options", json={"quirks": ["lazy"]}, timeout=5)
    assert r.status_code == 400
    assert r.json()["error"].startswith("bad control request: unknown quirk 'lazy'; the quirks: ")
    everything = rows(full(srv, auth))
    r = requests.post(srv.root + "/_control/options", json={"quirks": ["page-cap", "403-key"]}, timeout=5)
    assert {"page-cap", "403-key"} <= set(r.json()["quirks"]) and r.json()["page_cap"] == 100
    assert len(rows(full(srv, auth))) == 100 < len(everything)   # pages of 100, unsaid
    assert requests.get(srv.url + "/races", params={"tmp_key": "x", "tmp_secret": "y"}, timeout=5).status_code == 403
    requests.post(srv.root + "/_control/options", json={"page_cap": 0, "key_403": False,
                                                        "quirks": ["rows-in-event", "inclusive-since"]}, timeout=5)
    groups = full(srv, auth)
    assert all(g["participants"] == [] for g in groups)
    assert sum(len(g["event"]["participants"]) for g in groups) == len(everything)
    last = max(p["last_modified"] for p in everything)   # "on or after": the newest change is in
    since_last = get(srv, f"/race/{RACE}/participants", auth, modified_after_timestamp=last)
    assert any(p["last_modified"] == last for g in since_last for p in g["event"]["participants"])


def test_left_running_it_keeps_no_request_log_and_few_old_keys():
    h = start_background(participants=5, seed=2)
    try:
        first = login(h)
        for _ in range(120):
            last = login(h)
        srv = h._server
        assert srv.requests_log == [] and len(srv.creds) == 100
        assert "races" in get(h, "/races", last)
        assert get(h, "/races", first)["error"]["error_code"] == 103   # forgotten: unknown, not expired
    finally:
        h.stop()
