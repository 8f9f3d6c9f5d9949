"""Reading back what landed: which items of a journaled batch are in RaceEntry (:func:`read_back`), and
reconciling the batches an earlier push left interrupted (:func:`reconcile`).

The journal (:mod:`converters.plan.journal`) lives in ``<state>/journal/<server>-race-<id>/``: one JSON file
per batch (``000001-participants.json``), written atomically (fsynced) with ``"status": "sending"`` before
the request leaves, rewritten with the outcome (``done``, ``lost``, ``failed``) after, and ``reconciled``
once a later push has read back an interrupted batch. A batch still ``sending`` or ``lost`` is what a
killed or cut-off push left behind.

Reconciling decides per item: a team landed if RaceEntry has a team of that name; an add landed if
RaceEntry has the same person (names, event, dob or email) under a registration id that did not exist
when the batch was journaled; a modify if the fields now hold the intended values; a switch if the
registration (or, when RaceEntry gave it a new id, the same user) is in the new event; a delete if the id
is gone. Planning again afterwards then sends exactly what did not land: adds that landed go into the
ledger of the file they came from (see converters.plan.binding), switched registrations are followed to their
new ids.

A batch RaceEntry may still be applying (no answer came: killed, timed out, dropped, a 5xx such as a
gateway's 504) is waited for: while its rows have not all appeared, the next push reads back every
SETTLE_POLL seconds, up to ``settle_wait`` (SETTLE_WAIT) after it was sent, sending nothing.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from ..plan import binding as binding_mod
from .. import progress
from ..compare.identity import same_person
from ..compare.values import norm
from ..plan.journal import Journal
from ..model import Participant
from ..plan.racestate import RaceState

IDENTITY_FIELDS = ("first_name", "last_name", "event_id", "dob", "email")

SETTLE_WAIT = 180.0  # seconds after a doubtful batch was sent that a push waits for its rows to appear
SETTLE_POLL = 5.0  # seconds between read-backs while waiting
READ_OVERLAP = 60  # seconds re-read before the server's time when a batch's adds are read back (as sync)


def identity_of(p: Participant) -> dict[str, Any]:
    """What an add is journaled with to be found again: names, event, date of birth and email."""
    return {f: getattr(p, f) for f in IDENTITY_FIELDS}


def person_of(ident: dict[str, Any]) -> Participant:
    """A journaled identity (:func:`identity_of`) as a participant, to compare with RaceEntry's."""
    return Participant(**{f: ident.get(f) for f in IDENTITY_FIELDS})


def _holds(p: Participant, name: str, value: Any) -> bool:
    if name == "team_id":
        return ("" if value in (None, "") else str(value)) == (p.team_id or "")
    return norm(name, getattr(p, name)) == norm(name, value)


def read_back(kind: str, items: Sequence[dict[str, Any]], rs: RaceState) -> list[tuple[bool, str | None]]:
    """Per journaled item, whether it is in RaceEntry (``rs``, freshly read) and under which id: a team by
    its name; an add as the same person under an id that did not exist when it was journaled; a modify
    when the fields hold the intended values; a switch when the registration (or, with a new id, the same
    user) is in the new event; a delete when the id is gone."""
    by_id = {str(p.registration_id): p for p in rs.current}
    team_names = {norm("team_name", t.team_name): str(t.team_id) for t in rs.teams}
    out: list[tuple[bool, str | None]] = []
    used: set[str] = set()  # one record per add or switch: two rows of one batch are never one runner
    for item in items:
        ok, new = False, None
        if kind == "teams":
            new = team_names.get(norm("team_name", item["name"]))
            ok = new is not None
        elif kind == "participants" and item["op"] == "add":
            row = person_of(item["identity"])
            before = set(item.get("preexisting") or []) | used
            found = next((p for p in rs.current if str(p.registration_id) not in before and same_person(row, p)),
                         None)
            ok, new = found is not None, str(found.registration_id) if found else None
            if new:
                used.add(new)
        elif kind == "participants":
            cur = by_id.get(str(item["registration_id"]))
            ok = cur is not None and all(_holds(cur, f, v) for f, v in item["fields"].items())
        elif kind == "switch":
            cur = by_id.get(str(item["registration_id"]))
            if cur is not None and cur.event_id == item["new_event_id"]:
                ok, new = True, str(cur.registration_id)
            else:  # given a new id (the old one may still be listed a while): the same runner in the new event
                found = next((p for p in rs.current if p.event_id == item["new_event_id"]
                              and str(p.registration_id) not in used and _same_runner(item, p)), None)
                ok, new = found is not None, str(found.registration_id) if found else None
            if new:
                used.add(new)
        elif kind == "delete":
            ok = str(item["registration_id"]) not in by_id
        out.append((ok, new))
    return out


