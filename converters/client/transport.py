"""HTTP to RaceEntry: one account at one base URL, whatever the endpoint.

Every response is checked for an error envelope (RaceEntry can answer errors with HTTP 200) and validated
against ``schemas/``; every request body is validated before it is sent. GETs are retried on connection
errors, 429 and 502-504 with capped backoff honouring Retry-After. POSTs are never blindly re-sent: a lost
answer raises :class:`ResponseLost` so the caller reads back what landed. A POST answered with a move is
repeated at the new address (same host only); a refused key is renewed by logging in again once. The
endpoints themselves are :class:`converters.client.RaceEntryClient`'s.
"""

from __future__ import annotations

import logging
import re
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

import orjson
import requests

from .. import progress as _progress
from ..model import schemas, wire
from .. import state
from ..model import gc_paused
from ..errors import AnsweredError, ApiError, AuthError, ConnectionFailed, ResponseLost
from ..redact import redact, remember_secret

LOG = logging.getLogger("timersync.client")

DEMO_URL = "https://demo.raceentry.com/rest"
PRODUCTION_URL = "https://www.raceentry.com/rest"
EXPIRED = 102
RETRY_STATUS = {429, 502, 503, 504}
MOVED_STATUS = {301, 302, 307, 308}  # a POST answered so was not processed: repeated at the new address
# Answers decoded by a typed decoder (converters.model.wire), which checks them against the same contract as
# their schema in the same pass; Transport.get hands these back as bytes.
TYPED = {"participants.response"}


def error_in(body: Any) -> tuple[str, int | None] | None:
    """(message, code) when ``body`` is an error envelope, in either style RaceEntry may use."""
    if not isinstance(body, dict):
        return None
    err = body.get("error")
    if err:
        if isinstance(err, dict):
            code = err.get("error_code", err.get("code"))
            msg = err.get("error_msg") or err.get("message") or "unknown error"
            try:
                code = int(code) if code is not None else None
            except (TypeError, ValueError):
                code = None
            return str(msg), code
        return str(err), None
    # Older RaceEntry API: {"message": "..."} alone, often with HTTP 200.
    if "message" in body and set(body) <= {"message", "status", "code", "error_code"}:
        code = body.get("code", body.get("error_code"))
        return str(body["message"]), int(code) if isinstance(code, int) else None
    return None


