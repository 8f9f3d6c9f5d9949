"""The RaceEntry client against the bundled server over real HTTP, including injected faults."""

from __future__ import annotations

import json
import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from converters.model import answers
from converters.compare import bodies
from converters import model, state
from converters.cli import main
from converters.client import RaceEntryClient
from converters.client.transport import error_in
from converters.errors import ApiError, AuthError, ConnectionFailed, ResponseLost, SchemaError

from .conftest import control


def requests_to(server, fragment):
    log = control(server, "requests", method="GET")
    entries = log["requests"] if isinstance(log, dict) else log
    return [r for r in entries if fragment in r["path"]]


def test_login_caches_credentials_privately_without_password(server, state_home):
    c = RaceEntryClient(server.url)
    c.login(server.email, server.password)
    path = state_home / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert server.password not in text
    # A new client reuses the cached pair without logging in again.
    control(server, "requests", method="DELETE")
    RaceEntryClient(server.url).races()
    assert not requests_to(server, "/login")


def test_wrong_password_is_one_attempt_and_clear(server):
    c = RaceEntryClient(server.url)
    control(server, "requests", method="DELETE")
    with pytest.raises(AuthError, match="login rejected for timer@example.com.*not retried"):
        c.login(server.email, "wrong")
    assert len(requests_to(server, "/login")) == 1


def test_not_logged_in_says_what_to_do(server):
    with pytest.raises(AuthError, match="run `timersync login`"):
        RaceEntryClient(server.url).races()


