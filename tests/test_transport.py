"""Transport and envelopes (issue 17, part 4), over real HTTP against the bundled server's faults: a
redirected login, a BOM or a PHP notice before the JSON, gzip, 403 about the key, HTML error pages."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from converters.client import transport as transport_mod
from converters.compare import bodies
from converters import state
from converters.cli import main
from converters.client import RaceEntryClient
from converters.errors import AnsweredError, ApiError, AuthError

from .conftest import control, unwrapped


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(transport_mod, "_WARNED", set())


def fault(server, kind, method=None, path=None, count=1, status=None):
    control(server, "faults", {"faults": [{"kind": kind, "method": method, "path": path, "count": count,
                                           "status": status}]})


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirected_login_is_repeated_with_its_body_at_the_new_address(server, status):
    fault(server, "redirect_login", "POST", "/login", status=status)
    r = run("login", "--api-url", server.url, "--email", server.email, "--password", server.password)
    assert r.exit_code == 0, r.output
    moved = server.url.replace("/rest", "/moved/rest")
    assert f"Logged in to {moved} as {server.email}" in r.output
    warning = [line for line in unwrapped(r.output).splitlines() if line.startswith("warning:")]
    assert warning == [f"warning: RaceEntry moved from {server.url} to {moved} (HTTP {status}): continued there; "
                       f"use {moved} from now on (timersync login --api-url {moved})"]
    assert state.default_server() == moved
    assert state.load_credentials(moved) is not None
    r = run("races")  # the next command uses the new address
    assert r.exit_code == 0 and "Wasatch" in r.output, r.output
    posts = [q for q in control(server, "requests", method="GET")["requests"] if q["method"] == "POST"]
    assert [q["status"] for q in posts] == [status, 200]


def test_redirected_write_is_repeated_with_its_body(server, client, capsys):
    target = client.participants_answer(server.race_id, 0).participants[0]
    fault(server, "redirect_login", "POST", "/participants$", status=308)
    body = bodies.participants_request([bodies.participant_payload(target.copy(first_name="Moved"), ["first_name"])])
    client.post_participants(server.race_id, body)
    assert client.base_url.endswith("/moved/rest")
    again = {p.registration_id: p for p in client.participants_answer(server.race_id, 0).participants}
    assert again[target.registration_id].first_name == "Moved"
    assert "use " + client.base_url + " from now on" in capsys.readouterr().err


def test_redirect_to_another_host_is_not_followed(server):
    """The password never goes to another host; the message says which address to use if it is right."""
    c = RaceEntryClient(server.url)
    resp = requests.Response()
    resp.status_code, resp.url = 301, f"{server.url}/login"
    resp.headers["Location"] = "https://evil.example.com/rest/login"
    with pytest.raises(ApiError, match=r"sends the request on to https://evil.example.com/rest .*not followed.*"
                                       r"use --api-url https://evil.example.com/rest"):
        c._follow_move(resp, "login", "login")
    resp.headers["Location"] = f"{server.url.replace('/rest', '')}/somewhere/else"
    with pytest.raises(ApiError, match="not to its API elsewhere"):
        c._follow_move(resp, "login", "login")


@pytest.mark.parametrize("kind", ["bom_prefix", "php_notice"])
def test_text_before_the_json_is_skipped_with_one_warning(server, client, capsys, kind):
    fault(server, kind, "GET", "/participants", count=5)
    fault(server, kind, "GET", "/races", count=5)
    everyone = client.participants_answer(server.race_id, 0).participants  # typed decoding: bytes
    assert len(everyone) > 40
    assert client.races()["races"]
    assert client.participants_answer(server.race_id, 0).participants == everyone
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err  # once per run
    if kind == "bom_prefix":
        assert "starts with a byte-order mark before its JSON: skipped" in warnings[0]
    else:
        assert ("starts with text before its JSON ('Notice: Undefined index: page in /var/www/rest/index.php on "
                "line 42'): skipped") in warnings[0]


def test_login_answer_with_a_php_notice(server, capsys):
    fault(server, "php_notice", "POST", "/login")
    RaceEntryClient(server.url).login(server.email, server.password)
    assert "before its JSON" in capsys.readouterr().err


def test_answers_are_gzipped_when_asked_and_read(server, client):
    seen = []
    client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.headers.get("Content-Encoding")))
    assert client.session.headers["Accept-Encoding"] == "gzip, deflate"
    assert len(client.participants_answer(server.race_id, 0).participants) > 40
    assert "gzip" in seen
    raw = requests.get(f"{server.url}/races", headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in raw.headers  # only when the client asks


def test_403_about_the_key_logs_in_again_or_says_to(server, monkeypatch):
    c = RaceEntryClient(server.url)
    c.login(server.email, server.password)
    fault(server, "403_key", "GET", "/races")
    with pytest.raises(AuthError, match=r"login has expired .*run `timersync login` again"):
        RaceEntryClient(server.url).races()  # no password at hand
    monkeypatch.setenv("RACEENTRY_EMAIL", server.email)
    monkeypatch.setenv("RACEENTRY_PASSWORD", server.password)
    c = RaceEntryClient(server.url)
    fault(server, "403_key", "GET", "/races")
    assert c.races()["races"]  # logged in again once, then answered
    logins = [q for q in control(server, "requests", method="GET")["requests"] if q["path"].endswith("/login")]
    assert len(logins) == 3  # the first; with the password (the refused pair was forgotten); after the 403
    # a POST answered so is never re-sent by itself (like a 102)
    target = c.participants_answer(server.race_id, 0).participants[0]
    fault(server, "403_key", "POST", "/participants")
    body = bodies.participants_request([bodies.participant_payload(target.copy(first_name="Once"), ["first_name"])])
    with pytest.raises(AnsweredError, match="may or may not have been applied"):
        c.post_participants(server.race_id, body)


def test_a_403_about_something_else_is_an_error(server, client):
    from converters.client.transport import _key_refused

    assert _key_refused("Forbidden: invalid or expired tmp_key", 403, 403)
    assert not _key_refused("You do not have access to this race", 403, 403)


@pytest.mark.parametrize("status,expected", [
    (500, "RaceEntry answered HTTP 500 'Internal Server Error' (an HTML page): RaceEntry (or a server in front "
          "of it) is failing; try again later"),
    (503, "RaceEntry is busy or unavailable (HTTP 503 'Service Unavailable', an HTML page) after 5 attempts; "
          "try again later"),
    (404, "RaceEntry answered HTTP 404 'Not Found' (an HTML page): is the API URL right? It ends in /rest"),
])
def test_html_error_pages_are_reported_by_status_and_title(server, client, status, expected):
    fault(server, "html_error", "GET", "/teams", count=10, status=status)
    with pytest.raises(ApiError) as exc:
        client.teams(server.race_id)
    message = str(exc.value)
    assert expected in message and "\n" not in message
    assert ("API URL" in message) == (status == 404)


def test_html_error_page_in_a_command_is_one_line(server, client, tmp_path):
    fault(server, "html_error", "GET", "/races", count=10, status=502)
    r = run("races", "--api-url", server.url)
    assert r.exit_code != 0
    assert r.output.strip() == ("Error: races: RaceEntry is busy or unavailable (HTTP 502 'Bad Gateway', an HTML "
                                "page) after 5 attempts; try again later"), r.output
