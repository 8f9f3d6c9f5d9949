"""The test controls under ``/_control`` (only on a server started with ``test_controls``; no auth):
the server clock, faults, options, the request log and expiring every key pair; and ``apply_quirks``,
which switches on the named quirks (``defaults.QUIRKS``) at start or through the options control."""

from __future__ import annotations

from typing import Any

import orjson

from .behaviours import FAULT_KINDS, Fault, Options
from .defaults import QUIRKS
from .loose import TYPINGS
from .state import Server


def answer(srv: Server, method: str, path: str, raw: bytes) -> tuple[int, bytes]:
    """(status, body) of a /_control request: 400 for a bad one, 404 for an unknown control."""
    try:
        return control(srv, method, path, raw)
    except KeyError as e:
        return 400, orjson.dumps({"error": f"bad control request: missing {e}"})
    except (ValueError, TypeError) as e:
        return 400, orjson.dumps({"error": f"bad control request: {e}"})


def control(srv: Server, method: str, path: str, raw: bytes) -> tuple[int, bytes]:
    """One control: ``clock``, ``faults``, ``options``, ``requests``, ``expire_credentials``."""
    data = orjson.loads(raw) if raw.strip() else {}
    name = path[len("/_control"):].strip("/")
    if name == "clock":
        return 200, clock(srv, method, data)
    if name == "faults":
        return 200, faults(srv, method, data)
    if name == "options":
        if method == "POST":
            set_options(srv, data)
        return 200, options_answer(srv)
    if name == "requests":
        with srv.state_lock:
            if method == "DELETE":
                srv.requests_log.clear()
            return 200, orjson.dumps({"requests": list(srv.requests_log)})
    if name == "expire_credentials" and method == "POST":
        srv.creds.expire_all()
        return 200, orjson.dumps({"expired": True})
    return 404, orjson.dumps({"error": "unknown control endpoint"})


def clock(srv: Server, method: str, data: dict) -> bytes:
    """POST ``{"now": T}`` freezes the clock at T (null: real time), ``{"advance": S}`` moves it on."""
    if method == "POST":
        if "now" in data:
            srv.clock.set(data["now"])
        if data.get("advance"):
            srv.clock.advance(data["advance"])
    return orjson.dumps({"now": srv.clock.now(), "frozen": srv.clock.frozen is not None})


def faults(srv: Server, method: str, data: dict) -> bytes:
    """POST adds faults (one, or ``{"faults": [...]}``), DELETE clears them; the faults waiting."""
    with srv.state_lock:
        if method == "DELETE":
            srv.faults.clear()
        elif method == "POST":
            items = data.get("faults", [data] if "kind" in data else [])
            for f in items:
                srv.faults.append(fault_of(f))
        return orjson.dumps({"faults": [f.as_dict() for f in srv.faults]})


def fault_of(f: dict) -> Fault:
    """A Fault from its control request; ValueError for a kind not in FAULT_KINDS."""
    kind = str(f["kind"])
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}")
    return Fault(method=f.get("method"), path=f.get("path"), kind=kind, count=int(f.get("count", 1) or 1),
                 retry_after=f.get("retry_after"), delay=float(f.get("delay", 0) or 0),
                 status=int(f["status"]) if f.get("status") else None, field=str(f.get("field") or "dob"))


def set_options(srv: Server, data: dict) -> None:
    """POST /_control/options: set each option given (checked), switch on ``quirks``, and forget the
    answers built before (they are built another way now)."""
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
    paging_options(o, data)
    if "extra_fields" in data:
        if not isinstance(data["extra_fields"], dict):
            raise ValueError("extra_fields must be an object of field -> value")
        o.extra_fields = dict(data["extra_fields"])
    typing_option(o, data)
    for key in ("paging", "race_events", "key_403", "since_inclusive", "rows_in_event"):
        if key in data:
            setattr(o, key, bool(data[key]))
    if "quirks" in data:
        apply_quirks(srv, data["quirks"])
    with srv.store.lock:   # answers built before are built another way now
        srv.store.cache.clear()


def options_answer(srv: Server) -> bytes:
    """The options as /_control/options answers them."""
    o = srv.options
    return orjson.dumps({"typing": o.typing, "switch_new_id": o.switch_new_id, "update": o.update,
                         "error_style": o.error_style, "error_status": o.error_status, "verbose": o.verbose,
                         "extra_fields": o.extra_fields, "page_cap": o.page_cap, "truncate_to": o.truncate_to,
                         "gzip": o.gzip, "paging": o.paging, "race_events": o.race_events, "key_403": o.key_403,
                         "since_inclusive": o.since_inclusive, "rows_in_event": o.rows_in_event,
                         "quirks": srv.quirks})


def paging_options(o: Options, data: dict) -> None:
    """POST /_control/options {"page_cap": N} / {"truncate_to": N} (0: off) / {"gzip": false}."""
    for name in ("page_cap", "truncate_to"):
        if name in data:
            if int(data[name] or 0) < 0:
                raise ValueError(f"{name} must be a number of rows (0: off)")
            setattr(o, name, int(data[name] or 0))
    if "gzip" in data:
        o.gzip = bool(data["gzip"])


def typing_option(o: Options, data: dict) -> None:
    """/_control/options ``{"typing": "loose"}``: answers in other plausible typings (TYPINGS)."""
    if "typing" in data:
        if data["typing"] not in TYPINGS:
            raise ValueError(f"typing must be one of {', '.join(TYPINGS)}")
        o.typing = data["typing"]


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
    quirk_faults = {"https-redirect": Fault("POST", None, "redirect_login", status=301),
                    "bom": Fault(None, None, "bom_prefix"), "php-notice": Fault(None, None, "php_notice"),
                    "reversed-answers": Fault("POST", r"^/rest/race/", "reverse_after")}
    for name in names:   # (again: the option is set again, the fault is not added twice)
        if not quirk_option(o, name) and name not in srv.quirks:
            with srv.state_lock:
                srv.quirk_faults.append(quirk_faults[name])
        if name not in srv.quirks:
            srv.quirks.append(name)


def quirk_option(o: Options, name: str) -> bool:
    """Set the option quirk ``name`` stands for; False when the quirk is a fault, not an option."""
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
    else:
        return False
    return True
