"""A RaceEntry-compatible rehearsal server (stdlib http.server + sqlite3 + orjson).

Real RaceEntry is not reachable from tests or demos, so this server answers the endpoints of RaceEntry's
Timer API document (base path ``/rest``) with the document's JSON shapes, backed by a SQLite file seeded by
``seed.generate_race``. It behaves one of two ways (``behave``):

``documented`` (the default): what the document shows, where it shows it, and nothing it does not show.

* Login reads ``email``/``password`` from a form-urlencoded, multipart/form-data or JSON body, or the query.
  One account; a new login invalidates the previous pair; pairs expire 24 h after issue (*server* clock).
* POST bodies: the JSON text of the field ``request`` ("Key: request, Type: JSON string") from a
  form-urlencoded, multipart or JSON-object body or the query string; a raw JSON body without ``request``
  (the request object itself) is refused.
* ``modified_after_timestamp`` is strictly "after" (``last_modified > T``); absent means "now".
* No paging: every answer is whole; ``page``, ``results_per_page`` and ``after_registration_id`` mean
  nothing (quirks ``paging`` and ``page-cap`` add RunSignup's).
* The races answer lists ``"events": []`` for every race, as the document's only example does (quirk
  ``race-events`` lists them with RunSignup's details: name, times, distance).
* POST participants and POST teams: ``registration_id`` (``team_id``) is required on every row: blank
  creates (the example's ``""``), a value updates, a row without the key is a bad row. The field table
  marks the rest required on every row too, updates included: ``event_id``, ``user.first_name`` and
  ``user.last_name`` (participants), ``team_type_id`` and ``team_name`` (teams). Unsent fields stay,
  fields sent as null are cleared; ``last_modified`` moves only when a row really changes something; a
  create without email gets the logged-in account's. An update whose ``event_id`` is not the runner's event is not refused (the
  document is silent): the other fields apply and the event stays (moving is switch_participant_events').
* switch_participant_events keeps the registration_id (the document answers the ids it was sent).
* Team types are enforced: a runner joins a team only if the runner's event is in the type's
  ``valid_event_ids`` and the team has fewer than ``max_members``; a race has at most ``max_num_teams``
  teams of a type; a team member cannot be switched to an event its team's type does not allow.
* A bad row does not fail the request: its answer entry is ``{"registration_id": null, "error":
  {"error_code": 400, "error_msg": "row N (registration_id R): ..."}}`` (teams: ``team_id``); the other
  rows apply.

``strict``: the least forgiving reading a real RaceEntry could have.

* Any bad row refuses the whole request (nothing applied): HTTP 400 ``{"error": "..."}`` naming the rows.
  So a successful POST answers only ids.
* Errors are ``{"error": "..."}`` with a real HTTP status: 401 for a missing, bad or expired key (and a
  failed login), 404 for an unknown race or endpoint, 400 for a bad request.
* An update whose ``event_id`` is not the runner's event is a bad row.
* An update REPLACES the record: the row's user and address objects replace the stored ones, so every
  user field, address field and the team the row does not send become blank (documented merges: unsent
  fields stay). ``/_control/options {"update": "replace"|"merge"}`` switches either behaviour.
* switch_participant_events gives a NEW registration_id (the old one goes to the removed feed).

Both, where the document is silent:

* Documented-mode errors use the RunSignup envelope ``{"error": {"error_code": N, "error_msg": "..."}}``
  with HTTP 200 (the hard case). Codes: 100 missing tmp_key/tmp_secret, 101 bad email/password, 102
  expired or invalidated pair, 103 unknown pair, 104 race not found, 400 bad request, 404 unknown
  endpoint, 500 injected failure. Unknown paths answer 404 before any credential check.
* Rows ordered by registration_id; every event gets its group. With paging on (quirk ``paging``,
  RunSignup's): ``results_per_page`` (<= 2500) with ``page`` (1-based) or ``after_registration_id`` (only
  larger ids; ``page`` is then ignored). No paging parameters: everything.
* delete_participants is a soft delete (shows in removed_participants, last_modified = deletion time);
  more than 250 registrations in one request is a whole-request error. Bib/chip/team follow a switch.
* Renaming a team (POST teams) rewrites its members' documents and bumps their last_modified.
* Request bodies over 10 MB are answered 413 unread. Memory stays bounded when left running: no request
  log without test controls, the last 100 key pairs remembered.

Test controls (no auth), only when started with ``test_controls=True`` (else 404), live under
``/_control`` beside ``/rest``: clock, faults (``FAULT_KINDS``: among them ``reverse_after``, an answer whose
ids come in reverse order, and ``504_apply_later``, a gateway's 504 at once while the request is applied
``delay`` seconds later; ``blank_after``, an update applied and then ``field`` (dob by default)
blanked in every record it updated; the transport faults ``redirect_login``, ``bom_prefix``, ``php_notice``,
``403_key``, ``html_error``: see ``Handler._transport_fault``), options (``switch_new_id``, ``update``, ``error_style``,
``error_status``, ``verbose``, ``typing``: ``"loose"`` sends other plausible typings, ``page_cap``,
``truncate_to``, ``gzip``, ``paging``, ``race_events``, ``key_403``, ``since_inclusive``, ``rows_in_event``,
``quirks``), requests,
expire_credentials; see ``Handler._control``. Answers over 1 KB are gzipped when the client accepts it
(option ``gzip``).

Quirks (``defaults.QUIRKS``; ``timersync serve --quirk NAME``, ``start_background(quirks=...)``,
``/_control/options {"quirks": [...]}``) name these options and faults, each a behaviour a real RaceEntry
plausibly has, so users can rehearse it on its own (:func:`apply_quirks`).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
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
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import orjson

from . import seed as _seed

from .defaults import BEHAVIOURS, DEFAULT_EMAIL, DEFAULT_PASSWORD, QUIRKS  # noqa: E402  (published with the server)
CREDENTIAL_TTL = 24 * 3600
MAX_RESULTS_PER_PAGE = 2500
MAX_DELETE = 250
MAX_BODY = 10 * 1024 * 1024
MAX_KEPT_KEYS = 100   # invalidated key pairs remembered (to answer 102 rather than 103)
MOVED_PREFIX = "/moved"   # /moved/rest/... serves the same API (where redirect_login sends a login)

ERR_MISSING_AUTH = 100
ERR_LOGIN = 101
ERR_EXPIRED = 102
ERR_BAD_AUTH = 103
ERR_RACE = 104
ERR_BAD_REQUEST = 400
ERR_NOT_FOUND = 404
ERR_INJECTED = 500
# strict: every error is {"error": msg} with a real HTTP status
STRICT_STATUS = {ERR_MISSING_AUTH: 401, ERR_LOGIN: 401, ERR_EXPIRED: 401, ERR_BAD_AUTH: 401, ERR_RACE: 404,
                 ERR_BAD_REQUEST: 400, ERR_NOT_FOUND: 404, ERR_INJECTED: 500}

# quirk 403-key and fault 403_key: the answer of a server that forbids a bad or expired key
FORBIDDEN_KEY = orjson.dumps({"error": {"error_code": 403, "error_msg": "Forbidden: invalid or expired tmp_key"}})

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


def _with_fields(doc: bytes, fields: dict) -> bytes:
    """A participant's JSON with ``fields`` added (``user.x`` inside user, ``address.x`` inside its address)."""
    obj = orjson.loads(doc)
    for key, value in fields.items():
        if key.startswith("user."):
            obj.setdefault("user", {})[key[5:]] = value
        elif key.startswith("address."):
            user = obj.setdefault("user", {})
            if isinstance(user.get("address"), dict):
                user["address"][key[8:]] = value
        else:
            obj[key] = value
    return orjson.dumps(obj)


