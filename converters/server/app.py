"""A RaceEntry-compatible rehearsal server (stdlib http.server + sqlite3 + orjson).

Real RaceEntry is not reachable from tests or demos, so this server answers the documented Timer API
(base path ``/rest``) with the documented JSON shapes and quirks, backed by a SQLite file seeded by
``seed.generate_race``.

Choices where RaceEntry's Timer API document is silent:

* Login takes form fields ``email``/``password`` (a JSON body is accepted too).  One account; a new login
  invalidates the previous pair; pairs expire 24 h after issue by the *server* clock.
  Error codes: 100 missing tmp_key/tmp_secret, 101 bad email/password, 102 expired or invalidated pair,
  103 unknown pair, 104 race not found, 400 bad request, 404 unknown endpoint, 500 injected failure.
* Errors use the RunSignup envelope ``{"error": {"error_code": N, "error_msg": "..."}}`` with HTTP 200 by
  default (the hard case).  ``POST /_control/options {"error_style": "message"}`` switches to
  ``{"message": "..."}`` (older RaceEntry API), ``error_status`` sets the HTTP status.
* POST bodies: form field ``request`` holding JSON text (what the document's "Key: request, Type: JSON
  string" suggests); a raw JSON body (the request object itself, or ``{"request": ...}``) is accepted too.
* ``modified_after_timestamp`` is inclusive (``last_modified >= T``); absent means "now".
* Paging: ``page`` (1-based) and ``results_per_page`` (<= 2500, else error 400) page through rows
  ordered by registration_id; every event still gets its group.  No paging parameters: everything.
* POST participants: unsent fields stay, fields sent as null are cleared; ``event_id`` is required on every
  row and on an update must equal the registration's current event (moving events is
  switch_participant_events' job).  ``last_modified`` is bumped only when a row really changes something.
  Missing email on create: the logged-in account's email (as documented).
* Per-row failures never fail the whole request: that row's response entry is
  ``{"registration_id": null, "error": {"error_code": 400, "error_msg": "row N: ..."}}`` (teams:
  ``{"team_id": null, "error": {...}}``); the other rows apply.
* switch_participant_events gives a NEW registration_id by default (old id goes to the removed feed);
  ``/_control/options {"switch_new_id": false}`` keeps the id.  Bib/chip/team follow the participant.
* delete_participants is a soft delete (shows in removed_participants, last_modified = deletion time);
  more than 250 registrations in one request is a whole-request error.
* Renaming a team (POST teams) rewrites its members' documents and bumps their last_modified.

Control endpoints (no auth) live under ``/_control`` beside ``/rest``: clock, faults, options, requests,
expire_credentials; see ``Handler._control``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import orjson

from . import seed as _seed

DEFAULT_EMAIL = "timer@example.com"
DEFAULT_PASSWORD = "rehearse-2026"
CREDENTIAL_TTL = 24 * 3600
MAX_RESULTS_PER_PAGE = 2500
MAX_DELETE = 250

ERR_MISSING_AUTH = 100
ERR_LOGIN = 101
ERR_EXPIRED = 102
ERR_BAD_AUTH = 103
ERR_RACE = 104
ERR_BAD_REQUEST = 400
ERR_NOT_FOUND = 404
ERR_INJECTED = 500

_SECRET_RE = re.compile(r"((?:^|[?&;])(?:tmp_key|tmp_secret|password)=)[^&;#]*", re.I)


def redact(text: str) -> str:
    """Replace tmp_key / tmp_secret / password values in a URL or query string with ***."""
    return _SECRET_RE.sub(r"\1***", text or "")


class ApiError(Exception):
    def __init__(self, code: int, msg: str, http_status: int | None = None):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status


class RowError(Exception):
    pass


# --------------------------------------------------------------------------------------------- state
class Clock:
    """Server time: real time, or frozen / shifted through /_control/clock."""

    def __init__(self) -> None:
        self.frozen: float | None = None
        self.offset = 0.0
        self.lock = threading.Lock()

    def now(self) -> int:
        with self.lock:
            return int(self.frozen if self.frozen is not None else time.time() + self.offset)

    def set(self, now: float | None) -> None:
        with self.lock:
            self.frozen = None if now is None else float(now)
            if now is None:
                self.offset = 0.0

    def advance(self, seconds: float) -> None:
        with self.lock:
            if self.frozen is not None:
                self.frozen += float(seconds)
            else:
                self.offset += float(seconds)


@dataclass
class Options:
    switch_new_id: bool = True
    error_style: str = "runsignup"   # or "message"
    error_status: int = 200
    verbose: bool = False


@dataclass
class Fault:
    method: str | None
    path: str | None
    kind: str
    count: int = 1
    retry_after: float | None = None
    delay: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "kind": self.kind, "count": self.count,
                "retry_after": self.retry_after, "delay": self.delay}


FAULT_KINDS = {"500", "429", "503", "drop_before", "drop_after", "500_after", "slow", "non_json", "error200",
               "102_after", "short_after"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS races (race_id INTEGER PRIMARY KEY, next_date TEXT, doc BLOB);
CREATE TABLE IF NOT EXISTS events (event_id INTEGER PRIMARY KEY, race_id INTEGER, race_date TEXT);
CREATE TABLE IF NOT EXISTS team_types (team_type_id INTEGER PRIMARY KEY, race_id INTEGER, doc BLOB);
CREATE TABLE IF NOT EXISTS teams (team_id INTEGER PRIMARY KEY, race_id INTEGER, team_type_id INTEGER,
                                  doc BLOB);
CREATE TABLE IF NOT EXISTS participants (
    registration_id INTEGER PRIMARY KEY, race_id INTEGER NOT NULL, event_id INTEGER NOT NULL,
    user_id INTEGER, last_modified INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, doc BLOB NOT NULL);
"""
# created after the bulk seed insert (faster than maintaining them row by row)
INDEXES = """
CREATE INDEX IF NOT EXISTS ix_part_mod ON participants (race_id, deleted, last_modified);
CREATE INDEX IF NOT EXISTS ix_part_event ON participants (race_id, event_id);
"""


