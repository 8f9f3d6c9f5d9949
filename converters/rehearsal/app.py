"""A RaceEntry-compatible rehearsal server (stdlib http.server + sqlite3 + orjson): starting and stopping it.

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
``403_key``, ``html_error``: see ``faults.transport_fault``), options (``switch_new_id``, ``update``, ``error_style``,
``error_status``, ``verbose``, ``typing``: ``"loose"`` sends other plausible typings, ``page_cap``,
``truncate_to``, ``gzip``, ``paging``, ``race_events``, ``key_403``, ``since_inclusive``, ``rows_in_event``,
``quirks``), requests,
expire_credentials; see ``controls``. Answers over 1 KB are gzipped when the client accepts it
(option ``gzip``).

Quirks (``defaults.QUIRKS``; ``timersync serve --quirk NAME``, ``start_background(quirks=...)``,
``/_control/options {"quirks": [...]}``) name these options and faults, each a behaviour a real RaceEntry
plausibly has, so users can rehearse it on its own (:func:`controls.apply_quirks`).
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .auth import is_loopback
from .controls import apply_quirks
from .defaults import BEHAVIOURS, DEFAULT_EMAIL, DEFAULT_PASSWORD
from .handler import Handler
from .state import Server
from .store import Store


@dataclass
class ServerHandle:
    """A started server: where it answers (``url``, the /rest base; ``root``), its account and race; stop
    it with ``stop()`` or by leaving its ``with`` block."""
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
        """Stop serving, close the store and delete a temporary database (again: nothing)."""
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
        srv = Server((host, port), Handler, store, email, password, verbose=verbose, behave=behave,
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