class Transport:
    """One RaceEntry account at one base URL: credentials (kept, and renewed once when refused), GET with
    retries, POST never blindly re-sent, every answer decoded and checked.
    :class:`converters.client.RaceEntryClient` adds the endpoints."""

    def __init__(self, base_url: str, email: str | None = None, password: str | None = None,
                 timeout: float = 60.0, max_attempts: int = 5, max_backoff: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.email = email or os.environ.get("RACEENTRY_EMAIL") or None
        self.password = password or os.environ.get("RACEENTRY_PASSWORD") or None
        remember_secret(self.password)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "timersync"
        # Big answers (a 50,000-runner race is 55 MB of JSON) come gzipped when asked; requests unpacks them.
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        self._creds: dict[str, Any] | None = None
        self._server_clock: tuple[float, float] | None = None  # (server's Date, local monotonic) of the last answer
        self._moves = 0  # redirects of POSTs followed (a loop stops at 3)
        # Reads may run side by side (:meth:`together`): the key is fetched, and renewed, by one at a time.
        self._auth = threading.RLock()

    # ------------------------------------------------------------------------------------ credentials
    def login(self, email: str | None = None, password: str | None = None) -> dict[str, Any]:
        """POST {base}/login; caches the key/secret (never the password). Never retried on rejection."""
        email = email or self.email
        password = password or self.password
        if not email or not password:
            raise AuthError("email and password are needed to log in: run `timersync login` or set "
                            "RACEENTRY_EMAIL and RACEENTRY_PASSWORD")
        remember_secret(password)
        while True:
            # Redirects are followed here, not by requests: it would repeat a redirected POST as a GET
            # without its body (http -> https moves answer 301/302).
            try:
                resp = self.session.post(f"{self.base_url}/login", data={"email": email, "password": password},
                                         timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                raise ConnectionFailed(f"cannot reach RaceEntry at {self.base_url} ({_reason(exc)})") from None
            if not self._follow_move(resp, "login", "login"):
                break
        body = self._decode(resp, "login")
        problem = error_in(body)
        if problem or resp.status_code >= 400:
            msg = problem[0] if problem else f"HTTP {resp.status_code}"
            raise AuthError(f"login rejected for {email}: {msg} (not retried, to avoid locking the account)",
                            code=problem[1] if problem else None, status=resp.status_code)
        schemas.validate("login.response", body, "login response")
        remember_secret(body["tmp_key"])
        remember_secret(body["tmp_secret"])
        state.save_credentials(self.base_url, body["tmp_key"], body["tmp_secret"], email)
        self.email, self.password = email, password
        self._creds = {"tmp_key": body["tmp_key"], "tmp_secret": body["tmp_secret"]}
        LOG.info("logged in to %s as %s", self.base_url, email)
        return body

    def _remembered(self) -> bool:
        """Take the email and password `login --remember` kept in the system's credential store, if any."""
        if self.email and self.password:
            return True
        kept = state.remembered_login(self.base_url)
        if kept is None or (self.email and self.email.casefold() != kept[0].casefold()):
            return False
        self.email, self.password = kept
        return True

    def _credentials(self) -> dict[str, Any]:
        with self._auth:
            return self._current_credentials()

    def _current_credentials(self) -> dict[str, Any]:
        if self._creds is None:
            self._creds = state.load_credentials(self.base_url)
        if self._creds is None:
            if self._remembered():
                self.login()
            else:
                raise AuthError(f"not logged in to {self.base_url} (or the login is over 24 hours old): "
                                f"run `timersync login`")
        assert self._creds is not None
        return {"tmp_key": self._creds["tmp_key"], "tmp_secret": self._creds["tmp_secret"]}

    def _relogin_or_raise(self, message: str, used: str | None = None) -> None:
        """Log in again after RaceEntry refused the key ``used``; when a read running beside this one
        already did (the key is another now), the request is just repeated with the new key."""
        with self._auth:
            if used is not None and self._creds is not None and self._creds.get("tmp_key") != used:
                return
            self._relogin(message)

    def _relogin(self, message: str) -> None:
        state.forget_credentials(self.base_url)
        self._creds = None
        if not self._remembered():
            raise AuthError(f"RaceEntry says the login has expired ({message}): run `timersync login` again "
                            f"(a later login elsewhere with the same account also ends this one)", code=EXPIRED)
        LOG.info("credentials expired; logging in again once")
        self.login()

    # ----------------------------------------------------------------------------------------- HTTP
    def _note_time(self, resp: requests.Response) -> None:
        """Remember the server's clock (its Date header): incremental reads must be asked in the server's
        time, never the laptop's."""
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(resp.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return
        self._server_clock = (when, time.monotonic())

    def server_now(self) -> float | None:
        """The server's time now, from the Date of its last answer (whole seconds, so up to a second
        early), or None before any answer carried one."""
        if self._server_clock is None:
            return None
        when, at = self._server_clock
        return when + (time.monotonic() - at)

    def _decode(self, resp: requests.Response, what: str) -> Any:
        content = self._json_part(resp, what)
        try:
            with gc_paused():
                return orjson.loads(content)
        except orjson.JSONDecodeError:
            if resp.status_code == 401:
                return None  # "401 Unauthorized" as text: an auth problem, handled as such
            if resp.status_code == 403 and not _is_html(resp) and _KEY_WORDS.search(_text(resp)):
                return None  # "403 Forbidden: invalid key" as text: the same
            raise ApiError(f"{what}: {_not_json(resp)}", status=resp.status_code) from None

    def _json_part(self, resp: requests.Response, what: str) -> bytes:
        """The answer's bytes from its JSON on: a byte-order mark, or a short text a server printed before
        it (a PHP notice: ``<br />\n<b>Notice</b>: ...``), is skipped with a warning (once per run).
        Whitespace alone is valid JSON and passes as it is. Anything else comes back unchanged (and fails
        to decode, with its own message)."""
        content = resp.content
        if content[:4096].lstrip()[:1] in (b"{", b"["):
            return content
        if content.startswith(b"\xef\xbb\xbf") and content[3:4096].lstrip()[:1] in (b"{", b"["):
            _warn_once("bom", f"RaceEntry's answer ({what}) starts with a byte-order mark before its JSON: "
                              f"skipped (nothing to do)")
            return content[3:]
        for tries, m in enumerate(re.finditer(rb"[\[{]", content[:4096])):
            if tries >= 8:
                break
            try:
                orjson.loads(content[m.start():])
            except orjson.JSONDecodeError:
                continue
            shown = _squeeze(content[:m.start()].decode("utf-8", "replace"))
            _warn_once("prefix", f"RaceEntry's answer ({what}) starts with text before its JSON ({shown!r}): "
                                 f"skipped; if answers go wrong, tell RaceEntry's support")
            return content[m.start():]
        return content

    def _follow_move(self, resp: requests.Response, path: str, what: str) -> bool:
        """For a POST answered 301/302/307/308 (a move, answered before anything is processed): True
        after switching to the same API at its new address (the answer's Location, ending in ``path``),
        where the caller repeats the POST with its body. Only within the same host (http -> https, another
        port or path); never from https down to http off this machine."""
        if resp.status_code not in MOVED_STATUS or not resp.headers.get("Location"):
            return False
        target = urljoin(resp.url, resp.headers["Location"])
        new, old = urlsplit(target), urlsplit(self.base_url)
        new_path = new.path.rstrip("/")
        shown = redact(urlunsplit((new.scheme, new.netloc, new.path, "", "")))
        if not new_path.endswith("/" + path):
            raise ApiError(f"{what}: RaceEntry at {self.base_url} answers HTTP {resp.status_code} pointing to "
                           f"{shown}, not to its API elsewhere; check the API URL (it ends in /rest)",
                           status=resp.status_code)
        base = urlunsplit((new.scheme, new.netloc, new_path[: -len(path) - 1], "", ""))
        host = (new.hostname or "").lower().removeprefix("www.")
        if host != (old.hostname or "").lower().removeprefix("www.") or (
                old.scheme == "https" and new.scheme != "https" and not _loopback(new.hostname or "")):
            raise ApiError(f"{what}: RaceEntry at {self.base_url} sends the request on to {base} (HTTP "
                           f"{resp.status_code}); not followed, so nothing (no password) goes there. If that "
                           f"is RaceEntry's address, use --api-url {base}", status=resp.status_code)
        self._moves += 1
        if self._moves > 3:
            raise ApiError(f"{what}: RaceEntry's address keeps moving ({self.base_url} -> {base}); check the "
                           f"API URL", status=resp.status_code)
        _warn_once(f"moved {self.base_url}", f"RaceEntry moved from {self.base_url} to {base} (HTTP "
                                             f"{resp.status_code}): continued there; use {base} from now on "
                                             f"(timersync login --api-url {base})")
        self.base_url = base
        return True

    def _must_retry_after_relogin(self, resp: requests.Response, body: Any, what: str, relogged: bool,
                                  used: str | None = None) -> bool:
        """Raise for an error answer (an envelope, even with HTTP 200, or an HTTP error); when the key is
        refused (error 102, HTTP 401, or an error text about the key: the document does not say how an
        expired key is answered) log in again once and say the request should be repeated."""
        problem = error_in(body)
        if problem is None and resp.status_code == 401:
            problem = (f"HTTP 401 {resp.reason or 'Unauthorized'}".strip(), None)
        if problem is None and resp.status_code == 403 and body is None:  # a text about the key (see _decode)
            problem = (f"HTTP 403 {_squeeze(_text(resp))}", None)
        if problem:
            msg, code = problem
            if _key_refused(msg, code, resp.status_code):
                if not relogged:
                    self._relogin_or_raise(msg, used)
                    return True
                raise AuthError(f"{what}: the login was refused again right after logging in ({msg})", code=code)
            raise ApiError(f"{what}: RaceEntry says: {msg}", code=code, status=resp.status_code)
        if resp.status_code >= 400:
            raise ApiError(f"{what}: RaceEntry answered {_status(resp)}", status=resp.status_code)
        return False

    def _backoff(self, attempt: int, resp: requests.Response | None) -> float:
        delay = min(self.max_backoff, 0.5 * (2 ** attempt))
        if resp is not None and resp.headers.get("Retry-After"):
            try:
                delay = min(60.0, max(0.0, float(resp.headers["Retry-After"])))
            except ValueError:
                pass
        return delay

    def get(self, path: str, params: dict[str, Any] | None = None, what: str | None = None,
            schema: str | None = None) -> Any:
        """GET with retries; returns the decoded, error-checked, schema-validated body. An answer whose
        schema has a typed decoder (:data:`TYPED`) and that is a JSON array (so not an error envelope)
        comes back as its bytes, for that decoder to check and build in one pass."""
        what = what or f"GET {path}"
        relogged = False
        attempt = 0
        while True:
            query = dict(params or {})
            query.update(self._credentials())
            used = query["tmp_key"]
            resp = None
            try:
                resp = self.session.get(f"{self.base_url}/{path}", params=query, timeout=self.timeout)
            except requests.RequestException as exc:
                reason = _reason(exc)
                if attempt + 1 >= self.max_attempts:
                    raise ConnectionFailed(f"{what}: cannot reach RaceEntry at {self.base_url} ({reason}) "
                                           f"after {attempt + 1} attempts") from None
                LOG.warning("%s: %s; retrying", what, reason)
            else:
                LOG.debug("GET %s -> %s (%d bytes)", redact(resp.url), resp.status_code, len(resp.content))
                self._note_time(resp)
                if resp.status_code in RETRY_STATUS:
                    if attempt + 1 >= self.max_attempts:
                        raise ApiError(f"{what}: RaceEntry is busy or unavailable ({_status(resp, inside=True)}) "
                                       f"after {attempt + 1} attempts; try again later", status=resp.status_code)
                    LOG.warning("%s: HTTP %s; retrying", what, resp.status_code)
                else:
                    content = self._json_part(resp, what) if schema in TYPED and resp.status_code < 400 else b""
                    if content[:64].lstrip()[:1] == b"[":
                        return content  # an array is never an error envelope: the typed decoder checks it
                    body = self._decode(resp, what)
                    if self._must_retry_after_relogin(resp, body, what, relogged, used):
                        relogged = True
                        continue
                    if schema in wire.ANSWERS:
                        wire.check(body, wire.ANSWERS[schema], what)
                    elif schema:
                        schemas.validate(schema, body, what)
                    return body
            delay = self._backoff(attempt, resp)
            _progress.say(f"{what}: no answer yet; trying again in {delay:.0f} s (attempt {attempt + 2} of "
                          f"{self.max_attempts})", force=True)
            self.sleep(delay)
            attempt += 1

    def post(self, path: str, body: dict[str, Any], request_schema: str, response_schema: str,
             what: str | None = None) -> Any:
        """POST the form field ``request`` holding the JSON. Never blindly re-sent: if the answer is lost
        (dropped connection, timeout, 5xx) :class:`ResponseLost` says the request may have been applied.
        A 429 or a connection that was refused before anything was sent is safe to repeat, and is."""
        what = what or f"POST {path}"
        schemas.validate(request_schema, body, f"{what} request")
        payload = {"request": orjson.dumps(body).decode()}
        relogged = False
        attempt = 0
        while True:
            resp = None
            try:
                resp = self.session.post(f"{self.base_url}/{path}", params=self._credentials(), data=payload,
                                         timeout=self.timeout, allow_redirects=False)
            except requests.ConnectionError as exc:
                if _never_sent(exc) and attempt + 1 < self.max_attempts:
                    LOG.warning("%s: %s before sending; retrying", what, _reason(exc))
                    self.sleep(self._backoff(attempt, None))
                    attempt += 1
                    continue
                if _never_sent(exc):
                    raise ConnectionFailed(f"{what}: cannot reach RaceEntry at {self.base_url} ({_reason(exc)})") from None
                raise ResponseLost(f"{what}: the connection dropped after sending ({_reason(exc)}); "
                                   f"the change may or may not have been applied") from None
            except requests.Timeout:
                raise ResponseLost(f"{what}: no answer within {self.timeout:.0f} s; the change may or may not "
                                   f"have been applied") from None
            except requests.RequestException as exc:
                raise ResponseLost(f"{what}: {_reason(exc)}; the change may or may not have been applied") from None
            LOG.debug("POST %s -> %s", redact(resp.url), resp.status_code)
            self._note_time(resp)
            if self._follow_move(resp, path, what):
                continue  # a move is answered before anything is processed: repeated at the new address
            if resp.status_code == 429 and attempt + 1 < self.max_attempts:
                # A 429 is a refusal before processing: repeating it cannot duplicate anything.
                self.sleep(self._backoff(attempt, resp))
                attempt += 1
                continue
            if resp.status_code >= 500:
                raise ResponseLost(f"{what}: RaceEntry answered {_status(resp)}; the change may or may "
                                   f"not have been applied", status=resp.status_code)
            data = self._decode(resp, what)
            # Expired credentials: log in again, but never re-send blindly. The document does not say that
            # a key is checked before anything is applied; the caller reads back what landed first. When
            # logging in again is not possible (no password at hand), the batch is just as doubtful.
            try:
                relogin = self._must_retry_after_relogin(resp, data, what, relogged)
            except (AuthError, ConnectionFailed) as exc:
                raise AnsweredError(f"{what}: RaceEntry said the login had expired after the request was sent, "
                                    f"and logging in again failed ({exc}); the change may or may not have been "
                                    f"applied", code=EXPIRED, status=resp.status_code, login_needed=True) from None
            if relogin:
                raise AnsweredError(f"{what}: RaceEntry said the login had expired (logged in again); the "
                                    f"change may or may not have been applied", code=EXPIRED,
                                    status=resp.status_code)
            schemas.validate(response_schema, data, f"{what} response")
            return data

    def together(self, *calls: Callable[[], Any]) -> list[Any]:
        """Run ``calls`` (reads of this client) side by side and return their results in order: over a
        venue's link each read costs a round trip of waiting, and reads that do not depend on each other
        need not wait for each other. The first call's error (in order) is raised, once all have ended."""
        if len(calls) < 2:
            return [call() for call in calls]
        with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="raceentry") as pool:
            futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


_KEY_WORDS = re.compile(r"tmp_key|tmp_secret|\bkey\b|secret|expired|log ?in|token|unauthori[sz]ed|credential",
                        re.IGNORECASE)


def _key_refused(msg: str, code: int | None, status: int) -> bool:
    """The answer says the key/secret pair is no good: 102, HTTP 401, or an auth error text."""
    if code == EXPIRED or status == 401:
        return True
    if status == 403:  # "forbidden" about the key (not about the race or the account's rights)
        return bool(_KEY_WORDS.search(msg))
    return code in (None, 100, 103) and bool(_KEY_WORDS.search(msg))


def _never_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection failed before the request left (refused, DNS): safe to repeat."""
    text = repr(exc)
    return "NewConnectionError" in text or "NameResolutionError" in text or "Connection refused" in text


def _reason(exc: BaseException) -> str:
    text = repr(exc)
    for needle, reason in (("Connection refused", "connection refused"), ("NameResolution", "host not found"),
                           ("RemoteDisconnected", "connection closed without an answer"),
                           ("ConnectionResetError", "connection reset"), ("ReadTimeout", "timed out"),
                           ("ConnectTimeout", "connect timed out")):
        if needle in text:
            return reason
    return redact(type(exc).__name__)


_WARNED: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    """A warning about RaceEntry's answers, shown once per run (stderr, one line) and logged."""
    if key in _WARNED:
        return
    _WARNED.add(key)
    LOG.warning("%s", message)
    try:
        print(f"warning: {redact(message)}", file=sys.stderr)
    except (OSError, ValueError):
        pass


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _squeeze(text: str, width: int = 100) -> str:
    """Text without tags and runs of whitespace, cut to ``width``."""
    text = re.sub(r"<(?:br|p|div|hr)\b[^>]*>", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", "", text)).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def _text(resp: requests.Response) -> str:
    return resp.content[:4096].decode("utf-8", "replace")


def _is_html(resp: requests.Response) -> bool:
    return ("html" in resp.headers.get("Content-Type", "").lower()
            or resp.content[:512].lstrip()[:1] == b"<" and b"<html" in resp.content[:4096].lower())


def _title(resp: requests.Response) -> str:
    """An HTML page's title (else its first heading), in a line."""
    text = _text(resp)
    for tag in ("title", "h1"):
        m = re.search(rf"<{tag}[^>]*>(.*?)</{tag}>", text, re.IGNORECASE | re.DOTALL)
        if m and _squeeze(m.group(1)):
            return _squeeze(m.group(1), 80)
    return ""


def _status(resp: requests.Response, inside: bool = False) -> str:
    """``HTTP 503 'Service Unavailable' (an HTML page)``: the status, and an HTML error page's title
    (``inside``: ``HTTP 503 'Service Unavailable', an HTML page``, for inside parentheses)."""
    if not _is_html(resp):
        return f"HTTP {resp.status_code}"
    title = _title(resp) or resp.reason or ""
    title = re.sub(rf"^{resp.status_code}\s+", "", title)
    head = f"HTTP {resp.status_code} {title!r}" if title else f"HTTP {resp.status_code}"
    return f"{head}, an HTML page" if inside else f"{head} (an HTML page)"


_ERROR_WORDS = re.compile(r"error|maintenance|unavailable|\bdown\b|busy|try again|time-?out|gateway|forbidden|"
                          r"denied|overload|not available", re.IGNORECASE)


def _not_json(resp: requests.Response) -> str:
    """What an answer that is not JSON is, in a line, and what to do. "Is the API URL right?" only where
    it looks like the wrong URL: a 404, or a page that is no error page."""
    status = resp.status_code
    wrong_url = "is the API URL right? It ends in /rest, like " + PRODUCTION_URL
    if _is_html(resp):
        title = _title(resp)
        if status == 404:
            return f"RaceEntry answered {_status(resp)}: {wrong_url}"
        if status >= 500:
            return f"RaceEntry answered {_status(resp)}: RaceEntry (or a server in front of it) is failing; try again later"
        if status >= 400:
            return f"RaceEntry answered {_status(resp)}"
        if title and _ERROR_WORDS.search(title + " " + _squeeze(_text(resp), 400)):
            return (f"RaceEntry answered an error page {title!r} instead of JSON (HTTP {status}, an HTML page); "
                    f"try again later")
        return (f"RaceEntry answered a web page{f' {title!r}' if title else ''} instead of JSON (HTTP {status}): "
                f"{wrong_url}")
    if status == 404:
        return f"RaceEntry answered HTTP 404 {resp.reason or ''}".rstrip() + f": {wrong_url}"
    if status >= 400:
        return f"RaceEntry answered HTTP {status} {resp.reason or ''}".rstrip()
    kind = resp.headers.get("Content-Type", "unknown type").split(";")[0]
    return f"RaceEntry answered with something that is not JSON ({kind}, {len(resp.content)} bytes); {wrong_url}"