class Store:
    """SQLite store. One connection, one lock around every DB access (WAL journal)."""

    def __init__(self, path: str, participants: int, seed: int) -> None:
        self.path = path
        self.lock = threading.RLock()
        # built feed responses, keyed by query; cleared on every write (see Api._commit)
        self.cache: dict[tuple, bytes] = {}
        self.generation = 0   # bumped on every write
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA mmap_size=1073741824")
        self.db.execute("PRAGMA cache_size=-131072")
        with self.lock:
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='seeded'").fetchone()
            if row is None:
                self._seed(participants, seed)
            self.db.executescript(INDEXES)
            self.main_race_id = int(self.meta("main_race_id"))

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _seed(self, participants: int, seed: int) -> None:
        data = _seed.generate_race(participants, seed)
        db = self.db
        db.execute("BEGIN")
        try:
            for race in data["races"]:
                nd = _dt.datetime.strptime(race["next_date"], "%m/%d/%Y").date().isoformat()
                db.execute("INSERT INTO races VALUES (?,?,?)", (race["race_id"], nd, orjson.dumps(race)))
                db.executemany("INSERT INTO events VALUES (?,?,?)",
                               [(e["event_id"], race["race_id"], nd) for e in race["events"]])
            db.executemany("INSERT INTO team_types VALUES (?,?,?)",
                           [(t["team_type"]["team_type_id"], t["race_id"], orjson.dumps(t["team_type"]))
                            for t in data["team_types"]])
            db.executemany("INSERT INTO teams VALUES (?,?,?,?)",
                           [(t["team"]["team_id"], t["race_id"], t["team"]["team_type_id"],
                             orjson.dumps(t["team"])) for t in data["teams"]])
            ev_race = dict(db.execute("SELECT event_id, race_id FROM events").fetchall())
            removed = set(data["removed_registration_ids"])
            dumps = orjson.dumps
            db.executemany(
                "INSERT INTO participants VALUES (?,?,?,?,?,?,?)",
                [(p["registration_id"], ev_race[p["event_id"]], p["event_id"], p["user"]["user_id"],
                  p["last_modified"], 1 if p["registration_id"] in removed else 0, dumps(p))
                 for p in data["participants"]])
            ps = data["participants"]
            db.executemany("INSERT INTO meta VALUES (?,?)", [
                ("main_race_id", str(data["main_race_id"])),
                ("next_registration_id", str(max([p["registration_id"] for p in ps], default=1000) + 1)),
                ("next_user_id", str(max([p["user"]["user_id"] for p in ps], default=5000) + 1)),
                ("next_team_id", str(max([t["team"]["team_id"] for t in data["teams"]], default=0) + 1)),
                ("seed", str(seed)), ("participants", str(participants)), ("seeded", "1")])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def next_id(self, key: str) -> int:
        value = int(self.meta(key))
        self.db.execute("UPDATE meta SET value=? WHERE key=?", (str(value + 1), key))
        return value

    def invalidate(self) -> None:
        with self.lock:
            self.generation += 1
            self.cache.clear()

    def close(self) -> None:
        with self.lock:
            try:
                self.db.close()
            except Exception:
                pass


# ----------------------------------------------------------------------------------------- the server
class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, store: Store, email: str, password: str, verbose: bool = False):
        super().__init__(addr, Handler)
        self.store = store
        self.email = email
        self.password = password
        self.clock = Clock()
        self.options = Options(verbose=verbose)
        self.faults: list[Fault] = []
        self.requests_log: list[dict] = []
        self.state_lock = threading.Lock()
        # credentials: key -> (secret, issued_at, valid)
        self.creds: dict[str, list] = {}

    def handle_error(self, request: Any, client_address: Any) -> None:
        # clients hanging up mid-response (timeouts, dropped-connection tests) are normal here
        if self.options.verbose:
            super().handle_error(request, client_address)

    # faults --------------------------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.state_lock:
            for i, f in enumerate(self.faults):
                if f.matches(method, path):
                    f.count -= 1
                    if f.count <= 0:
                        del self.faults[i]
                    return f
        return None


