"""Credentials: the one account's login, the key pairs it is issued (a new login invalidates the last,
pairs expire after a day), the check of every request's pair, and keeping secrets out of logs and off
the network (``redact``, ``is_loopback``, ``serve_password``)."""

from __future__ import annotations

import ipaddress
import re
import secrets
import threading

import orjson

from .bodies import body_fields
from .defaults import DEFAULT_PASSWORD
from .protocol import (CREDENTIAL_TTL, ERR_BAD_AUTH, ERR_EXPIRED, ERR_LOGIN, ERR_MISSING_AUTH, MAX_KEPT_KEYS,
                       ApiError)

_SECRET_RE = re.compile(r"((?:^|[?&;])(?:tmp_key|tmp_secret|password)=)[^&;#]*", re.I)


def redact(text: str) -> str:
    """Replace tmp_key / tmp_secret / password values in a URL or query string with ***."""
    return _SECRET_RE.sub(r"\1***", text or "")


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


class Credentials:
    """The account (``email``/``password``) and the key pairs issued to it: key -> [secret, issued_at,
    valid]. Only the last MAX_KEPT_KEYS pairs are remembered, so a server left running stays small."""

    def __init__(self, email: str, password: str) -> None:
        self.email = email
        self.password = password
        self.pairs: dict[str, list] = {}
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.pairs)

    def login(self, query: dict, ctype: str, raw: bytes, now: int) -> bytes:
        """POST login: the email and password from the query or the body (form, multipart or JSON) give
        a new key pair, and every earlier pair stops working; ApiError 101 for a wrong pair."""
        fields = dict(query)
        fields.update((k, v) for k, v in body_fields(ctype, raw).items() if isinstance(v, str))
        email = (fields.get("email") or "").strip()
        password = fields.get("password") or ""
        if email.lower() != self.email.lower() or password != self.password:
            raise ApiError(ERR_LOGIN, "Invalid email or password")
        key, secret = secrets.token_hex(16), secrets.token_hex(20)
        with self.lock:
            for c in self.pairs.values():   # a later login invalidates the earlier pair
                c[2] = False
            self.pairs[key] = [secret, now, True]
            while len(self.pairs) > MAX_KEPT_KEYS:   # the oldest invalidated pairs are forgotten (then 103)
                del self.pairs[next(iter(self.pairs))]
        return orjson.dumps({"tmp_key": key, "tmp_secret": secret, "user": {"user": {
            "user_id": 1, "first_name": "Tina", "last_name": "Timer", "email": self.email}}})

    def check(self, query: dict, now: int) -> None:
        """A request's tmp_key/tmp_secret: ApiError 100 (missing), 103 (unknown) or 102 (invalidated by a
        later login, or older than CREDENTIAL_TTL at ``now``)."""
        key, secret = query.get("tmp_key"), query.get("tmp_secret")
        if not key or not secret:
            raise ApiError(ERR_MISSING_AUTH, "Missing tmp_key or tmp_secret")
        with self.lock:
            c = self.pairs.get(key)
            if c is None or not secrets.compare_digest(c[0], secret):
                raise ApiError(ERR_BAD_AUTH, "Invalid tmp_key or tmp_secret")
            if not c[2] or now >= c[1] + CREDENTIAL_TTL:
                raise ApiError(ERR_EXPIRED, "Expired credentials. Please log in again.")

    def expire_all(self) -> None:
        """Invalidate every pair issued (test control expire_credentials)."""
        with self.lock:
            for c in self.pairs.values():
                c[2] = False
