"""The HTTP side of the rehearsal server: reads each request (refusing bodies it will not read), sends
test controls to ``controls``, lets a waiting fault act (``faults``), answers the rest through
``routes`` in the behaviour's error envelope, logs without secrets and gzips large answers."""

from __future__ import annotations

import socket
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

from . import controls, faults
from .auth import redact
from .behaviours import Fault
from .protocol import ERR_BAD_REQUEST, ERR_INJECTED, MAX_BODY, MOVED_PREFIX, ApiError
from .routes import route
from .state import Server


class Handler(BaseHTTPRequestHandler):
    """One connection's requests (HTTP/1.1, kept alive): GET, POST, DELETE and PUT all dispatch alike."""
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY the body of a small answer waits for
    # the client's delayed ACK (about 40 ms per request on Linux), which no real server makes a client pay.
    disable_nagle_algorithm = True
    server_version = "RaceEntryRehearsal/1.0"
    timeout = 120   # seconds a connection may sit idle or half-sent before it is closed (frees its thread)
    server: Server

    # logging: never the raw request line (it carries tmp_key/tmp_secret)
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Only when verbose, and with the secrets redacted."""
        if self.server.options.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), redact(format % args)))

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """Only when verbose, and with the secrets redacted."""
        if self.server.options.verbose:
            sys.stderr.write('%s - "%s %s" %s\n' % (self.address_string(), self.command,
                                                      redact(self.path), code))

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    # sending ------------------------------------------------------------------------------------------
    def send(self, status: int, body: bytes, ctype: str = "application/json",
             headers: dict | None = None) -> None:
        """Send an answer (gzipped when ``gzip`` says so)."""
        body, headers = self.gzip(body, headers)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def gzip(self, body: bytes, headers: dict | None) -> tuple[bytes, dict | None]:
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

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except Exception:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def finish_with(self, answer: faults.Answer, entry: dict) -> None:
        """Send a fault's answer (or drop the connection) and log its status."""
        entry["status"] = answer.status
        if answer.status == faults.DROPPED:
            self.drop()
        else:
            self.send(int(answer.status), answer.body, answer.ctype, answer.headers)

    # reading ------------------------------------------------------------------------------------------
    def read_body(self) -> bytes | None:
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
        status, body = self.server.error(ERR_BAD_REQUEST, msg, status)
        self.send(status, body, headers={"Connection": "close"})
        return None

    def target(self) -> tuple[str, str, dict, bool]:
        """(path without the moved prefix, raw query text, query fields (last value wins), whether it
        came to the moved address: the same API elsewhere, where redirect_login sends a login)."""
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        moved = (path + "/").startswith(MOVED_PREFIX + "/")
        if moved:   # the same API at another address (redirect_login)
            path = path[len(MOVED_PREFIX):]
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        return path, parsed.query, query, moved

    # dispatching --------------------------------------------------------------------------------------
    def dispatch(self, method: str) -> None:
        """Answer one request: a test control, else the API with the fault waiting for it (if any)."""
        path, query_text, query, moved = self.target()
        raw = self.read_body()
        if raw is None:
            return
        srv = self.server
        if srv.test_controls and (path + "/").startswith("/_control/"):
            self.send(*controls.answer(srv, method, path, raw))
            return
        fault = srv.take_fault(method, path)
        entry = self.log_entry(method, path, query_text, fault)
        host = self.headers.get("Host") or f"{srv.server_address[0]}:{srv.server_address[1]}"
        req = faults.Request(method, path, query, raw, self.headers.get("Content-Type", ""), moved, host,
                             query_text)
        if fault is not None:
            early = faults.transport_fault(srv, fault, req) or faults.before_route(srv, fault, req, entry)
            if early is not None:
                self.finish_with(early, entry)
                return
        status, body = self.routed(req)
        late = faults.after_route(srv, fault, req, status, body) if fault is not None else None
        if late is not None:
            self.finish_with(late, entry)
            return
        entry["status"] = status
        self.send(status, body)

    def log_entry(self, method: str, path: str, query_text: str, fault: Fault | None) -> dict:
        """The request's entry in the log of /_control/requests (kept only with test controls: a server
        left running keeps none); its status is filled in when answered."""
        srv = self.server
        entry = {"method": method, "path": path, "query": redact(query_text), "time": srv.clock.now(),
                 "fault": fault.kind if fault else None, "status": None}
        if srv.test_controls:   # the log is for /_control/requests; a server left running keeps none
            with srv.state_lock:
                srv.requests_log.append(entry)
        return entry

    def routed(self, req: faults.Request) -> tuple[int, bytes]:
        """(status, body) of the API's answer, a refusal in the behaviour's envelope, or a 500 for a
        server bug (answered rather than left hanging)."""
        srv = self.server
        try:
            return 200, route(srv, req.method, req.path, req.query, req.raw, req.ctype)
        except ApiError as e:
            return srv.error(e.code, e.msg, e.http_status)
        except Exception as e:  # pragma: no cover - a server bug; answer rather than hang
            if srv.options.verbose:
                import traceback
                traceback.print_exc()
            return srv.error(ERR_INJECTED, f"Internal server error: {type(e).__name__}", 500)