class _Drop(Exception):
    """Close the connection without answering."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RaceEntryRehearsal/1.0"
    server: Server

    # logging: never the raw request line (it carries tmp_key/tmp_secret)
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.options.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), redact(format % args)))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if self.server.options.verbose:
            sys.stderr.write('%s - "%s %s" %s\n' % (self.address_string(), self.command,
                                                      redact(self.path), code))

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # -------------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
        except Exception:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error_body(self, code: int, msg: str) -> bytes:
        if self.server.options.error_style == "message":
            return orjson.dumps({"message": msg})
        return orjson.dumps({"error": {"error_code": code, "error_msg": msg}})

    def _dispatch(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if path.startswith("/_control"):
            try:
                status, body = self._control(method, path, raw)
            except (ValueError, TypeError, KeyError) as e:
                status, body = 400, orjson.dumps({"error": f"bad control request: {e}"})
            self._send(status, body)
            return

        srv = self.server
        fault = srv.take_fault(method, path)
        entry = {"method": method, "path": path, "query": redact(parsed.query), "time": srv.clock.now(),
                 "fault": fault.kind if fault else None, "status": None}
        with srv.state_lock:
            srv.requests_log.append(entry)

        if fault is not None:
            kind = fault.kind
            if kind in ("500", "503", "429"):
                headers = {}
                if kind == "429" or fault.retry_after is not None:
                    headers["Retry-After"] = int(fault.retry_after if fault.retry_after is not None else 1)
                entry["status"] = int(kind)
                self._send(int(kind), f"{kind} injected failure\n".encode(), "text/plain", headers)
                return
            if kind == "drop_before":
                entry["status"] = "dropped"
                self._drop()
                return
            if kind == "non_json":
                entry["status"] = 200
                self._send(200, b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>"
                                b"<h1>RaceEntry is down for maintenance</h1></body></html>\n",
                           "text/html; charset=utf-8")
                return
            if kind == "error200":
                entry["status"] = 200
                self._send(200, self._error_body(ERR_INJECTED, "Internal error, please try again"))
                return
            if kind == "slow":
                time.sleep(max(0.0, float(fault.delay or 0)))

        try:
            body = self._route(method, path, query, raw)
            status = 200
        except ApiError as e:
            status = e.http_status or srv.options.error_status
            body = self._error_body(e.code, e.msg)
        except Exception as e:  # pragma: no cover - a server bug; answer rather than hang
            status = 500
            body = self._error_body(ERR_INJECTED, f"Internal server error: {type(e).__name__}")
            if srv.options.verbose:
                import traceback
                traceback.print_exc()

        if fault is not None and fault.kind == "drop_after":
            entry["status"] = "dropped"
            self._drop()
            return
        if fault is not None and fault.kind == "102_after" and status == 200:
            # Applied, then answered "expired key": a server that checks the key late.
            entry["status"] = 200
            self._send(200, self._error_body(ERR_EXPIRED, "tmp_key expired"))
            return
        if fault is not None and fault.kind == "short_after" and status == 200:
            # Applied, then answered for only the first half of the rows (an answer cut short).
            data = orjson.loads(body)
            key = next((k for k, v in data.items() if isinstance(v, list)), None)
            if key is not None:
                data[key] = data[key][: len(data[key]) // 2]
            entry["status"] = 200
            self._send(200, orjson.dumps(data))
            return
        if fault is not None and fault.kind == "500_after":
            entry["status"] = 500
            self._send(500, b"500 injected failure (after commit)\n", "text/plain")
            return
        entry["status"] = status
        self._send(status, body)

    # ------------------------------------------------------------------------------------ control
    def _control(self, method: str, path: str, raw: bytes) -> tuple[int, bytes]:
        srv = self.server
        data = orjson.loads(raw) if raw.strip() else {}
        name = path[len("/_control"):].strip("/")
        if name == "clock":
            if method == "POST":
                if "now" in data:
                    srv.clock.set(data["now"])
                if data.get("advance"):
                    srv.clock.advance(data["advance"])
            return 200, orjson.dumps({"now": srv.clock.now(), "frozen": srv.clock.frozen is not None})
        if name == "faults":
            with srv.state_lock:
                if method == "DELETE":
                    srv.faults.clear()
                elif method == "POST":
                    items = data.get("faults", [data] if "kind" in data else [])
                    for f in items:
                        kind = str(f["kind"])
                        if kind not in FAULT_KINDS:
                            raise ValueError(f"unknown fault kind {kind!r}")
                        srv.faults.append(Fault(method=f.get("method"), path=f.get("path"), kind=kind,
                                                count=int(f.get("count", 1) or 1),
                                                retry_after=f.get("retry_after"),
                                                delay=float(f.get("delay", 0) or 0)))
                return 200, orjson.dumps({"faults": [f.as_dict() for f in srv.faults]})
        if name == "options":
            if method == "POST":
                o = srv.options
                if "switch_new_id" in data:
                    o.switch_new_id = bool(data["switch_new_id"])
                if "error_style" in data:
                    if data["error_style"] not in ("runsignup", "message"):
                        raise ValueError("error_style must be 'runsignup' or 'message'")
                    o.error_style = data["error_style"]
                if "error_status" in data:
                    o.error_status = int(data["error_status"])
                if "verbose" in data:
                    o.verbose = bool(data["verbose"])
            o = srv.options
            return 200, orjson.dumps({"switch_new_id": o.switch_new_id, "error_style": o.error_style,
                                      "error_status": o.error_status, "verbose": o.verbose})
        if name == "requests":
            with srv.state_lock:
                if method == "DELETE":
                    srv.requests_log.clear()
                return 200, orjson.dumps({"requests": list(srv.requests_log)})
        if name == "expire_credentials" and method == "POST":
            with srv.state_lock:
                for c in srv.creds.values():
                    c[2] = False
            return 200, orjson.dumps({"expired": True})
        return 404, orjson.dumps({"error": "unknown control endpoint"})

    # -------------------------------------------------------------------------------------- API
    def _route(self, method: str, path: str, query: dict, raw: bytes) -> bytes:
        if not path.startswith("/rest/") and path != "/rest":
            raise ApiError(ERR_NOT_FOUND, "Not found", 404)
        parts = path[len("/rest"):].strip("/").split("/")
        if parts == ["login"] and method == "POST":
            return self._login(query, raw)
        self._check_auth(query)
        api = Api(self.server)
        if parts == ["races"] and method == "GET":
            return api.races(query)
        if len(parts) >= 3 and parts[0] == "race":
            try:
                race_id = int(parts[1])
            except ValueError:
                raise ApiError(ERR_RACE, "Race not found") from None
            api.require_race(race_id)
            rest = parts[2:]
            if rest == ["participants"] and method == "GET":
                return api.participants(race_id, query, deleted=False)
            if rest == ["removed_participants"] and method == "GET":
                return api.participants(race_id, query, deleted=True)
            if rest == ["teams"] and method == "GET":
                return api.teams(race_id)
            if rest == ["teams", "team_types"] and method == "GET":
                return api.team_types(race_id)
            if method == "POST":
                req = parse_request_body(self.headers.get("Content-Type", ""), raw)
                if rest == ["participants"]:
                    return api.post_participants(race_id, req)
                if rest == ["switch_participant_events"]:
                    return api.switch(race_id, req)
                if rest == ["delete_participants"]:
                    return api.delete(race_id, req)
                if rest == ["teams"]:
                    return api.post_teams(race_id, req)
        raise ApiError(ERR_NOT_FOUND, f"Unknown endpoint {method} {path}", 404)

    def _login(self, query: dict, raw: bytes) -> bytes:
        srv = self.server
        fields = dict(query)
        ctype = self.headers.get("Content-Type", "")
        text = raw.decode("utf-8", "replace")
        if "json" in ctype or text.lstrip().startswith("{"):
            try:
                obj = orjson.loads(raw)
                if isinstance(obj, dict):
                    fields.update({k: v for k, v in obj.items() if isinstance(v, str)})
            except orjson.JSONDecodeError:
                pass
        else:
            fields.update({k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()})
        email = (fields.get("email") or "").strip()
        password = fields.get("password") or ""
        if email.lower() != srv.email.lower() or password != srv.password:
            raise ApiError(ERR_LOGIN, "Invalid email or password")
        key, secret = secrets.token_hex(16), secrets.token_hex(20)
        with srv.state_lock:
            for c in srv.creds.values():   # a later login invalidates the earlier pair
                c[2] = False
            srv.creds[key] = [secret, srv.clock.now(), True]
        return orjson.dumps({"tmp_key": key, "tmp_secret": secret, "user": {"user": {
            "user_id": 1, "first_name": "Tina", "last_name": "Timer", "email": srv.email}}})

    def _check_auth(self, query: dict) -> None:
        srv = self.server
        key, secret = query.get("tmp_key"), query.get("tmp_secret")
        if not key or not secret:
            raise ApiError(ERR_MISSING_AUTH, "Missing tmp_key or tmp_secret")
        with srv.state_lock:
            c = srv.creds.get(key)
            if c is None or not secrets.compare_digest(c[0], secret):
                raise ApiError(ERR_BAD_AUTH, "Invalid tmp_key or tmp_secret")
            if not c[2] or srv.clock.now() >= c[1] + CREDENTIAL_TTL:
                raise ApiError(ERR_EXPIRED, "Expired credentials. Please log in again.")


def parse_request_body(ctype: str, raw: bytes) -> Any:
    """The JSON request object from a form field ``request`` (documented) or a raw JSON body."""
    text = raw.decode("utf-8", "replace")
    candidate: Any = None
    if "application/x-www-form-urlencoded" in ctype or (text and not text.lstrip().startswith(("{", "["))):
        form = urllib.parse.parse_qs(text, keep_blank_values=True)
        if "request" not in form:
            raise ApiError(ERR_BAD_REQUEST, "Missing request parameter")
        candidate = form["request"][-1]
    elif "multipart/form-data" in ctype:
        m = re.search(r'name="request"\r\n\r\n(.*?)\r\n--', text, re.S)
        if not m:
            raise ApiError(ERR_BAD_REQUEST, "Missing request parameter")
        candidate = m.group(1)
    else:
        candidate = text
    try:
        obj = orjson.loads(candidate) if isinstance(candidate, str) else candidate
    except orjson.JSONDecodeError:
        raise ApiError(ERR_BAD_REQUEST, "Invalid JSON in request") from None
    if isinstance(obj, dict) and isinstance(obj.get("request"), str):
        try:
            obj = orjson.loads(obj["request"])
        except orjson.JSONDecodeError:
            raise ApiError(ERR_BAD_REQUEST, "Invalid JSON in request") from None
    if not isinstance(obj, dict):
        raise ApiError(ERR_BAD_REQUEST, "Request must be a JSON object")
    return obj


_DOB_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ABSENT = object()


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _as_int(v: Any, what: str) -> int:
    if isinstance(v, bool):
        raise RowError(f"{what} must be an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    raise RowError(f"{what} must be an integer, got {v!r}")


def _str_or_none(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def _row_error(i: int, msg: str, key: str = "registration_id") -> dict:
    return {key: None, "error": {"error_code": ERR_BAD_REQUEST, "error_msg": f"row {i}: {msg}"}}


class Api:
    """The /rest endpoints. Every method takes the store lock for its DB work."""

    def __init__(self, srv: Server):
        self.srv = srv
        self.store = srv.store
        self.db = srv.store.db

    def now(self) -> int:
        return self.srv.clock.now()

    def require_race(self, race_id: int) -> None:
        with self.store.lock:
            if self.db.execute("SELECT 1 FROM races WHERE race_id=?", (race_id,)).fetchone() is None:
                raise ApiError(ERR_RACE, "Race not found")

    def event_ids(self, race_id: int) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT event_id FROM events WHERE race_id=? ORDER BY event_id", (race_id,))]

    def race_date(self, race_id: int) -> _dt.date:
        row = self.db.execute("SELECT next_date FROM races WHERE race_id=?", (race_id,)).fetchone()
        return _dt.date.fromisoformat(row[0])

    # GET races -------------------------------------------------------------------------------------
    def races(self, query: dict) -> bytes:
        def parse(name: str) -> str | None:
            v = query.get(name)
            if not v:
                return None
            try:
                return _dt.date.fromisoformat(v).isoformat()
            except ValueError:
                raise ApiError(ERR_BAD_REQUEST, f"Invalid {name}: expected YYYY-MM-DD") from None
        start, end = parse("start_date"), parse("end_date")
        sql, args = "SELECT doc FROM races WHERE 1=1", []
        if start:
            sql += " AND next_date >= ?"
            args.append(start)
        if end:
            sql += " AND next_date <= ?"
            args.append(end)
        with self.store.lock:
            docs = [r[0] for r in self.db.execute(sql + " ORDER BY race_id", args)]
        return b'{"races":[' + b",".join(b'{"race":' + d + b"}" for d in docs) + b"]}"

    # GET participants / removed_participants ------------------------------------------------------
    def participants(self, race_id: int, query: dict, deleted: bool) -> bytes:
        ts_raw = query.get("modified_after_timestamp")
        if ts_raw is None or ts_raw == "":
            ts = self.now()   # documented: "If a timestamp is not provided, the current time will be used."
        else:
            try:
                ts = int(float(ts_raw))
            except ValueError:
                raise ApiError(ERR_BAD_REQUEST, "modified_after_timestamp must be a Unix timestamp") from None
        args: list = [race_id, 1 if deleted else 0, ts]
        where = "WHERE race_id=? AND deleted=? AND last_modified>=? ORDER BY registration_id"
        page_raw, rpp_raw = query.get("page"), query.get("results_per_page")
        if page_raw or rpp_raw:
            try:
                page = int(page_raw) if page_raw else 1
                rpp = int(rpp_raw) if rpp_raw else MAX_RESULTS_PER_PAGE
            except ValueError:
                raise ApiError(ERR_BAD_REQUEST, "page and results_per_page must be integers") from None
            if page < 1 or rpp < 1 or rpp > MAX_RESULTS_PER_PAGE:
                raise ApiError(ERR_BAD_REQUEST,
                               f"page must be >= 1 and results_per_page between 1 and {MAX_RESULTS_PER_PAGE}")
            where += " LIMIT ? OFFSET ?"
            args += [rpp, (page - 1) * rpp]
        key = (race_id, deleted, *args[2:])
        with self.store.lock:
            cached = self.store.cache.get(key)
            if cached is not None:
                return cached
            generation = self.store.generation
            events = self.event_ids(race_id)
            # Small result (incremental pull): use the last_modified index and sort. Large result (full
            # pull): walk the table in registration_id (rowid) order instead of sorting blobs.
            n = self.db.execute("SELECT count(*) FROM participants INDEXED BY ix_part_mod WHERE race_id=? "
                                "AND deleted=? AND last_modified>=?", args[:3]).fetchone()[0]
            src = "participants NOT INDEXED" if n > 5000 else "participants"
            rows = self.db.execute(f"SELECT event_id, doc FROM {src} {where}", args).fetchall() if n else []
        groups: dict[int, list[bytes]] = {e: [] for e in events}
        for eid, doc in rows:
            groups.setdefault(eid, []).append(doc)
        out = []
        for eid, docs in groups.items():
            head = b'{"event":{"event_id":%d,"participants":[]}' % eid
            if deleted and not docs:
                out.append(head + b"}")   # removed feed: no "participants" key for an empty event (doc)
            else:
                out.append(head + b',"participants":[' + b",".join(docs) + b"]}")
        body = b"[" + b",".join(out) + b"]"
        with self.store.lock:
            if generation == self.store.generation:
                if len(self.store.cache) >= 4:
                    self.store.cache.clear()
                self.store.cache[key] = body
        return body

    # teams ---------------------------------------------------------------------------------------
    def teams(self, race_id: int) -> bytes:
        with self.store.lock:
            docs = [r[0] for r in self.db.execute(
                "SELECT doc FROM teams WHERE race_id=? ORDER BY team_id", (race_id,))]
        return b"[" + b",".join(docs) + b"]"

    def team_types(self, race_id: int) -> bytes:
        with self.store.lock:
            docs = [r[0] for r in self.db.execute(
                "SELECT doc FROM team_types WHERE race_id=? ORDER BY team_type_id", (race_id,))]
        return b'{"race_team_types":[' + b",".join(docs) + b"]}"

    def post_teams(self, race_id: int, req: dict) -> bytes:
        rows = req.get("race_teams")
        if not isinstance(rows, list):
            raise ApiError(ERR_BAD_REQUEST, "Request must contain a race_teams list")
        now = self.now()

        def prepare() -> dict:
            return {r[0]: orjson.loads(r[1]) for r in self.db.execute(
                "SELECT team_type_id, doc FROM team_types WHERE race_id=?", (race_id,))}
        out = self._apply_rows(rows, lambda row, types: self._one_team(race_id, row, types, now), prepare,
                               key="team_id")
        return orjson.dumps({"race_teams": out})

    def _apply_rows(self, rows: list, one: Any, prepare: Any = None, key: str = "registration_id") -> list:
        """Apply each row with ``one(row, ctx)`` in one transaction, answering one entry per row in order.
        A RowError becomes that row's error entry and the other rows still apply (as RaceEntry reports
        per-row errors); any other failure rolls the whole request back."""
        out: list = []
        with self.store.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                ctx = prepare() if prepare else None
                for i, row in enumerate(rows, 1):
                    try:
                        out.append({key: one(row, ctx)})
                    except RowError as e:
                        out.append(_row_error(i, str(e), key))
                self.db.execute("COMMIT")
                self.store.invalidate()
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return out

    def _one_team(self, race_id: int, row: Any, types: dict, now: int) -> int:
        if not isinstance(row, dict):
            raise RowError("team must be an object")
        tid_raw = row.get("team_id")
        if _blank(tid_raw):
            doc = {"team_id": None, "team_type_id": None, "team_name": None, "team_gender": None,
                   "team_bib_num": None, "team_age_restriction_id": None, "last_modified_ts": now}
            if _blank(row.get("team_name")):
                raise RowError("team_name is required")
            if "team_type_id" not in row or _blank(row.get("team_type_id")):
                raise RowError("team_type_id is required")
        else:
            tid = _as_int(tid_raw, "team_id")
            r = self.db.execute("SELECT doc FROM teams WHERE team_id=? AND race_id=?", (tid, race_id)).fetchone()
            if r is None:
                raise RowError(f"unknown team_id {tid}")
            doc = orjson.loads(r[0])
            if "team_name" in row and _blank(row.get("team_name")):
                raise RowError("team_name must not be empty")
        if "team_type_id" in row:
            ttid = _as_int(row["team_type_id"], "team_type_id")
            if ttid not in types:
                raise RowError(f"unknown team_type_id {ttid}")
            doc["team_type_id"] = ttid
        if "team_name" in row:
            doc["team_name"] = str(row["team_name"]).strip()
        if "team_gender" in row:
            doc["team_gender"] = _str_or_none(row["team_gender"]) or None
        if "team_bib_num" in row:
            doc["team_bib_num"] = None if _blank(row["team_bib_num"]) else _as_int(row["team_bib_num"],
                                                                                    "team_bib_num")
        doc["last_modified_ts"] = now
        if doc["team_id"] is None:
            doc["team_id"] = self.store.next_id("next_team_id")
            self.db.execute("INSERT INTO teams VALUES (?,?,?,?)",
                            (doc["team_id"], race_id, doc["team_type_id"], orjson.dumps(doc)))
        else:
            self.db.execute("UPDATE teams SET team_type_id=?, doc=? WHERE team_id=?",
                            (doc["team_type_id"], orjson.dumps(doc), doc["team_id"]))
            # members carry copies of the team fields: refresh them (and bump last_modified)
            members = self.db.execute("SELECT registration_id, doc FROM participants WHERE race_id=? AND "
                                      "deleted=0 AND instr(doc, ?) > 0",
                                      (race_id, b'"team_id":%d,' % doc["team_id"])).fetchall()
            for reg, pdoc in members:
                p = orjson.loads(pdoc)
                if p.get("team_id") == doc["team_id"]:
                    self._apply_team(p, doc, types)
                    self.db.execute("UPDATE participants SET doc=?, last_modified=? WHERE registration_id=?",
                                    (orjson.dumps({**p, "last_modified": now}), now, reg))
        return doc["team_id"]

    @staticmethod
    def _apply_team(p: dict, team: dict | None, types: dict) -> None:
        if team is None:
            for k in ("team_id", "team_name", "team_type_id", "team_type", "team_gender", "team_bib_num"):
                p[k] = None
            return
        p["team_id"] = team["team_id"]
        p["team_name"] = team["team_name"]
        p["team_type_id"] = team["team_type_id"]
        p["team_type"] = types.get(team["team_type_id"], {}).get("team_type")
        p["team_gender"] = team.get("team_gender")
        p["team_bib_num"] = team.get("team_bib_num")

    # POST participants -----------------------------------------------------------------------------
    def post_participants(self, race_id: int, req: dict) -> bytes:
        rows = req.get("participants")
        if not isinstance(rows, list):
            raise ApiError(ERR_BAD_REQUEST, "Request must contain a participants list")
        now = self.now()

        def prepare() -> dict:
            return {
                "events": set(self.event_ids(race_id)),
                "race_date": self.race_date(race_id),
                "teams": {r[0]: orjson.loads(r[1]) for r in self.db.execute(
                    "SELECT team_id, doc FROM teams WHERE race_id=?", (race_id,))},
                "types": {r[0]: orjson.loads(r[1]) for r in self.db.execute(
                    "SELECT team_type_id, doc FROM team_types WHERE race_id=?", (race_id,))},
                "tz": orjson.loads(self.db.execute("SELECT doc FROM races WHERE race_id=?",
                                                   (race_id,)).fetchone()[0]).get("timezone")
                      or "America/Denver",
            }
        # POST participants answers ids as strings, as the document shows.
        out = self._apply_rows(rows, lambda row, ctx: str(self._one_participant(race_id, row, ctx, now)), prepare)
        return orjson.dumps({"participants": out})

    def _one_participant(self, race_id: int, row: Any, ctx: dict, now: int) -> int:
        if not isinstance(row, dict):
            raise RowError("participant must be an object")
        user = row.get("user", {})
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise RowError("user must be an object")
        if "event_id" not in row or _blank(row.get("event_id")):
            raise RowError("event_id is required")
        event_id = _as_int(row["event_id"], "event_id")
        if event_id not in ctx["events"]:
            raise RowError(f"event_id {event_id} is not an event of race {race_id}")

        reg_raw = row.get("registration_id")
        creating = _blank(reg_raw)
        if creating:
            p = _seed.blank_participant()
            old = None
        else:
            reg = _as_int(reg_raw, "registration_id")
            r = self.db.execute("SELECT doc FROM participants WHERE registration_id=? AND race_id=? AND deleted=0",
                                (reg, race_id)).fetchone()
            if r is None:
                raise RowError(f"unknown registration_id {reg}")
            p = orjson.loads(r[0])
            old = orjson.dumps(p)
            if p["event_id"] != event_id:
                raise RowError(f"registration {reg} is in event {p['event_id']}, not {event_id}; "
                               "use switch_participant_events to move it")
        u = p["user"]

        # Fields may sit inside "user" (the field table) or beside it (the example); inside wins.
        def pick(name: str) -> Any:
            if name in user:
                return user[name]
            if name in row:
                return row[name]
            return _ABSENT

        for name in ("first_name", "last_name"):
            v = pick(name)
            if v is _ABSENT:
                if creating:
                    raise RowError(f"user.{name} is required")
                continue
            if _blank(v):
                raise RowError(f"user.{name} must not be empty")
            u[name] = str(v).strip()
        v = pick("middle_name")
        if v is not _ABSENT:
            u["middle_name"] = None if _blank(v) else str(v).strip()
        v = pick("email")
        if v is not _ABSENT:
            u["email"] = None if _blank(v) else str(v).strip()
        elif creating:
            u["email"] = self.srv.email   # documented: defaults to the logged-in user's email
        v = pick("dob")
        if v is not _ABSENT:
            if _blank(v):
                u["dob"] = None
            else:
                s = str(v).strip()
                try:
                    if not _DOB_RE.match(s):
                        raise ValueError
                    _dt.date.fromisoformat(s)
                except ValueError:
                    raise RowError(f"dob must be YYYY-MM-DD, got {v!r}") from None
                u["dob"] = s
        v = pick("gender")
        if v is not _ABSENT:
            u["gender"] = "" if v is None else str(v).strip().upper()[:1] if str(v).strip() else ""
        v = pick("phone")
        if v is not _ABSENT:
            u["phone"] = None if _blank(v) else _str_or_none(v).strip()
        v = pick("address")
        if v is not _ABSENT:
            addr = u.get("address") or {k: None for k in _seed.ADDRESS_KEYS}
            if v is None:
                addr = {k: None for k in _seed.ADDRESS_KEYS}
            elif not isinstance(v, dict):
                raise RowError("address must be an object")
            else:
                for src, dst in (("street", "street"), ("city", "city"), ("state", "state"),
                                 ("zipcode", "zipcode"), ("zip code", "zipcode"), ("zip", "zipcode"),
                                 ("country_code", "country_code")):
                    if src in v:
                        addr[dst] = None if _blank(v[src]) else _str_or_none(v[src]).strip()
            u["address"] = {k: addr.get(k) for k in _seed.ADDRESS_KEYS}
        v = pick("team_id")
        if v is not _ABSENT:
            if _blank(v):
                self._apply_team(p, None, ctx["types"])
            else:
                tid = _as_int(v, "team_id")
                if tid not in ctx["teams"]:
                    raise RowError(f"unknown team_id {tid}")
                self._apply_team(p, ctx["teams"][tid], ctx["types"])
        p["age"] = _seed.age_on(u["dob"], ctx["race_date"])

        if creating:
            p["registration_id"] = self.store.next_id("next_registration_id")
            u["user_id"] = self.store.next_id("next_user_id")
            p["event_id"] = event_id
            p["registration_date"] = _seed.fmt_mdy_hm(now, ctx["tz"])
            p["last_modified"] = now
            self.db.execute("INSERT INTO participants VALUES (?,?,?,?,?,0,?)",
                            (p["registration_id"], race_id, event_id, u["user_id"], now, orjson.dumps(p)))
        elif orjson.dumps(p) != old:   # only a real change bumps last_modified
            p["last_modified"] = now
            self.db.execute("UPDATE participants SET doc=?, last_modified=? WHERE registration_id=?",
                            (orjson.dumps(p), now, p["registration_id"]))
        return p["registration_id"]

    # switch / delete ------------------------------------------------------------------------------
    def _registrations(self, req: dict) -> list:
        rows = req.get("registrations")
        if not isinstance(rows, list):
            raise ApiError(ERR_BAD_REQUEST, "Request must contain a registrations list")
        return rows

    def switch(self, race_id: int, req: dict) -> bytes:
        rows = self._registrations(req)
        now = self.now()
        new_id = self.srv.options.switch_new_id
        out = self._apply_rows(rows, lambda row, events: self._switch_one(race_id, row, events, now, new_id),
                               lambda: set(self.event_ids(race_id)))
        return orjson.dumps({"participants": out})

    def _switch_one(self, race_id: int, row: Any, events: set, now: int, new_id: bool) -> int:
        """Switch one registration; its (possibly new) id, or RowError."""
        if not isinstance(row, dict):
            raise RowError("registration must be an object")
        if _blank(row.get("registration_id")):
            raise RowError("registration_id is required")
        if _blank(row.get("new_event_id")):
            raise RowError("new_event_id is required")
        reg = _as_int(row["registration_id"], "registration_id")
        ev = _as_int(row["new_event_id"], "new_event_id")
        if ev not in events:
            raise RowError(f"new_event_id {ev} is not an event of race {race_id}")
        p = self._live_participant(race_id, reg)
        if p["event_id"] == ev:
            return reg
        if new_id:
            # old registration -> removed feed; a new registration in the new event
            old = dict(p, last_modified=now)
            self.db.execute("UPDATE participants SET deleted=1, last_modified=?, doc=? "
                            "WHERE registration_id=?", (now, orjson.dumps(old), reg))
            p["registration_id"] = self.store.next_id("next_registration_id")
            p["event_id"] = ev
            p["last_modified"] = now
            self.db.execute("INSERT INTO participants VALUES (?,?,?,?,?,0,?)",
                            (p["registration_id"], race_id, ev, p["user"]["user_id"], now, orjson.dumps(p)))
        else:
            p["event_id"] = ev
            p["last_modified"] = now
            self.db.execute("UPDATE participants SET event_id=?, last_modified=?, doc=? "
                            "WHERE registration_id=?", (ev, now, orjson.dumps(p), reg))
        return p["registration_id"]

    def _live_participant(self, race_id: int, reg: int) -> dict:
        r = self.db.execute("SELECT doc FROM participants WHERE registration_id=? AND "
                            "race_id=? AND deleted=0", (reg, race_id)).fetchone()
        if r is None:
            raise RowError(f"unknown registration_id {reg}")
        return orjson.loads(r[0])

    def delete(self, race_id: int, req: dict) -> bytes:
        rows = self._registrations(req)
        if len(rows) > MAX_DELETE:
            raise ApiError(ERR_BAD_REQUEST, f"At most {MAX_DELETE} registrations may be deleted per request")
        now = self.now()
        out = self._apply_rows(rows, lambda row, _: self._delete_one(race_id, row, now))
        return orjson.dumps({"participants": out})

    def _delete_one(self, race_id: int, row: Any, now: int) -> int:
        if not isinstance(row, dict) or _blank(row.get("registration_id")):
            raise RowError("registration_id is required")
        reg = _as_int(row["registration_id"], "registration_id")
        p = self._live_participant(race_id, reg)
        p["last_modified"] = now
        self.db.execute("UPDATE participants SET deleted=1, last_modified=?, doc=? "
                        "WHERE registration_id=?", (now, orjson.dumps(p), reg))
        return reg


# ------------------------------------------------------------------------------------- public API
@dataclass
class ServerHandle:
    url: str
    root: str
    email: str
    password: str
    race_id: int
    _server: Server | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _cleanup: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        srv.store.close()
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> "ServerHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _make(host: str, port: int, db: str | None, participants: int, seed: int, email: str, password: str,
          verbose: bool = False) -> tuple[Server, Callable[[], None] | None]:
    cleanup = None
    if db is None:
        tmpdir = tempfile.mkdtemp(prefix="timersync-serve-")
        db = os.path.join(tmpdir, "raceentry.sqlite")

        def cleanup() -> None:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    store = Store(db, participants, seed)
    try:
        srv = Server((host, port), store, email, password, verbose=verbose)
    except BaseException:
        store.close()
        if cleanup:
            cleanup()
        raise
    return srv, cleanup


def _handle(srv: Server, host: str) -> ServerHandle:
    h, p = srv.server_address[:2]
    shown = host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    if ":" in shown:
        shown = f"[{shown}]"
    root = f"http://{shown}:{p}"
    return ServerHandle(url=root + "/rest", root=root, email=srv.email, password=srv.password,
                        race_id=srv.store.main_race_id, _server=srv)


def start_background(db: str | None = None, participants: int = 200, seed: int = 1, host: str = "127.0.0.1",
                     port: int = 0, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD,
                     verbose: bool = False) -> ServerHandle:
    """Start the server in a daemon thread; port 0 picks a free port; db None uses a temp file (deleted
    on stop). An existing, already-seeded db is reused as is (participants/seed are then ignored)."""
    srv, cleanup = _make(host, port, db, participants, seed, email, password, verbose)
    handle = _handle(srv, host)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name="raceentry-server")
    t.start()
    handle._thread = t
    handle._cleanup = cleanup
    return handle


def serve_forever(host: str = "127.0.0.1", port: int = 8765, db: str | None = None, participants: int = 200,
                  seed: int = 1, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD,
                  on_ready: Callable[[ServerHandle], None] | None = None, verbose: bool = False) -> None:
    """Serve in the foreground until Ctrl-C (KeyboardInterrupt), then close cleanly."""
    srv, cleanup = _make(host, port, db, participants, seed, email, password, verbose)
    handle = _handle(srv, host)
    handle._cleanup = cleanup
    try:
        if on_ready is not None:
            on_ready(handle)
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
        srv.store.close()
        handle._server = None
        if cleanup:
            cleanup()