def test_expired_credentials_relogin_once(server, monkeypatch):
    c = RaceEntryClient(server.url)
    c.login(server.email, server.password)
    control(server, "expire_credentials")
    # Without a password at hand: a clear message, and the stale pair is dropped.
    with pytest.raises(AuthError, match="expired"):
        RaceEntryClient(server.url).races()
    assert state.load_credentials(server.url) is None
    # With the password in the environment: one re-login, then the call succeeds.
    c.login(server.email, server.password)
    control(server, "expire_credentials")
    monkeypatch.setenv("RACEENTRY_EMAIL", server.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", server.password)
    assert RaceEntryClient(server.url).races()["races"]


def test_post_not_resent_after_102(server, monkeypatch):
    """An expired key answered to a POST: the client logs in again but never re-sends by itself (the key
    may have been checked after the batch was applied); the caller reads back first."""
    from converters.errors import AnsweredError

    monkeypatch.setenv("RACEENTRY_EMAIL", server.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", server.password)
    c = RaceEntryClient(server.url)
    c.login(server.email, server.password)
    target = answers.parse_participants(c.participants(server.race_id, 0))[0]
    control(server, "expire_credentials")
    control(server, "requests", method="DELETE")
    body = bodies.participants_request([bodies.participant_payload(target.copy(first_name="Once"), ["first_name"])])
    with pytest.raises(AnsweredError, match="may or may not have been applied"):
        c.post_participants(server.race_id, body)
    posts = [r for r in control(server, "requests", method="GET")["requests"] if r["method"] == "POST"
             and r["path"].endswith("/participants")]
    assert len(posts) == 1  # sent once, not repeated after the re-login
    assert c.races()["races"]  # the new key works


def test_races_with_date_filter(server, client):
    control(server, "options", {"quirks": ["race-events"]})   # (documented: "events": [], as the document)
    all_races = client.races()["races"]
    assert len(all_races) >= 2
    one = all_races[0]["race"]
    month = one["next_date"][6:] + "-" + one["next_date"][:2]
    filtered = client.races(f"{month}-01", f"{month}-28")["races"]
    assert one["race_id"] in [r["race"]["race_id"] for r in filtered]
    assert len(filtered) < len(all_races)
    assert client.race(one["race_id"])["events"]


def test_unknown_race(client):
    with pytest.raises(ApiError, match="RaceEntry says: .*[Rr]ace"):
        client.participants(999999, 0)
    with pytest.raises(ApiError, match="race 999999 is not a race this account can see on "):
        client.race(999999)


def test_incremental_and_removed(server, client):
    everyone = answers.parse_participants(client.participants(server.race_id, 0))
    assert len(everyone) > 40
    control(server, "clock", {"now": 1800000000})  # the key expires: a GET logs in again by itself
    client.race(server.race_id)  # (a POST would not re-send after a 102: see test_post_not_resent_after_102)
    target = everyone[0]
    client.post_participants(server.race_id, bodies.participants_request(
        [bodies.participant_payload(target.copy(first_name="Changed"), ["first_name"])]))
    # the change lands at 1800000000: "modified after" the second before it
    changed = answers.parse_participants(client.participants(server.race_id, 1800000000 - 1))
    assert [p.registration_id for p in changed] == [target.registration_id]
    assert changed[0].first_name == "Changed"
    client.delete_participants(server.race_id, bodies.delete_request([target.registration_id]))
    removed = client.participants(server.race_id, 1800000000 - 1, removed=True)
    assert [p.registration_id for p in answers.parse_participants(removed)] == [target.registration_id]
    assert any("participants" not in g for g in removed)  # events with nothing removed carry no key


def test_paging_is_merged_and_deduplicated(server, client, monkeypatch):
    from converters.client import paging as paging_module

    full = answers.parse_participants(client.participants(server.race_id, 0))
    small = RaceEntryClient(server.url, page_size=7)
    control(server, "requests", method="DELETE")
    decoded = []
    monkeypatch.setattr(paging_module, "as_answer", lambda data, *a: decoded.append(1) or answers.as_answer(data, *a))
    # the document shows no paging: page 1 holds more rows than asked and page 2 repeats it, so the
    # server ignores paging: one answer, read twice (not a third time), decoded once (a repeat, byte
    # for byte, is not decoded again)
    assert len(small.participants_answer(server.race_id, 0).participants) == len(full)
    assert len(requests_to(server, "/participants")) == 2 and len(decoded) == 1
    # a race smaller than a page could be a capped page: page 2 and after_registration_id are tried
    control(server, "requests", method="DELETE")
    assert len(RaceEntryClient(server.url).participants_answer(server.race_id, 0).participants) == len(full)
    assert len(requests_to(server, "/participants")) == 3
    monkeypatch.setattr(paging_module, "as_answer", answers.as_answer)
    control(server, "options", {"quirks": ["paging"]})   # RunSignup's paging
    small = RaceEntryClient(server.url, page_size=7)
    control(server, "requests", method="DELETE")
    paged = answers.parse_participants(small.participants(server.race_id, 0))
    assert sorted(p.registration_id for p in paged) == sorted(p.registration_id for p in full)
    # every page, then an empty one: a page with fewer rows than asked is not taken as the end
    assert len(requests_to(server, "/participants")) == -(-len(full) // 7) + 1


@pytest.mark.parametrize("kind", ["429", "503", "drop_before", "500_retry"])
def test_get_retries_transient_faults(server, client, kind):
    if kind == "500_retry":
        control(server, "faults", {"faults": [{"method": "GET", "path": "/races", "kind": "503", "count": 2}]})
    else:
        control(server, "faults", {"faults": [{"method": "GET", "path": "/races", "kind": kind, "count": 1,
                                               "retry_after": 1}]})
    delays = []
    client.sleep = delays.append
    assert client.races()["races"]
    if kind == "429":
        assert delays == [1.0]  # Retry-After honoured
    assert delays


def test_get_gives_up_after_capped_attempts(server, client):
    control(server, "faults", {"faults": [{"method": "GET", "path": "/races", "kind": "503", "count": 10}]})
    delays = []
    client.sleep = delays.append
    with pytest.raises(ApiError, match=r"busy or unavailable \(HTTP 503\) after 5 attempts"):
        client.races()
    assert len(delays) == 4 and max(delays) <= client.max_backoff


def test_slow_answer_times_out_and_retries(server, client):
    control(server, "faults", {"faults": [{"method": "GET", "path": "/races", "kind": "slow", "delay": 2, "count": 1}]})
    client.timeout = 0.5
    assert client.races()["races"]


def test_error_with_http_200_and_non_json(server, client):
    control(server, "faults", {"faults": [{"method": "GET", "path": "/teams", "kind": "error200", "count": 1}]})
    with pytest.raises(ApiError, match="RaceEntry says"):
        client.teams(server.race_id)
    control(server, "faults", {"faults": [{"method": "GET", "path": "/teams", "kind": "non_json", "count": 1}]})
    # a maintenance page is an error page, not a wrong URL
    with pytest.raises(ApiError, match="an error page 'Maintenance' instead of JSON .*try again later") as exc:
        client.teams(server.race_id)
    assert "API URL" not in str(exc.value)


def test_message_style_errors(server, client):
    control(server, "options", {"error_style": "message"})
    with pytest.raises(ApiError, match="RaceEntry says"):
        client.participants(999999, 0)
    assert error_in({"message": "Invalid race"}) == ("Invalid race", None)
    assert error_in({"error": {"error_code": 102, "error_msg": "Expired"}}) == ("Expired", 102)
    assert error_in({"participants": []}) is None


def test_post_lost_answer_is_never_resent(server, client):
    person = model.Participant(first_name="Late", last_name="Runner", event_id=16)
    body = bodies.participants_request([bodies.participant_payload(person)])
    for kind in ("drop_after", "500_after"):
        control(server, "faults", {"faults": [{"method": "POST", "path": "/participants", "kind": kind, "count": 1}]})
        control(server, "requests", method="DELETE")
        with pytest.raises(ResponseLost, match="may or may not have been applied"):
            client.post_participants(server.race_id, body)
        assert len([r for r in requests_to(server, "/participants") if r["method"] == "POST"]) == 1
    landed = [p for p in answers.parse_participants(client.participants(server.race_id, 0))
              if p.first_name == "Late" and p.last_name == "Runner"]
    assert len(landed) == 2  # each lost answer had committed exactly once; nothing was re-sent


def test_post_429_is_safe_to_repeat(server, client):
    control(server, "faults", {"faults": [{"method": "POST", "path": "/teams", "kind": "429", "count": 1,
                                           "retry_after": 1}]})
    body = bodies.teams_request([model.Team(team_type_id="68", team_name="Track Pack")])
    out = client.post_teams(server.race_id, body)
    assert bodies.result_ids(out, "race_teams", "team_id")[0]
    names = [t["team_name"] for t in client.teams(server.race_id)]
    assert names.count("Track Pack") == 1


def test_invalid_request_is_refused_before_sending(server, client):
    control(server, "requests", method="DELETE")
    with pytest.raises(SchemaError, match=r"\$\.participants\[0\]\.user\.first_name"):
        client.post_participants(server.race_id, {"participants": [
            {"registration_id": "", "event_id": 16, "user": {"first_name": "", "last_name": "X"}}]})
    assert not requests_to(server, "/participants")


def test_switch_and_per_row_errors(server, client):
    people = answers.parse_participants(client.participants(server.race_id, 0))
    mover = next(p for p in people if p.event_id != 68 and not p.team_id)  # a team's type limits its events
    out = client.switch_events(server.race_id, bodies.switch_request([(mover.registration_id, 68)]))
    new_id = bodies.result_ids(out)[0]
    now = {p.registration_id: p for p in answers.parse_participants(client.participants(server.race_id, 0))}
    assert now[new_id].event_id == 68 and now[new_id].last_name == mover.last_name
    rows = [bodies.participant_payload(model.Participant(registration_id="99999999", first_name="A", last_name="B",
                                                        event_id=16), ["first_name"]),
            bodies.participant_payload(model.Participant(first_name="Ok", last_name="Row", event_id=16))]
    results = bodies.result_ids(client.post_participants(server.race_id, bodies.participants_request(rows)))
    assert isinstance(results[0], dict) and "error" in results[0]
    assert isinstance(results[1], str)


class _BadShape(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = json.dumps({"races": [{"race": {"race_id": 1, "name": 5}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_schema_violating_response(state_home):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _BadShape)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/rest"
        state.save_credentials(url, "k" * 8, "s" * 8, "x@example.com")
        with pytest.raises(SchemaError, match=r"races: \$\.races\[0\]\.race\.name"):
            RaceEntryClient(url).races()
    finally:
        srv.shutdown()


def test_server_down():
    c = RaceEntryClient("http://127.0.0.1:9/rest", sleep=lambda s: None)
    with pytest.raises(ConnectionFailed, match="cannot reach RaceEntry"):
        c.login("a@example.com", "pw")


# ------------------------------------------------------------------------------------------- CLI

def test_cli_login_races_participants_teams(server):
    runner = CliRunner()
    api = ["--api-url", server.url]
    r = runner.invoke(main, ["login", *api, "--email", server.email], input=server.password + "\n")
    assert r.exit_code == 0, r.output
    assert "Logged in" in r.output and server.password not in r.output
    r = runner.invoke(main, ["races", *api])
    assert r.exit_code == 0 and "Wasatch Harvest Run" in r.output
    r = runner.invoke(main, ["participants", str(server.race_id), *api])
    assert r.exit_code == 0 and "participants" in r.output.splitlines()[-1]
    r = runner.invoke(main, ["participants", str(server.race_id), *api, "--json"])
    assert isinstance(json.loads(r.output), list)
    r = runner.invoke(main, ["participants", str(server.race_id), *api, "--removed"])
    assert r.exit_code == 0 and "removed participants" in r.output
    r = runner.invoke(main, ["teams", str(server.race_id), *api, "--types"])
    assert r.exit_code == 0 and "Team Marathon" in r.output
    r = runner.invoke(main, ["teams", str(server.race_id), *api, "--json"])
    assert json.loads(r.output)[0]["team_id"]


def test_cli_errors_are_one_line_without_secrets(server, client):
    runner = CliRunner()
    r = runner.invoke(main, ["login", "--api-url", server.url, "--email", server.email, "--password", "Wr0ng-pass!"])
    assert r.exit_code == 1
    assert r.output.count("\n") == 1 and r.output.startswith("Error: login rejected")
    assert "Wr0ng-pass!" not in r.output
    r = runner.invoke(main, ["participants", "999999", "--api-url", server.url])
    assert r.exit_code == 1 and r.output.startswith("Error: ") and "Traceback" not in r.output
    r = runner.invoke(main, ["races", "--api-url", "http://127.0.0.1:9/rest"])
    assert r.exit_code == 1 and "run `timersync login`" in r.output
    r = runner.invoke(main, ["--debug", "participants", "999999", "--api-url", server.url])
    assert r.exit_code != 0 and r.exception is not None  # --debug lets the traceback through
