"""A running rehearsal server and what it holds between requests: the listening socket, the store, the
server clock, the behaviour's options, the faults waiting, the credentials and the request log."""

from __future__ import annotations

import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from .auth import Credentials
from .behaviours import Fault, Options, error_answer
from .store import Store


class Clock:
    """Server time: real time, or frozen / shifted through /_control/clock."""

    def __init__(self) -> None:
        self.frozen: float | None = None
        self.offset = 0.0
        self.lock = threading.Lock()

    def now(self) -> int:
        """The server's time now, in Unix seconds."""
        with self.lock:
            return int(self.frozen if self.frozen is not None else time.time() + self.offset)

    def set(self, now: float | None) -> None:
        """Freeze the clock at ``now``; None: back to real time."""
        with self.lock:
            self.frozen = None if now is None else float(now)
            if now is None:
                self.offset = 0.0

    def advance(self, seconds: float) -> None:
        """Move the clock on (frozen or not)."""
        with self.lock:
            if self.frozen is not None:
                self.frozen += float(seconds)
            else:
                self.offset += float(seconds)


class Server(ThreadingHTTPServer):
    """The HTTP server (a thread per connection, answered by ``handler``) and the rehearsal's state."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: Any, handler: Any, store: Store, email: str, password: str, verbose: bool = False,
                 behave: str = "documented", test_controls: bool = False):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, handler)
        self.store = store
        self.email = email
        self.password = password
        self.strict = behave == "strict"
        self.test_controls = test_controls
        self.clock = Clock()
        self.options = Options(switch_new_id=self.strict, update="replace" if self.strict else "merge",
                               verbose=verbose)
        self.faults: list[Fault] = []
        self.gzip_memo: tuple[bytes, bytes] | None = None   # (an answer, its gzip): see handler.Handler.gzip
        self.quirk_faults: list[Fault] = []   # faults a quirk keeps on: every matching request, never used up
        self.quirks: list[str] = []
        self.requests_log: list[dict] = []
        self.state_lock = threading.Lock()
        self.creds = Credentials(email, password)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet unless verbose: clients hanging up mid-response (timeouts, dropped-connection tests) are
        normal here."""
        if self.options.verbose:
            super().handle_error(request, client_address)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any: a test's (used up by ``count``) before a quirk's (kept)."""
        with self.state_lock:
            for i, f in enumerate(self.faults):
                if f.matches(method, path):
                    f.count -= 1
                    if f.count <= 0:
                        del self.faults[i]
                    return f
            return next((f for f in self.quirk_faults if f.matches(method, path)), None)
        return None

    def error(self, code: int, msg: str, status: int | None = None) -> tuple[int, bytes]:
        """The error answer of this server's behaviour (behaviours.error_answer)."""
        return error_answer(self.options, self.strict, code, msg, status)
