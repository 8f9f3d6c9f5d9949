"""What an injected fault does to a request (``behaviours.FAULT_KINDS``): the answer it gives before
the request is routed (failures, drops, transport and envelope oddities, a gateway's 504 with the
request applied later) or after (a drop, an expired key, a short, reversed or failed answer, a field
blanked). Each step gives the handler an ``Answer`` to send, or None to carry on."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import orjson

from .behaviours import Fault
from .bodies import as_int, blank, request_object
from .protocol import ERR_EXPIRED, ERR_INJECTED, FORBIDDEN_KEY, MOVED_PREFIX, ApiError, RowError
from .routes import check, route
from .state import Server

DROPPED = "dropped"   # an Answer's status when the connection is closed without one


@dataclass
class Answer:
    """What to send instead of the usual answer (``status`` DROPPED: close the connection)."""
    status: int | str
    body: bytes = b""
    ctype: str = "application/json"
    headers: dict | None = None


@dataclass
class Request:
    """What a fault may need of the request: its method, path (under /rest), query, body and
    Content-Type; whether it came to the moved address; the Host it named and its raw query text."""
    method: str
    path: str
    query: dict
    raw: bytes
    ctype: str
    moved: bool
    host: str
    query_text: str


def transport_fault(srv: Server, fault: Fault, req: Request) -> Answer | None:
    """Transport and envelope faults; None when the fault is not one of them (or not for this request).

    ``redirect_login``: a login (or the request its ``path`` matches) answered ``status`` (301 by
    default) to the same API at another address (``MOVED_PREFIX`` + /rest on this server, as http ->
    https would move it).
    ``bom_prefix``/``php_notice``: the usual answer with a UTF-8 BOM and a newline, or a PHP notice,
    before its JSON. ``403_key``: HTTP 403 with an error about the key. ``html_error``: an HTML
    error page with ``status`` (503 by default), as a proxy in front of RaceEntry answers."""
    kind = fault.kind
    if kind == "redirect_login":   # (any request the fault matches: a login unless its path says else)
        if (not req.path.startswith("/rest/") or (fault.path is None and req.path != "/rest/login")
                or req.moved):   # (the moved address itself is never redirected)
            return None
        tail = req.query_text
        return Answer(fault.status or 301, b"<html><body>Moved</body></html>\n", "text/html",
                      {"Location": f"http://{req.host}{MOVED_PREFIX}{req.path}" + (f"?{tail}" if tail else "")})
    if kind == "403_key":
        return Answer(403, FORBIDDEN_KEY)
    if kind == "html_error":
        return html_error(fault.status or 503)
    if kind in ("bom_prefix", "php_notice"):
        try:
            body, status = route(srv, req.method, req.path, req.query, req.raw, req.ctype), 200
        except ApiError as e:
            status, body = srv.error(e.code, e.msg, e.http_status)
        prefix = (b"\xef\xbb\xbf\r\n" if kind == "bom_prefix" else
                  b"<br />\n<b>Notice</b>:  Undefined index: page in <b>/var/www/rest/index.php</b> on line "
                  b"<b>42</b><br />\n")
        return Answer(status, prefix + body)
    return None


def html_error(status: int) -> Answer:
    """An HTML error page with ``status``, as an Apache proxy in front of RaceEntry answers."""
    reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
    return Answer(status, (f"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head><body>"
                           f"<h1>{reason}</h1><p>The server is temporarily unable to service your request."
                           f"</p><hr><address>Apache</address></body></html>\n").encode(),
                  "text/html; charset=iso-8859-1")


def before_route(srv: Server, fault: Fault, req: Request, entry: dict) -> Answer | None:
    """The faults that answer before the request is routed (failures, a drop, an HTML page, an error
    envelope, a gateway's 504); ``slow`` waits ``delay`` seconds and carries on."""
    kind = fault.kind
    if kind in ("500", "503", "429"):
        headers = {}
        if kind == "429" or fault.retry_after is not None:
            headers["Retry-After"] = int(fault.retry_after if fault.retry_after is not None else 1)
        return Answer(int(kind), f"{kind} injected failure\n".encode(), "text/plain", headers)
    if kind == "drop_before":
        return Answer(DROPPED)
    if kind == "non_json":
        return Answer(200, b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>"
                           b"<h1>RaceEntry is down for maintenance</h1></body></html>\n",
                      "text/html; charset=utf-8")
    if kind == "error200":
        return Answer(200, srv.error(ERR_INJECTED, "Internal error, please try again")[1])
    if kind == "slow":
        time.sleep(max(0.0, float(fault.delay or 0)))
    if kind == "504_apply_later":
        return apply_later(srv, fault, req, entry)
    return None


def apply_later(srv: Server, fault: Fault, req: Request, entry: dict) -> Answer | None:
    """``504_apply_later``: a gateway that gives up at once (504) while RaceEntry behind it takes the
    request now (its key is checked now) and applies it ``delay`` seconds later. None (the request
    is answered as usual) when the request would be refused anyway."""
    try:
        check(srv, req.method, req.path, req.query)
    except ApiError:
        return None

    def later() -> None:
        time.sleep(max(0.0, float(fault.delay or 0)))
        try:
            route(srv, req.method, req.path, req.query, req.raw, req.ctype, auth=False)
            entry["applied"] = True
        except Exception as exc:  # a refused request, or the server stopped meanwhile
            entry["applied"] = f"not applied: {exc}"
            if srv.options.verbose:
                sys.stderr.write(f"504_apply_later: {exc}\n")

    entry["applied"] = False
    threading.Thread(target=later, name="apply-later", daemon=True).start()
    return Answer(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>\n", "text/html")


def after_route(srv: Server, fault: Fault, req: Request, status: int, body: bytes) -> Answer | None:
    """The faults that act once the request was applied: a drop, an "expired key" or a 500 answer, the
    answer cut to half its rows or reversed; ``blank_after`` blanks a field and answers as usual."""
    kind = fault.kind
    if kind == "drop_after":
        return Answer(DROPPED)
    if kind == "102_after" and status == 200:
        # Applied, then answered "expired key": a server that checks the key late.
        return Answer(*srv.error(ERR_EXPIRED, "Expired credentials. Please log in again."))
    if kind == "short_after" and status == 200:
        # Applied, then answered for only the first half of the rows (an answer cut short).
        data = orjson.loads(body)
        key = next((k for k, v in data.items() if isinstance(v, list)), None)
        if key is not None:
            data[key] = data[key][: len(data[key]) // 2]
        return Answer(200, orjson.dumps(data))
    if kind == "reverse_after" and status == 200:
        # Applied, then answered with the entries in reverse order (a server that does not keep the
        # request's order): each row's id is right, by position it is another row's.
        data = orjson.loads(body)
        key = next((k for k, v in data.items() if isinstance(v, list)), None) if isinstance(data, dict) else None
        if key is not None:
            data[key] = data[key][::-1]
        return Answer(200, orjson.dumps(data))
    if kind == "blank_after" and status == 200:
        # Applied, answered as usual, and the field blanked in every record the request updated: a
        # RaceEntry that wipes a field on update whatever the row sent.
        blank_updated(srv, req, fault.field)
    if kind == "500_after":
        return Answer(500, b"500 injected failure (after commit)\n", "text/plain")
    return None


def blank_updated(srv: Server, req: Request, name: str) -> None:
    """``blank_after``: blank ``name`` ("dob", "address.city") in the records a POST participants
    updated (rows with a registration_id)."""
    try:
        obj = request_object(req.ctype, req.raw, req.query)
        ids = [as_int(r["registration_id"], "registration_id") for r in obj.get("participants") or []
               if isinstance(r, dict) and not blank(r.get("registration_id"))]
    except (ApiError, RowError, ValueError, TypeError, AttributeError):
        return
    store = srv.store
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