# ``typing: "loose"`` (/_control/options, or ``timersync serve --quirk loose-typing``): every answer sends
# documented fields in other plausible typings (issue 17), so a client's liberal reading can be rehearsed.
TYPINGS = ("documented", "loose")
_LOOSE_ZONE = "America/Denver"  # the seeded races' timezone: date-time text is written in it


def _loose_time(ts: Any) -> Any:
    """Unix seconds -> "YYYY-MM-DD HH:MM:SS" in the race's timezone."""
    if not isinstance(ts, int) or isinstance(ts, bool):
        return ts
    return _dt.datetime.fromtimestamp(ts, _seed.zone(_LOOSE_ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def _loose_flag(v: Any, yn: bool = False) -> Any:
    if v in ("T", "F"):
        return ("Y" if v == "T" else "N") if yn else (1 if v == "T" else 0)
    return v


def _loose_participant(doc: bytes) -> bytes:
    """A participant's JSON in loose typing: ids as text, checked_in as 0/1, imported as Y/N, dob as
    MM/DD/YYYY, last_modified as date-time text."""
    obj = orjson.loads(doc)
    for key in ("registration_id", "event_id", "team_id", "team_type_id"):
        if isinstance(obj.get(key), int):
            obj[key] = str(obj[key])
    obj["checked_in"] = _loose_flag(obj.get("checked_in"))
    obj["imported"] = _loose_flag(obj.get("imported"), yn=True)
    obj["last_modified"] = _loose_time(obj.get("last_modified"))
    user = obj.get("user")
    if isinstance(user, dict):
        if isinstance(user.get("user_id"), int):
            user["user_id"] = str(user["user_id"])
        dob = user.get("dob")
        if isinstance(dob, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", dob):
            user["dob"] = f"{dob[5:7]}/{dob[8:10]}/{dob[:4]}"
    return orjson.dumps(obj)


def _loose_docs(docs: list[bytes], kind: str) -> list[bytes]:
    """Team and team-type documents in loose typing (ids as text, times as date-time text, flags as
    Y/N, null for empty lists)."""
    out = []
    for doc in docs:
        obj = orjson.loads(doc)
        for key in ("team_id", "team_type_id", "min_members", "max_members"):
            if isinstance(obj.get(key), int):
                obj[key] = str(obj[key])
        if kind == "team":
            obj["last_modified_ts"] = _loose_time(obj.get("last_modified_ts"))
        else:
            for key, value in list(obj.items()):
                if value in ("T", "F"):
                    obj[key] = _loose_flag(value, yn=True)
                elif value == []:
                    obj[key] = None
        out.append(orjson.dumps(obj))
    return out


def _loose_race(doc: bytes) -> bytes:
    """A race in loose typing: its id as text, flags as 0/1, dates as YYYY-MM-DD."""
    obj = orjson.loads(doc)
    obj["race_id"] = str(obj["race_id"])
    for key, value in list(obj.items()):
        if value in ("T", "F"):
            obj[key] = _loose_flag(value)
        elif isinstance(value, str) and re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
            obj[key] = f"{value[6:]}-{value[:2]}-{value[3:5]}"
    return orjson.dumps(obj)


@dataclass
class Options:
    switch_new_id: bool = False      # strict starts with True
    # How a POST participants row with a registration_id updates the record: "merge" (unsent fields stay)
    # or "replace" (the row's user and address objects replace the stored ones: every user field, address
    # field and the team not sent become blank). strict starts with "replace".
    update: str = "merge"
    error_style: str = "runsignup"   # or "message"
    error_status: int = 200
    verbose: bool = False
    # Fields beyond the document added to every participant served ("shirt_size", "user.nickname",
    # "address.street3"): a RaceEntry that sends more than it documents, for tests.
    extra_fields: dict = field(default_factory=dict)
    typing: str = "documented"  # or "loose" (TYPINGS)
    # Paging quirks (see Api._paging_quirks): RunSignup's paging (as with ``paging``) in pages of at most
    # page_cap rows whatever results_per_page asks, without saying so; truncate_to: every answer is its
    # first N rows whatever paging asks (a server that truly loses rows).
    page_cap: int = 0
    truncate_to: int = 0
    gzip: bool = True   # gzip answers over 1 KB when the client sends Accept-Encoding: gzip
    # The document shows no paging: page, results_per_page and after_registration_id are ignored unless
    # paging is on (RunSignup's paging, quirk "paging").
    paging: bool = False
    # The document's races example shows "events": []: the races answer lists events (with RunSignup's
    # details, as seeded) only with race_events (quirk "race-events").
    race_events: bool = False
    key_403: bool = False   # a missing, bad or expired key answered HTTP 403 (quirk "403-key")
    since_inclusive: bool = False   # modified_after_timestamp read as "on or after" (quirk "inclusive-since")
    # a group's rows inside its event object ("event": {"participants": [...]}), the sibling list empty
    # (quirk "rows-in-event"; the document's example has both lists, the rows in the sibling)
    rows_in_event: bool = False


@dataclass
class Fault:
    method: str | None
    path: str | None
    kind: str
    count: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    status: int | None = None   # redirect_login's 301/302/307/308, html_error's status
    field: str = "dob"   # blank_after: the user field (or "address.<key>") blanked

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None

    def as_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "kind": self.kind, "count": self.count,
                "retry_after": self.retry_after, "delay": self.delay, "status": self.status,
                "field": self.field}


FAULT_KINDS = {"500", "429", "503", "drop_before", "drop_after", "500_after", "slow", "non_json", "error200",
               "102_after", "short_after", "reverse_after", "504_apply_later", "blank_after"} | {
               # transport and envelope faults (Handler._transport_fault)
               "redirect_login", "bom_prefix", "php_notice", "403_key", "html_error"}

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

    def __init__(self, addr, store: Store, email: str, password: str, verbose: bool = False,
                 behave: str = "documented", test_controls: bool = False):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, Handler)
        self.store = store
        self.email = email
        self.password = password
        self.strict = behave == "strict"
        self.test_controls = test_controls
        self.clock = Clock()
        self.options = Options(switch_new_id=self.strict, update="replace" if self.strict else "merge",
                               verbose=verbose)
        self.faults: list[Fault] = []
        self.gzip_memo: tuple[bytes, bytes] | None = None   # (an answer, its gzip): see Handler._gzip
        self.quirk_faults: list[Fault] = []   # faults a quirk keeps on: every matching request, never used up
        self.quirks: list[str] = []
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
            return next((f for f in self.quirk_faults if f.matches(method, path)), None)
        return None


class _Drop(Exception):
    """Close the connection without answering."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY the body of a small answer waits for
    # the client's delayed ACK (about 40 ms per request on Linux), which no real server makes a client pay.
    disable_nagle_algorithm = True
    server_version = "RaceEntryRehearsal/1.0"
    timeout = 120   # seconds a connection may sit idle or half-sent before it is closed (frees its thread)
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
        body, headers = self._gzip(body, headers)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _gzip(self, body: bytes, headers: dict | None) -> tuple[bytes, dict | None]:
        """The body gzipped (level 1: a 50,000-runner answer in well under a second) when the client
        accepts gzip, the option is on and the body is over 1 KB; as it is otherwise."""
        accepts = (self.headers.get("Accept-Encoding") or "").lower()
        if not self.server.options.gzip or len(body) <= 1024 or "gzip" not in accepts:
            return body, headers
        import gzip

        # The last large answer's gzip is kept: a feed answered again from the cache (the same bytes
        # object: a client asking for pages of a server that does not page) is not compressed again.
        memo = self.server.gzip_memo
        if memo is not None and memo[0] is body:
            packed = memo[1]
        else:
            packed = gzip.compress(body, compresslevel=1)
            if len(body) > 1 << 20:
                self.server.gzip_memo = (body, packed)
        return packed, {**(headers or {}), "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}

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

    def _error(self, code: int, msg: str, status: int | None = None) -> tuple[int, bytes]:
        """An error answer: strict's ``{"error": msg}`` with a real HTTP status, else the error_style
        envelope (RunSignup's by default) with error_status (200 by default)."""
        srv = self.server
        if srv.options.key_403 and code in (ERR_MISSING_AUTH, ERR_EXPIRED, ERR_BAD_AUTH):
            return 403, FORBIDDEN_KEY
        if srv.strict:
            return status or STRICT_STATUS.get(code, 400), orjson.dumps({"error": msg})
        status = status or srv.options.error_status
        if srv.options.error_style == "message":
            return status, orjson.dumps({"message": msg})
        return status, orjson.dumps({"error": {"error_code": code, "error_msg": msg}})

    def _read_body(self) -> bytes | None:
        """The request body, or None when it was refused unread (the connection then closes, since the
        unread bytes would follow): chunked (411), a bad Content-Length (400), over MAX_BODY (413)."""
        length_text = self.headers.get("Content-Length") or "0"
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            status, msg = 411, "Chunked request bodies are not accepted; send a Content-Length"
        elif not length_text.strip().isdigit():
            status, msg = 400, f"Invalid Content-Length {length_text!r}"
        elif int(length_text) > MAX_BODY:
            status, msg = 413, f"Request body of {int(length_text)} bytes is over the {MAX_BODY >> 20} MB limit"
        else:
            length = int(length_text)
            return self.rfile.read(length) if length else b""
        self.close_connection = True
        status, body = self._error(ERR_BAD_REQUEST, msg, status)
        self._send(status, body, headers={"Connection": "close"})
        return None

    def _dispatch(self, method: str) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        self.moved = (path + "/").startswith(MOVED_PREFIX + "/")
        if self.moved:   # the same API at another address (redirect_login)
            path = path[len(MOVED_PREFIX):]
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        raw = self._read_body()
        if raw is None:
            return
        srv = self.server
        if srv.test_controls and (path + "/").startswith("/_control/"):
            try:
                status, body = self._control(method, path, raw)
            except KeyError as e:
                status, body = 400, orjson.dumps({"error": f"bad control request: missing {e}"})
            except (ValueError, TypeError) as e:
                status, body = 400, orjson.dumps({"error": f"bad control request: {e}"})
            self._send(status, body)
            return

        fault = srv.take_fault(method, path)
        entry = {"method": method, "path": path, "query": redact(parsed.query), "time": srv.clock.now(),
                 "fault": fault.kind if fault else None, "status": None}
        if srv.test_controls:   # the log is for /_control/requests; a server left running keeps none
            with srv.state_lock:
                srv.requests_log.append(entry)

        if fault is not None and self._transport_fault(fault, method, path, query, raw, entry):
            return
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
                self._send(200, self._error(ERR_INJECTED, "Internal error, please try again")[1])
                return
            if kind == "slow":
                time.sleep(max(0.0, float(fault.delay or 0)))
            if kind == "504_apply_later" and self._apply_later(method, path, query, raw, fault, entry):
                return

        try:
            body = self._route(method, path, query, raw)
            status = 200
        except ApiError as e:
            status, body = self._error(e.code, e.msg, e.http_status)
        except Exception as e:  # pragma: no cover - a server bug; answer rather than hang
            status, body = self._error(ERR_INJECTED, f"Internal server error: {type(e).__name__}", 500)
            if srv.options.verbose:
                import traceback
                traceback.print_exc()

        if fault is not None and fault.kind == "drop_after":
            entry["status"] = "dropped"
            self._drop()
            return
        if fault is not None and fault.kind == "102_after" and status == 200:
            # Applied, then answered "expired key": a server that checks the key late.
            status, body = self._error(ERR_EXPIRED, "Expired credentials. Please log in again.")
            entry["status"] = status
            self._send(status, body)
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
        if fault is not None and fault.kind == "reverse_after" and status == 200:
            # Applied, then answered with the entries in reverse order (a server that does not keep the
            # request's order): each row's id is right, by position it is another row's.
            data = orjson.loads(body)
            key = next((k for k, v in data.items() if isinstance(v, list)), None) if isinstance(data, dict) else None
            if key is not None:
                data[key] = data[key][::-1]
            entry["status"] = 200
            self._send(200, orjson.dumps(data))
            return
        if fault is not None and fault.kind == "blank_after" and status == 200:
            # Applied, answered as usual, and the field blanked in every record the request updated: a
            # RaceEntry that wipes a field on update whatever the row sent.
            self._blank_updated(path, query, raw, fault.field)
        if fault is not None and fault.kind == "500_after":
            entry["status"] = 500
            self._send(500, b"500 injected failure (after commit)\n", "text/plain")
            return
        entry["status"] = status
        self._send(status, body)

    def _transport_fault(self, fault: Fault, method: str, path: str, query: dict, raw: bytes, entry: dict) -> bool:
        """Transport and envelope faults; True when the request was answered here.

        ``redirect_login``: a login (or the request its ``path`` matches) answered ``status`` (301 by
        default) to the same API at another address (``MOVED_PREFIX`` + /rest on this server, as http ->
        https would move it).
        ``bom_prefix``/``php_notice``: the usual answer with a UTF-8 BOM and a newline, or a PHP notice,
        before its JSON. ``403_key``: HTTP 403 with an error about the key. ``html_error``: an HTML
        error page with ``status`` (503 by default), as a proxy in front of RaceEntry answers."""
        kind = fault.kind
        if kind == "redirect_login":   # (any request the fault matches: a login unless its path says else)
            if (not path.startswith("/rest/") or (fault.path is None and path != "/rest/login")
                    or self.moved):   # (the moved address itself is never redirected)
                return False
            host = self.headers.get("Host") or f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            tail = urllib.parse.urlsplit(self.path).query
            entry["status"] = fault.status or 301
            self._send(fault.status or 301, b"<html><body>Moved</body></html>\n", "text/html",
                       {"Location": f"http://{host}{MOVED_PREFIX}{path}" + (f"?{tail}" if tail else "")})
            return True
        if kind == "403_key":
            entry["status"] = 403
            self._send(403, FORBIDDEN_KEY)
            return True
        if kind == "html_error":
            status = fault.status or 503
            reason = self.responses.get(status, ("Error",))[0]
            entry["status"] = status
            self._send(status, (f"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head><body>"
                                f"<h1>{reason}</h1><p>The server is temporarily unable to service your request."
                                f"</p><hr><address>Apache</address></body></html>\n").encode(),
                       "text/html; charset=iso-8859-1")
            return True
        if kind in ("bom_prefix", "php_notice"):
            try:
                body, status = self._route(method, path, query, raw), 200
            except ApiError as e:
                status, body = self._error(e.code, e.msg, e.http_status)
            prefix = (b"\xef\xbb\xbf\r\n" if kind == "bom_prefix" else
                      b"<br />\n<b>Notice</b>:  Undefined index: page in <b>/var/www/rest/index.php</b> on line "
                      b"<b>42</b><br />\n")
            entry["status"] = status
            self._send(status, prefix + body)
            return True
        return False

    def _blank_updated(self, path: str, query: dict, raw: bytes, name: str) -> None:
        """``blank_after``: blank ``name`` ("dob", "address.city") in the records a POST participants
        updated (rows with a registration_id)."""
        try:
            req = request_object(self.headers.get("Content-Type", ""), raw, query)
            ids = [_as_int(r["registration_id"], "registration_id") for r in req.get("participants") or []
                   if isinstance(r, dict) and not _blank(r.get("registration_id"))]
        except (ApiError, RowError, ValueError, TypeError, AttributeError):
            return
        store = self.server.store
        with store.lock:
            for reg in ids:
                r = store.db.execute("SELECT doc FROM participants WHERE registration_id=?", (reg,)).fetchone()
                if r is None:
                    continue
                p = orjson.loads(r[0])
                holder, key = p["user"], name
                if name.startswith("address."):
                    holder = p["user"]["address"] = p["user"].get("address") or {}
                    key = name.split(".", 1)[1]
                holder[key] = "" if key == "gender" else None
                store.db.execute("UPDATE participants SET doc=? WHERE registration_id=?", (orjson.dumps(p), reg))
            store.invalidate()

    def _apply_later(self, method: str, path: str, query: dict, raw: bytes, fault: Fault, entry: dict) -> bool:
        """``504_apply_later``: a gateway that gives up at once (504) while RaceEntry behind it takes the
        request now (its key is checked now) and applies it ``delay`` seconds later. False (the request
        is answered as usual) when the request would be refused anyway."""
        try:
            endpoint(method, path)
            self._check_auth(query)
        except ApiError:
            return False
        ctype = self.headers.get("Content-Type", "")
        srv = self.server

        def later() -> None:
            time.sleep(max(0.0, float(fault.delay or 0)))
            try:
                self._route(method, path, query, raw, ctype=ctype, auth=False)
                entry["applied"] = True
            except Exception as exc:  # a refused request, or the server stopped meanwhile
                entry["applied"] = f"not applied: {exc}"
                if srv.options.verbose:
                    sys.stderr.write(f"504_apply_later: {exc}\n")

        entry["applied"] = False
        threading.Thread(target=later, name="apply-later", daemon=True).start()
        entry["status"] = 504
        self._send(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>\n", "text/html")
        return True

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
                                                delay=float(f.get("delay", 0) or 0),
                                                status=int(f["status"]) if f.get("status") else None,
                                                field=str(f.get("field") or "dob")))
                return 200, orjson.dumps({"faults": [f.as_dict() for f in srv.faults]})
        if name == "options":
            if method == "POST":
                o = srv.options
                if "switch_new_id" in data:
                    o.switch_new_id = bool(data["switch_new_id"])
                if "update" in data:
                    if data["update"] not in ("merge", "replace"):
                        raise ValueError("update must be 'merge' or 'replace'")
                    o.update = data["update"]
                if "error_style" in data:
                    if data["error_style"] not in ("runsignup", "message"):
                        raise ValueError("error_style must be 'runsignup' or 'message'")
                    o.error_style = data["error_style"]
                if "error_status" in data:
                    o.error_status = int(data["error_status"])
                if "verbose" in data:
                    o.verbose = bool(data["verbose"])
                _paging_options(o, data)
                if "extra_fields" in data:
                    if not isinstance(data["extra_fields"], dict):
                        raise ValueError("extra_fields must be an object of field -> value")
                    o.extra_fields = dict(data["extra_fields"])
                self._option_typing(data)
                for key in ("paging", "race_events", "key_403", "since_inclusive", "rows_in_event"):
                    if key in data:
                        setattr(o, key, bool(data[key]))
                if "quirks" in data:
                    apply_quirks(srv, data["quirks"])
                with srv.store.lock:   # answers built before are built another way now
                    srv.store.cache.clear()
            o = srv.options
            return 200, orjson.dumps({"typing": o.typing, "switch_new_id": o.switch_new_id, "update": o.update, "error_style": o.error_style,
                                      "error_status": o.error_status, "verbose": o.verbose,
                                      "extra_fields": o.extra_fields, "page_cap": o.page_cap,
                                      "truncate_to": o.truncate_to, "gzip": o.gzip, "paging": o.paging,
                                      "race_events": o.race_events, "key_403": o.key_403,
                                      "since_inclusive": o.since_inclusive, "rows_in_event": o.rows_in_event,
                                      "quirks": srv.quirks})
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

    def _option_typing(self, data: dict) -> None:
        """/_control/options ``{"typing": "loose"}``: answers in other plausible typings (TYPINGS)."""
        if "typing" in data:
            if data["typing"] not in TYPINGS:
                raise ValueError(f"typing must be one of {', '.join(TYPINGS)}")
            self.server.options.typing = data["typing"]

    # -------------------------------------------------------------------------------------- API
    def _route(self, method: str, path: str, query: dict, raw: bytes, ctype: str | None = None,
               auth: bool = True) -> bytes:
        name, race = endpoint(method, path)   # an unknown path is a 404 before any credential check
        if ctype is None:
            ctype = self.headers.get("Content-Type", "")
        if name == "login":
            return self._login(query, raw)
        if auth:
            self._check_auth(query)
        api = Api(self.server)
        if name == "races":
            return api.races(query)
        try:
            race_id = int(race)
        except ValueError:
            raise ApiError(ERR_RACE, "Race not found") from None
        api.require_race(race_id)
        if method == "POST":
            return getattr(api, name)(race_id, request_object(ctype, raw, query))
        return getattr(api, name)(race_id, query)

    def _login(self, query: dict, raw: bytes) -> bytes:
        srv = self.server
        fields = dict(query)
        fields.update((k, v) for k, v in body_fields(self.headers.get("Content-Type", ""), raw).items()
                      if isinstance(v, str))
        email = (fields.get("email") or "").strip()
        password = fields.get("password") or ""
        if email.lower() != srv.email.lower() or password != srv.password:
            raise ApiError(ERR_LOGIN, "Invalid email or password")
        key, secret = secrets.token_hex(16), secrets.token_hex(20)
        with srv.state_lock:
            for c in srv.creds.values():   # a later login invalidates the earlier pair
                c[2] = False
            srv.creds[key] = [secret, srv.clock.now(), True]
            while len(srv.creds) > MAX_KEPT_KEYS:   # the oldest invalidated pairs are forgotten (then 103)
                del srv.creds[next(iter(srv.creds))]
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


# (method, path under /rest, "{race}" standing for the race id) -> the handler: Api's method of that name
# (GETs take the query, POSTs the request object), or the login.
ROUTES = {
    ("POST", "login"): "login",
    ("GET", "races"): "races",
    ("GET", "race/{race}/participants"): "participants",
    ("GET", "race/{race}/removed_participants"): "removed_participants",
    ("GET", "race/{race}/teams"): "teams",
    ("GET", "race/{race}/teams/team_types"): "team_types",
    ("POST", "race/{race}/participants"): "post_participants",
    ("POST", "race/{race}/switch_participant_events"): "switch",
    ("POST", "race/{race}/delete_participants"): "delete",
    ("POST", "race/{race}/teams"): "post_teams",
}


def endpoint(method: str, path: str) -> tuple[str, str]:
    """The ROUTES handler for ``method path`` and the race id text in the path ("" if none); ApiError 404
    for anything else."""
    parts = path.split("/")
    race = ""
    if parts[:2] == ["", "rest"]:
        if len(parts) > 4 and parts[2] == "race":
            race, parts[3] = parts[3], "{race}"
        name = ROUTES.get((method, "/".join(parts[2:])))
        if name:
            return name, race
    raise ApiError(ERR_NOT_FOUND, f"Unknown endpoint {method} {path}", 404)


def _paging_options(o: Options, data: dict) -> None:
    """POST /_control/options {"page_cap": N} / {"truncate_to": N} (0: off) / {"gzip": false}."""
    for name in ("page_cap", "truncate_to"):
        if name in data:
            if int(data[name] or 0) < 0:
                raise ValueError(f"{name} must be a number of rows (0: off)")
            setattr(o, name, int(data[name] or 0))
    if "gzip" in data:
        o.gzip = bool(data["gzip"])


def _looks_json(ctype: str, raw: bytes) -> bool:
    return "json" in ctype.lower() or raw.lstrip().startswith((b"{", b"["))


def _json_object(data: str | bytes, where: str) -> dict:
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ApiError(ERR_BAD_REQUEST, f"Invalid JSON in {where}") from None
    if not isinstance(obj, dict):
        raise ApiError(ERR_BAD_REQUEST, "Request must be a JSON object")
    return obj


def body_fields(ctype: str, raw: bytes) -> dict:
    """The fields of a form-urlencoded, multipart/form-data or JSON-object body (last value wins)."""
    if not raw.strip():
        return {}
    if "multipart/form-data" in ctype.lower():
        msg = BytesParser(policy=HTTP_POLICY).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1", "replace") + b"\r\n\r\n" + raw)
        return {part.get_param("name", header="content-disposition"):
                (part.get_payload(decode=True) or b"").decode(part.get_content_charset() or "utf-8", "replace")
                for part in msg.iter_parts() if part.get_param("name", header="content-disposition")}
    if _looks_json(ctype, raw):
        return _json_object(raw, "the request body")
    text = raw.decode("utf-8", "replace")
    return {k: v[-1] for k, v in urllib.parse.parse_qs(text, keep_blank_values=True).items()}


def request_object(ctype: str, raw: bytes, query: dict) -> dict:
    """The request's JSON object: the JSON text of the field ``request`` ("Key: request, Type: JSON
    string") in the body (form-urlencoded, multipart, or a JSON object carrying it) or the query string.
    A raw JSON body without ``request`` is refused: the document shows none."""
    fields = body_fields(ctype, raw)
    if "request" in fields:
        value = fields["request"]
    elif "request" in query:
        value = query["request"]
    else:
        raise ApiError(ERR_BAD_REQUEST, "Missing request parameter")
    if isinstance(value, str):
        return _json_object(value, "request")
    if not isinstance(value, dict):
        raise ApiError(ERR_BAD_REQUEST, "Request must be a JSON object")
    return value


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


def _row_label(i: int, row: Any, key: str) -> str:
    """``row N``, with the row's id when it has one (``row 2 (registration_id 1234)``)."""
    rid = row.get(key) if isinstance(row, dict) else None
    return f"row {i}" if _blank(rid) or isinstance(rid, (dict, list)) else f"row {i} ({key} {rid})"


def _int_param(query: dict, name: str, convert: Callable[[str], int] = int) -> int | None:
    v = query.get(name)
    if v is None or v == "":
        return None
    try:
        return convert(v)
    except (ValueError, OverflowError):
        raise ApiError(ERR_BAD_REQUEST, f"{name} must be an integer, got {v!r}") from None


def _type_name(tt: dict) -> str:
    return f"team type {tt['team_type_id']} ({tt.get('team_type')})"


def _event_refused(tt: dict, event_id: int) -> str | None:
    """Why a runner in ``event_id`` cannot be on a team of type ``tt`` (None: it can). No
    valid_event_ids (missing or empty) means every event."""
    valid = tt.get("valid_event_ids")
    if not valid or event_id in valid:
        return None
    return f"{_type_name(tt)} takes events {', '.join(map(str, valid))} only, not event {event_id}"


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
        if not self.srv.options.race_events:   # the document's example lists no events: "events": []
            docs = [orjson.dumps({**orjson.loads(d), "events": []}) for d in docs]
        if self.srv.options.typing == "loose":
            docs = [_loose_race(d) for d in docs]
        return b'{"races":[' + b",".join(b'{"race":' + d + b"}" for d in docs) + b"]}"

    # GET participants / removed_participants ------------------------------------------------------
    def participants(self, race_id: int, query: dict) -> bytes:
        return self._feed(race_id, query, deleted=False)

    def removed_participants(self, race_id: int, query: dict) -> bytes:
        return self._feed(race_id, query, deleted=True)

    def _paging_quirks(self, after: int | None, page: int | None, rpp: int | None
                       ) -> tuple[int | None, int | None, int | None]:
        """(after, page, results_per_page) as a quirky server takes them: ``truncate_to`` ignores paging
        and answers the first N rows; ``page_cap`` makes pages of at most N rows (no paging asked: the
        first N), without saying so."""
        o = self.srv.options
        if o.truncate_to:
            return None, None, o.truncate_to
        if o.page_cap:   # (page_cap pages, as paging does)
            return after, page, min(rpp or o.page_cap, o.page_cap)
        return after, page, rpp

    def _feed(self, race_id: int, query: dict, deleted: bool) -> bytes:
        ts = _int_param(query, "modified_after_timestamp", lambda v: int(float(v)))
        if ts is None:
            ts = self.now()   # documented: "If a timestamp is not provided, the current time will be used."
        after = page = rpp = None
        if self.srv.options.paging or self.srv.options.page_cap:   # (else the document's: no paging)
            after = _int_param(query, "after_registration_id")
            page, rpp = _int_param(query, "page"), _int_param(query, "results_per_page")
        if (page is not None and page < 1) or (rpp is not None and not 1 <= rpp <= MAX_RESULTS_PER_PAGE):
            raise ApiError(ERR_BAD_REQUEST,
                           f"page must be >= 1 and results_per_page between 1 and {MAX_RESULTS_PER_PAGE}")
        after, page, rpp = self._paging_quirks(after, page, rpp)
        # documented: modified *after* the timestamp
        since = ">=" if self.srv.options.since_inclusive else ">"   # (quirk inclusive-since)
        where, args = f"race_id=? AND deleted=? AND last_modified{since}?", [race_id, 1 if deleted else 0, ts]
        if after is not None:   # RunSignup's paging by id: only larger ids (page is then ignored)
            where += " AND registration_id>?"
            args.append(after)
        limit: list = []
        if rpp is not None or (page is not None and after is None):
            rpp = rpp or MAX_RESULTS_PER_PAGE
            limit = [rpp, 0 if after is not None else ((page or 1) - 1) * rpp]
        order = " ORDER BY registration_id" + (" LIMIT ? OFFSET ?" if limit else "")
        key = (where, *args, *limit)
        with self.store.lock:
            cached = self.store.cache.get(key)
            if cached is not None:
                return cached
            generation = self.store.generation
            events = self.event_ids(race_id)
            # Small result (incremental pull): use the last_modified index and sort. Large result (full
            # pull): walk the table in registration_id (rowid) order instead of sorting blobs.
            n = self.db.execute(f"SELECT count(*) FROM participants INDEXED BY ix_part_mod WHERE {where}",
                                args).fetchone()[0]
            src = "participants NOT INDEXED" if n > 5000 else "participants"
            rows = self.db.execute(f"SELECT event_id, doc FROM {src} WHERE {where}{order}",
                                   args + limit).fetchall() if n else []
        groups: dict[int, list[bytes]] = {e: [] for e in events}
        extra = self.srv.options.extra_fields
        loose = self.srv.options.typing == "loose"
        for eid, doc in rows:
            doc = _with_fields(doc, extra) if extra else doc
            groups.setdefault(eid, []).append(_loose_participant(doc) if loose else doc)
        out = []
        in_event = self.srv.options.rows_in_event
        for eid, docs in groups.items():
            if in_event and docs:   # the rows inside the event object, its sibling list empty
                rows_json = b"[" + b",".join(docs) + b"]"
                out.append((b'{"event":{"event_id":"%d","participants":%s},"participants":null}' if loose else
                            b'{"event":{"event_id":%d,"participants":%s},"participants":[]}') % (eid, rows_json))
                continue
            head = b'{"event":{"event_id":%d,"participants":[]}' % eid
            if loose:
                head = b'{"event":{"event_id":"%d","participants":null}' % eid
                if not docs:
                    out.append(head + b',"participants":null}')
                    continue
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
    def teams(self, race_id: int, _query: dict) -> bytes:
        with self.store.lock:
            docs = [r[0] for r in self.db.execute(
                "SELECT doc FROM teams WHERE race_id=? ORDER BY team_id", (race_id,))]
        if self.srv.options.typing == "loose":
            docs = _loose_docs(docs, "team")
        return b"[" + b",".join(docs) + b"]"

    def team_types(self, race_id: int, _query: dict) -> bytes:
        with self.store.lock:
            docs = [r[0] for r in self.db.execute(
                "SELECT doc FROM team_types WHERE race_id=? ORDER BY team_type_id", (race_id,))]
        if self.srv.options.typing == "loose":
            docs = _loose_docs(docs, "team_type")
        return b'{"race_team_types":[' + b",".join(docs) + b"]}"

    def _types(self, race_id: int) -> dict[int, dict]:
        return {r[0]: orjson.loads(r[1]) for r in self.db.execute(
            "SELECT team_type_id, doc FROM team_types WHERE race_id=?", (race_id,))}

    def _team_members(self, race_id: int, team_id: int) -> list[dict]:
        """The live participants on a team (their documents)."""
        docs = self.db.execute("SELECT doc FROM participants WHERE race_id=? AND deleted=0 AND instr(doc, ?) > 0",
                               (race_id, b'"team_id":%d,' % team_id)).fetchall()
        return [p for p in map(orjson.loads, (d[0] for d in docs)) if p.get("team_id") == team_id]

    def post_teams(self, race_id: int, req: dict) -> bytes:
        rows = req.get("race_teams")
        if not isinstance(rows, list):
            raise ApiError(ERR_BAD_REQUEST, "Request must contain a race_teams list")
        now = self.now()
        out = self._apply_rows(rows, lambda row, types: self._one_team(race_id, row, types, now),
                               lambda: self._types(race_id), key="team_id")
        return orjson.dumps({"race_teams": out})

    def _apply_rows(self, rows: list, one: Any, prepare: Any = None, key: str = "registration_id") -> list:
        """Apply each row with ``one(row, ctx)`` in one transaction, answering one entry per row in order.
        A bad row (RowError) becomes that row's error entry and the other rows still apply; strict
        refuses the whole request instead (ApiError naming every bad row, nothing applied). Any other
        failure rolls the whole request back."""
        out: list = []
        bad: list[str] = []
        with self.store.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                ctx = prepare() if prepare else None
                for i, row in enumerate(rows, 1):
                    try:
                        out.append({key: one(row, ctx)})
                    except RowError as e:
                        bad.append(f"{_row_label(i, row, key)}: {e}")
                        out.append({key: None, "error": {"error_code": ERR_BAD_REQUEST, "error_msg": bad[-1]}})
                if bad and self.srv.strict:
                    raise ApiError(ERR_BAD_REQUEST, "Request refused, nothing applied: " + "; ".join(bad))
                self.db.execute("COMMIT")
                self.store.invalidate()
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return out

    def _one_team(self, race_id: int, row: Any, types: dict, now: int) -> int:
        if not isinstance(row, dict):
            raise RowError("team must be an object")
        if "team_id" not in row:   # required by the field table; blank creates
            raise RowError("team_id is required (blank creates a team)")
        # the field table marks team_type_id and team_name required on every row, updates included
        if _blank(row.get("team_name")):
            raise RowError("team_name is required")
        if _blank(row.get("team_type_id")):
            raise RowError("team_type_id is required")
        tid_raw = row.get("team_id")
        if _blank(tid_raw):
            doc = {"team_id": None, "team_type_id": None, "team_name": None, "team_gender": None,
                   "team_bib_num": None, "team_age_restriction_id": None, "last_modified_ts": now}
        else:
            tid = _as_int(tid_raw, "team_id")
            r = self.db.execute("SELECT doc FROM teams WHERE team_id=? AND race_id=?", (tid, race_id)).fetchone()
            if r is None:
                raise RowError(f"not a team of race {race_id}")
            doc = orjson.loads(r[0])
        if "team_type_id" in row:
            ttid = _as_int(row["team_type_id"], "team_type_id")
            if ttid not in types:
                raise RowError(f"unknown team_type_id {ttid}")
            if ttid != doc["team_type_id"]:
                self._check_type_takes(race_id, types[ttid], doc)
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
            for p in self._team_members(race_id, doc["team_id"]):
                self._apply_team(p, doc, types)
                p["last_modified"] = now
                self.db.execute("UPDATE participants SET doc=?, last_modified=? WHERE registration_id=?",
                                (orjson.dumps(p), now, p["registration_id"]))
        return doc["team_id"]

    def _check_type_takes(self, race_id: int, tt: dict, team: dict) -> None:
        """A team (new, or changing its type) may be of type ``tt``: the race has fewer than its
        max_num_teams, and an existing team's members fit its max_members and valid_event_ids."""
        cap = tt.get("max_num_teams")
        n = self.db.execute("SELECT count(*) FROM teams WHERE race_id=? AND team_type_id=?",
                            (race_id, tt["team_type_id"])).fetchone()[0]
        if cap is not None and n >= cap:
            raise RowError(f"race {race_id} already has {n} teams of {_type_name(tt)}, its max_num_teams")
        if team["team_id"] is None:
            return
        members = self._team_members(race_id, team["team_id"])
        if tt.get("max_members") is not None and len(members) > tt["max_members"]:
            raise RowError(f"the team cannot change type: it has {len(members)} members and {_type_name(tt)} "
                           f"allows {tt['max_members']}")
        for p in members:
            why = _event_refused(tt, p["event_id"])
            if why:
                raise RowError(f"the team cannot change type: {why} (member registration {p['registration_id']})")

    def _check_can_join(self, race_id: int, team: dict, tt: dict, event_id: int) -> None:
        """A runner in ``event_id`` may join ``team`` (of type ``tt``): the event is one the type takes,
        and the team has fewer than max_members."""
        name = f"team {team['team_id']} ({team['team_name']})"
        why = _event_refused(tt, event_id)
        if why:
            raise RowError(f"cannot join {name}: {why}")
        cap = tt.get("max_members")
        if cap is not None and len(self._team_members(race_id, team["team_id"])) >= cap:
            raise RowError(f"cannot join {name}: it is full ({_type_name(tt)} allows {cap} members)")

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
                "types": self._types(race_id),
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

        # The field table marks registration_id required ("If blank, a new participant will be created"),
        # and the example creates with "registration_id": "": a row without the key creates nothing.
        if "registration_id" not in row:
            raise RowError("registration_id is required (blank creates a participant)")
        reg_raw = row.get("registration_id")
        creating = _blank(reg_raw)
        if creating:
            p = _seed.blank_participant()
            old = None
        else:
            p = self._live_participant(race_id, _as_int(reg_raw, "registration_id"))
            old = orjson.dumps(p)
            # The document is silent on an update naming another event: documented applies the other fields
            # and leaves the event (moving is switch_participant_events' job); strict refuses the row.
            if p["event_id"] != event_id and self.srv.strict:
                raise RowError(f"the registration is in event {p['event_id']}, not {event_id}; "
                               "use switch_participant_events to move it")
        u = p["user"]
        prev_team = p["team_id"]
        replace = not creating and self.srv.options.update == "replace"
        if replace:
            # A server that REPLACES the record on update: the row's user and address objects are the new
            # ones, so every field the row does not send becomes blank (user_id and the profile image,
            # which no POST can send, stay).
            for k in ("middle_name", "email", "dob", "phone"):
                u[k] = None
            u["gender"] = ""
            u["address"] = {k: None for k in _seed.ADDRESS_KEYS}

        # Fields may sit inside "user" (the field table) or beside it (the example); inside wins.
        def pick(name: str) -> Any:
            if name in user:
                return user[name]
            if name in row:
                return row[name]
            return _ABSENT

        for name in ("first_name", "last_name"):   # required on every row, updates included (field table)
            v = pick(name)
            if v is _ABSENT or _blank(v):
                raise RowError(f"user.{name} is required")
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
        if v is _ABSENT and replace:
            self._apply_team(p, None, ctx["types"])
        elif v is not _ABSENT:
            if _blank(v):
                self._apply_team(p, None, ctx["types"])
            else:
                tid = _as_int(v, "team_id")
                team = ctx["teams"].get(tid)
                if team is None:
                    raise RowError(f"unknown team_id {tid}")
                if prev_team != tid:
                    self._check_can_join(race_id, team, ctx["types"].get(team["team_type_id"], {}),
                                         event_id if creating else p["event_id"])
                self._apply_team(p, team, ctx["types"])
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
        out = self._apply_rows(rows, lambda row, ctx: self._switch_one(race_id, row, ctx, now, new_id),
                               lambda: {"events": set(self.event_ids(race_id)), "types": self._types(race_id)})
        return orjson.dumps({"participants": out})

    def _switch_one(self, race_id: int, row: Any, ctx: dict, now: int, new_id: bool) -> int:
        """Switch one registration; its (possibly new) id, or RowError. A team member moves only to an
        event its team's type takes."""
        if not isinstance(row, dict):
            raise RowError("registration must be an object")
        if _blank(row.get("registration_id")):
            raise RowError("registration_id is required")
        if _blank(row.get("new_event_id")):
            raise RowError("new_event_id is required")
        reg = _as_int(row["registration_id"], "registration_id")
        ev = _as_int(row["new_event_id"], "new_event_id")
        if ev not in ctx["events"]:
            raise RowError(f"new_event_id {ev} is not an event of race {race_id}")
        p = self._live_participant(race_id, reg)
        if p["event_id"] == ev:
            return reg
        why = p["team_id"] and _event_refused(ctx["types"].get(p["team_type_id"], {}), ev)
        if why:
            raise RowError(f"it is on team {p['team_id']} ({p['team_name']}): {why}; take it off the team first")
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
            raise RowError(f"not a registration of race {race_id} (unknown or deleted)")
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
def apply_quirks(srv: Server, names: Any) -> None:
    """Switch on the named quirks (``defaults.QUIRKS``), each through the option or the fault that makes
    it (a quirk's fault answers every matching request and is never used up). At start, or through
    /_control/options (which then clears the answers built before)."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError("quirks must be a list of names")
    unknown = [n for n in names if n not in QUIRKS]
    if unknown:
        raise ValueError(f"unknown quirk {unknown[0]!r}; the quirks: {', '.join(QUIRKS)}")
    o = srv.options
    faults = {"https-redirect": Fault("POST", None, "redirect_login", status=301),
              "bom": Fault(None, None, "bom_prefix"), "php-notice": Fault(None, None, "php_notice"),
              "reversed-answers": Fault("POST", r"^/rest/race/", "reverse_after")}
    for name in names:   # (again: the option is set again, the fault is not added twice)
        if name == "loose-typing":
            o.typing = "loose"
        elif name in ("paging", "page-cap"):
            o.paging = True
            o.page_cap = 100 if name == "page-cap" else o.page_cap
        elif name == "race-events":
            o.race_events = True
        elif name == "replace-updates":
            o.update = "replace"
        elif name == "new-id-switch":
            o.switch_new_id = True
        elif name == "message-errors":
            o.error_style, o.error_status = "message", 200
        elif name == "403-key":
            o.key_403 = True
        elif name == "inclusive-since":
            o.since_inclusive = True
        elif name == "rows-in-event":
            o.rows_in_event = True
        elif name not in srv.quirks:
            with srv.state_lock:
                srv.quirk_faults.append(faults[name])
        if name not in srv.quirks:
            srv.quirks.append(name)


@dataclass
class ServerHandle:
    url: str
    root: str
    email: str
    password: str
    race_id: int
    behave: str = "documented"
    test_controls: bool = False
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


def is_loopback(host: str) -> bool:
    """Whether a server listening on ``host`` is reachable from this machine only: 127.0.0.0/8, ::1 or
    localhost. Anything else ("", 0.0.0.0, a name, a LAN address) counts as reachable from the network."""
    h = host.strip().strip("[]").lower()
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def serve_password(host: str, password: str | None) -> tuple[str, bool]:
    """The password for a server on ``host`` and whether it was generated: the one given, else the
    well-known DEFAULT_PASSWORD on loopback, else (reachable from the network) a random one."""
    if password:
        return password, False
    if is_loopback(host):
        return DEFAULT_PASSWORD, False
    return secrets.token_urlsafe(12), True


def _make(host: str, port: int, db: str | None, participants: int, seed: int, email: str, password: str,
          verbose: bool, behave: str, test_controls: bool,
          quirks: Any = ()) -> tuple[Server, Callable[[], None] | None]:
    if behave not in BEHAVIOURS:
        raise ValueError(f"behave must be one of {', '.join(BEHAVIOURS)}, not {behave!r}")
    if password == DEFAULT_PASSWORD and not is_loopback(host):
        raise ValueError(f"{host or 'every address'} is reachable from the network: give a password other than "
                         "the public default")
    cleanup = None
    if db is None:
        tmpdir = tempfile.mkdtemp(prefix="timersync-serve-")
        db = os.path.join(tmpdir, "raceentry.sqlite")

        def cleanup() -> None:
            import shutil
            shutil.rmtree(tmpdir, ignore_errors=True)
    store = Store(db, participants, seed)
    try:
        srv = Server((host, port), store, email, password, verbose=verbose, behave=behave,
                     test_controls=test_controls)
        try:
            apply_quirks(srv, list(quirks))
        except BaseException:
            srv.server_close()
            raise
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
                        race_id=srv.store.main_race_id, behave="strict" if srv.strict else "documented",
                        test_controls=srv.test_controls, _server=srv)


def start_background(db: str | None = None, participants: int = 200, seed: int = 1, host: str = "127.0.0.1",
                     port: int = 0, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD,
                     verbose: bool = False, behave: str = "documented", test_controls: bool = False,
                     quirks: Any = ()) -> ServerHandle:
    """Start the server in a daemon thread; port 0 picks a free port; db None uses a temp file (deleted
    on stop). An existing, already-seeded db is reused as is (participants/seed are then ignored).
    ``behave``: "documented" or "strict" (see the module docstring); ``test_controls`` opens /_control;
    ``quirks``: names of ``defaults.QUIRKS`` switched on (see :func:`apply_quirks`)."""
    srv, cleanup = _make(host, port, db, participants, seed, email, password, verbose, behave, test_controls,
                         quirks)
    handle = _handle(srv, host)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name="raceentry-server")
    t.start()
    handle._thread = t
    handle._cleanup = cleanup
    return handle


def serve_forever(host: str = "127.0.0.1", port: int = 8765, db: str | None = None, participants: int = 200,
                  seed: int = 1, email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD,
                  on_ready: Callable[[ServerHandle], None] | None = None, verbose: bool = False,
                  behave: str = "documented", test_controls: bool = False, quirks: Any = ()) -> None:
    """Serve in the foreground until Ctrl-C (KeyboardInterrupt), then close cleanly."""
    srv, cleanup = _make(host, port, db, participants, seed, email, password, verbose, behave, test_controls,
                         quirks)
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