def _same_runner(item: dict[str, Any], p: Participant) -> bool:
    """A switched registration's runner under a new id: the same user, else (no user id on either side) the
    same person by the identity it was journaled with."""
    if item.get("user_id") and p.user_id:
        return str(p.user_id) == str(item["user_id"])
    return bool(item.get("identity")) and same_person(person_of(item["identity"]), p)


def _may_still_apply(entry: dict[str, Any]) -> bool:
    """A batch RaceEntry may still be applying: its push was killed mid-request, or no answer came back
    (a timeout, a dropped connection, a 5xx: a gateway's 504 says nothing of RaceEntry behind it). Not a
    batch RaceEntry itself answered (an expired key, an answer short of rows): it was done with it."""
    if entry.get("status") == "sending":
        return True
    answered = entry.get("answered")
    if answered is None:  # journaled by an earlier version: a short answer there had "unconfirmed"
        answered = "unconfirmed" in entry
    return entry.get("status") == "lost" and not answered


def batch_words(kind: Any, n: int) -> str:
    """``n`` journaled items of ``kind`` in the timer's words: "20 runners", "1 new team"."""
    one, many = {"teams": ("new team", "new teams"), "participants": ("runner", "runners"),
                 "switch": ("event switch", "event switches"), "delete": ("removal", "removals")}.get(
        str(kind), ("change", "changes"))
    return f"{n} {one if n == 1 else many}"


def _earlier(entry: dict[str, Any]) -> str:
    """An interrupted batch, for the push that finds it: "an earlier push stopped while sending 50
    runners (10:42)"."""
    at = entry.get("journaled_at")
    when = f" ({time.strftime('%H:%M', time.localtime(float(at)))})" if at else ""
    return f"an earlier push stopped while sending {batch_words(entry.get('kind'), len(entry.get('items') or []))}{when}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{max(0.0, seconds):.0f} s"


def reconcile(journal: Journal, rs: RaceState, *, reread: Callable[[set[str]], None] | None = None,
              settle_wait: float = SETTLE_WAIT, poll: float | None = None, clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep, say: Callable[[str], None] | None = None) -> list[str]:
    """Read back what the interrupted batches left in RaceEntry (``rs``, freshly read) and record it, in
    the journal and in the ledger of the file each batch came from (so its landed adds are that file's
    rows from now on). Returns one message per interrupted batch. Nothing is sent.

    While rows of a batch RaceEntry may still be applying (:func:`_may_still_apply`) have not appeared,
    and less than ``settle_wait`` seconds have passed since it was sent, it waits: every ``poll`` seconds
    (default SETTLE_POLL) ``reread(kinds)`` refreshes ``rs`` in place, and the read-back is done again. Rows still absent after
    the window did not land: they are planned again."""
    poll = SETTLE_POLL if poll is None else poll  # read when called: a test may shorten it
    said = False
    while True:
        pending = [(path, entry, read_back(entry.get("kind"), entry.get("items") or [], rs))
                   for path, entry in journal.pending()]
        now = clock()
        waiting = [(path, entry, found, float(entry.get("journaled_at") or 0) + settle_wait - now)
                   for path, entry, found in pending
                   if not all(ok for ok, _ in found) and _may_still_apply(entry)
                   and now - float(entry.get("journaled_at") or 0) < settle_wait]
        if not waiting or reread is None:
            break
        path, entry, found, left = max(waiting, key=lambda w: w[3])
        missing = sum(not ok for ok, _ in found)
        message = (f"{_earlier(entry)}: {missing} of {len(found)} not in RaceEntry yet; waiting up to "
                   f"{_duration(left)} for RaceEntry to finish saving them (Ctrl-C stops; nothing sent)")
        if not said and say is not None:
            say(message)
            said = True
        progress.say(message, force=True)
        sleep(max(0.0, min(poll, left)))
        reread({str(w[1].get("kind")) for w in waiting})
    messages = []
    ledgers: dict[str, list[dict[str, Any]]] = {}
    for path, entry, found in pending:
        items = entry.get("items") or []
        landed = [ok for ok, _ in found]
        new_ids = [new for _, new in found]
        for item, (ok, new) in zip(items, found):
            if ok and item.get("file") and item.get("ledger"):
                done = dict(item["ledger"], registration_id=new or item["ledger"]["registration_id"], at=time.time())
                if done["registration_id"]:
                    ledgers.setdefault(item["file"], []).append(done)
        n = sum(landed)
        journal.finish(path, "reconciled", landed=landed, new_ids=new_ids, previous_status=entry.get("status"))
        messages.append(f"{_earlier(entry)}: {n} reached RaceEntry and {'are' if n != 1 else 'is'} not sent again"
                        + (f"; {len(items) - n} did not: sent now if the file still has them"
                           if n < len(items) else ""))
    for file, entries in ledgers.items():
        b = binding_mod.load(file)
        if b is not None and not b.legacy:
            b.ledger.extend(entries)
            b.save(base=False, context=False)
    return messages
