"""The switches a behaviour is made of: ``Options`` (where documented and strict start, and what the
quirks and /_control/options turn), the ``Fault``s a test or a quirk injects, and the error envelope
each behaviour answers with. What the two behaviours are is told in ``app``'s docstring."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import orjson

from .protocol import ERR_BAD_AUTH, ERR_EXPIRED, ERR_MISSING_AUTH, FORBIDDEN_KEY, STRICT_STATUS


@dataclass
class Options:
    """A running server's switchable behaviour (strict starts with switch_new_id and "replace")."""
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
    typing: str = "documented"  # or "loose" (loose.TYPINGS)
    # Paging quirks (see reads.paging_quirks): RunSignup's paging (as with ``paging``) in pages of at most
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
    """An injected misbehaviour: ``kind`` (FAULT_KINDS) for the next ``count`` requests that match
    ``method`` and the ``path`` pattern (None: any)."""
    method: str | None
    path: str | None
    kind: str
    count: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    status: int | None = None   # redirect_login's 301/302/307/308, html_error's status
    field: str = "dob"   # blank_after: the user field (or "address.<key>") blanked

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a ``method`` request for ``path``."""
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None

    def as_dict(self) -> dict:
        """The fault as /_control/faults lists it."""
        return {"method": self.method, "path": self.path, "kind": self.kind, "count": self.count,
                "retry_after": self.retry_after, "delay": self.delay, "status": self.status,
                "field": self.field}


FAULT_KINDS = {"500", "429", "503", "drop_before", "drop_after", "500_after", "slow", "non_json", "error200",
               "102_after", "short_after", "reverse_after", "504_apply_later", "blank_after"} | {
               # transport and envelope faults (faults.transport_fault)
               "redirect_login", "bom_prefix", "php_notice", "403_key", "html_error"}


def error_answer(options: Options, strict: bool, code: int, msg: str,
                 status: int | None = None) -> tuple[int, bytes]:
    """An error answer: strict's ``{"error": msg}`` with a real HTTP status, else the error_style
    envelope (RunSignup's by default) with error_status (200 by default)."""
    if options.key_403 and code in (ERR_MISSING_AUTH, ERR_EXPIRED, ERR_BAD_AUTH):
        return 403, FORBIDDEN_KEY
    if strict:
        return status or STRICT_STATUS.get(code, 400), orjson.dumps({"error": msg})
    status = status or options.error_status
    if options.error_style == "message":
        return status, orjson.dumps({"message": msg})
    return status, orjson.dumps({"error": {"error_code": code, "error_msg": msg}})
