"""Push: send a plan to RaceEntry safely. Every batch is journaled before it is sent; a lost answer stops
the push, and the next push reads back what landed before planning again, so no runner is added twice
and no change is lost.

The journal lives in ``<state>/journal/<server>-race-<id>/``: one JSON file per batch (``000001-participants.json``),
written atomically (fsynced) with ``"status": "sending"`` before the request leaves, rewritten with the
outcome (``done``, ``lost``, ``failed``) after, and ``reconciled`` once a later push has read back an
interrupted batch. A batch still ``sending`` or ``lost`` is what a killed or cut-off push left behind.

Reconciling decides per item: a team landed if RaceEntry has a team of that name; an add landed if
RaceEntry has the same person (names, event, dob or email) under a registration id that did not exist
when the batch was journaled; a modify if the fields now hold the intended values; a switch if the
registration (or, when RaceEntry gave it a new id, the same user) is in the new event; a delete if the id
is gone. Planning again afterwards then sends exactly what did not land: adds that landed go into the ledger of
the file they came from (see converters.binding), switched registrations are followed to their new ids.

Every row sent must come back confirmed (its registration id, in the documented answer); a row that does
not is handled like a lost answer. The ids of added rows are checked by identity against one read of what
changed since the batch left (the answer may list them in another order). After an error 102 (expired
key) to a POST, nothing is re-sent before a read-back: the key may have been checked after the batch was
applied; when logging in again fails, the batch is lost like any other (exit 3, "log in, push again").

A batch RaceEntry may still be applying (no answer came: killed, timed out, dropped, a 5xx such as a
gateway's 504) is waited for: while its rows have not all appeared, the next push reads back every
SETTLE_POLL seconds, up to ``settle_wait`` (SETTLE_WAIT) after it was sent, sending nothing.

Server-keyed state (this journal, the push lock, the sync roster) uses ``state.server_key``: one server,
however its URL is spelt.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from . import binding as binding_mod
from . import locks, planning, progress
from .diff import (COMPARED_FIELDS, MAX_DELETE_PER_REQUEST, Add, Modify, Plan, identity, identity_index,
                   modify_payload, norm, participant_rows, plural, same_person, who_of, with_team_id)
from .errors import (AnsweredError, ApiError, AuthError, ConnectionFailed, PlanError, ResponseLost, ShapeError,
                     TimersyncError)
from .journal import Journal
from .answers import parse_teams
from .bodies import delete_request, participants_request, result_ids, switch_request, teams_request
from .model import Participant, Team
from .planning import RaceState, advance, race_state

LOG = logging.getLogger("timersync.push")

IDENTITY_FIELDS = ("first_name", "last_name", "event_id", "dob", "email")


class PushInterrupted(TimersyncError):
    """A batch's answer was lost: the push stopped; the next push reconciles."""

    exit_code = 3


# Exit status of a push that landed but left a runner's field other than it should be (a field the push did
# not change blanked or altered by RaceEntry): a person must look (an automatic re-run could wipe it again).
EXIT_WIPED = 7


# -------------------------------------------------------------------------------------------- guards

def delete_limit(spec: str | int | None, race_size: int) -> int:
    """``--max-delete``: N, or P% of the race; by default 10% of the race or 25, whichever is smaller."""
    if spec is None or spec == "":
        return min(race_size // 10, 25)
    text = str(spec).strip()
    try:
        if text.endswith("%"):
            return int(race_size * float(text[:-1]) / 100)
        value = int(text)
    except ValueError:
        raise PlanError(f"--max-delete must be a number or a percentage such as 5%, not {text!r}") from None
    if value < 0:
        raise PlanError("--max-delete must not be negative")
    return value


def modify_limit(spec: str | int | None, race_size: int) -> int:
    """``--max-modify``: N, or P% of the race; by default 10% of the race or 25, whichever is larger."""
    if spec is None or spec == "":
        return max(race_size // 10, 25)
    text = str(spec).strip()
    try:
        value = int(race_size * float(text[:-1]) / 100) if text.endswith("%") else int(text)
    except ValueError:
        raise PlanError(f"--max-modify must be a number or a percentage such as 20%, not {text!r}") from None
    if value < 0:
        raise PlanError("--max-modify must not be negative")
    return value


def check_plan(plan: Plan, max_delete: str | int | None = None, skip_invalid: bool = False,
               max_modify: str | int | None = None) -> None:
    """Refuse plans that must not go ahead: a file that looks scrambled (a column sorted on its own),
    invalid rows (unless skipped), modifies and switches above their limit, and deletions above theirs or
    from a file that looks truncated (empty, or under half of RaceEntry's participants)."""
    if plan.suspect:
        raise PlanError(f"{plan.suspect}; nothing sent: undo the sort in the file (or pull it again) and "
                        f"redo the edits")
    changed = len({m.registration_id for m in plan.modifies} | {s.registration_id for s in plan.switches})
    if changed:
        limit = modify_limit(max_modify, plan.current_count)
        if changed > limit:
            raise PlanError(f"refusing to change {changed} participants at once: the limit is {limit} "
                            f"(--max-modify; default 10% of the race or 25, whichever is larger); nothing sent")
    if plan.invalid and not skip_invalid:
        shown = "; ".join(f"row {i.row}{f' ({i.who})' if i.who else ''}: {i.message}" for i in plan.invalid[:5])
        more = f"; and {len(plan.invalid) - 5} more" if len(plan.invalid) > 5 else ""
        raise PlanError(f"{len(plan.invalid)} invalid row{'s' if len(plan.invalid) != 1 else ''}, nothing sent "
                        f"({shown}{more}); fix them, or use --skip-invalid to send the valid rows")
    if plan.deletes:
        n = plan.current_count
        if plan.file_rows == 0 or plan.file_rows * 2 < n:
            raise PlanError(f"refusing to delete: the file has {plan.file_rows} rows for RaceEntry's {n} "
                            f"participants, so it looks truncated or empty; nothing sent")
        limit = delete_limit(max_delete, n)
        if len(plan.deletes) > limit:
            raise PlanError(f"refusing to delete {len(plan.deletes)} participants: the limit is {limit} "
                            f"(--max-delete; default 10% of the race or 25, whichever is smaller); nothing sent")


def _identity_of(p: Participant) -> dict[str, Any]:
    return {f: getattr(p, f) for f in IDENTITY_FIELDS}


def _person(ident: dict[str, Any]) -> Participant:
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
    used: set[str] = set()  # one record per add: two rows of one batch are never one runner
    for item in items:
        ok, new = False, None
        if kind == "teams":
            new = team_names.get(norm("team_name", item["name"]))
            ok = new is not None
        elif kind == "participants" and item["op"] == "add":
            row = _person(item["identity"])
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
            if cur is not None:
                ok, new = cur.event_id == item["new_event_id"], str(cur.registration_id)
            else:
                found = next((p for p in rs.current if item.get("user_id") and str(p.user_id) == str(
                    item["user_id"]) and p.event_id == item["new_event_id"]), None)
                ok, new = found is not None, str(found.registration_id) if found else None
        elif kind == "delete":
            ok = str(item["registration_id"]) not in by_id
        out.append((ok, new))
    return out


SETTLE_WAIT = 180.0  # seconds after a doubtful batch was sent that a push waits for its rows to appear
SETTLE_POLL = 5.0  # seconds between read-backs while waiting
READ_OVERLAP = 60  # seconds re-read before the server's time when a batch's adds are read back (as sync)


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
              settle_wait: float = SETTLE_WAIT, poll: float = SETTLE_POLL, clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep, say: Callable[[str], None] | None = None) -> list[str]:
    """Read back what the interrupted batches left in RaceEntry (``rs``, freshly read) and record it, in
    the journal and in the ledger of the file each batch came from (so its landed adds are that file's
    rows from now on). Returns one message per interrupted batch. Nothing is sent.

    While rows of a batch RaceEntry may still be applying (:func:`_may_still_apply`) have not appeared,
    and less than ``settle_wait`` seconds have passed since it was sent, it waits: every ``poll`` seconds
    ``reread(kinds)`` refreshes ``rs`` in place, and the read-back is done again. Rows still absent after
    the window did not land: they are planned again."""
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


# ---------------------------------------------------------------------------------------------- push

class ReadBack(TimersyncError):
    """An answer that may hide applied rows (error 102 after a POST): read back, then plan the rest."""


@dataclass
class RowError:
    row: int | None
    registration_id: str | None
    what: str
    message: str


@dataclass
class Twin:
    """A runner this push added who is in RaceEntry twice: ``ours`` (this push's) and ``others``."""

    row: int
    name: str
    ours: str
    others: list[str]


@dataclass
class Changed:
    """A runner this push modified or switched: RaceEntry's record the plan was made from (``before``),
    what it should hold now (``expected``: ``before`` with the intended changes), the id it is under now
    and the changes in words ("first name", "city", "team", "event")."""

    row: int
    registration_id: str
    before: Participant
    expected: Participant
    what: list[str] = field(default_factory=list)


@dataclass
class Wiped:
    """A field of a runner this push changed that RaceEntry holds other than the push left it: ``field``
    was ``expected`` and is ``found`` after the push."""

    row: int
    registration_id: str
    name: str
    field: str
    expected: Any
    found: Any
    message: str


@dataclass
class PushResult:
    plan: Plan | None = None
    reconciled: list[str] = field(default_factory=list)
    teams_created: dict[str, str] = field(default_factory=dict)  # name -> team id
    added: list[tuple[int, str]] = field(default_factory=list)  # (row, new registration id)
    modified: int = 0
    switched: list[tuple[str, str]] = field(default_factory=list)  # (old id, id after the switch)
    deleted: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    twins: list[Twin] = field(default_factory=list)
    # Runners this push changed (modified or switched), to check afterwards that nothing else of theirs
    # changed: registration id -> Changed.
    changed: dict[str, "Changed"] = field(default_factory=dict)
    wiped: list["Wiped"] = field(default_factory=list)
    read_backs: int = 0
    sent: bool = False
    binding: Path | None = None

    @property
    def partial(self) -> bool:
        return bool(self.errors)


def push(client: Any, file: str | Path, *, race_id: int | None = None, profile: Any = None,
         base_path: str | Path | None = None, race_path: str | Path | None = None, encoding: str | None = None,
         delete: bool = False, max_delete: str | int | None = None, skip_invalid: bool = False,
         prefer: str | None = None, team_type: str | None = None, batch_size: int = 100,
         confirm: Callable[[Plan], bool] | None = None, progress: Callable[[str], None] | None = None,
         journal: Journal | None = None, bind_as: str | Path | None = None, lock_wait: float = locks.PUSH_WAIT,
         prefetched: Any = None, read_backs: int = 3, settle_wait: float = SETTLE_WAIT,
         settle_poll: float | None = None, clock: Callable[[], float] = time.time,
         sleep: Callable[[float], None] = time.sleep, two_way: bool = False,
         max_modify: str | int | None = None, new_runners: Any = (), full: bool = False,
         full_after: float | None = None, settled: Any = None, asks: bool = True) -> PushResult:
    """Push ``file``: plan (planning.make), check the guards and ask ``confirm`` before the race's push lock
    is taken (a plan on screen never holds up another push); then, holding the lock, reconcile interrupted
    batches, plan again and compare with what was confirmed (:func:`_recheck`: fewer changes go ahead, new
    ones raise PlanChanged), and send teams, adds and modifies, switches and deletes in batches, each
    journaled first and each confirmed row recorded in the file's binding. "No" at ``confirm`` raises
    Cancelled (exit 0); Ctrl-C while sending raises StoppedByTimer, saying what landed. ``full``/
    ``full_after``: when RaceEntry is read whole rather than as the changes since the file's base
    (planning.make). ``asks=False``: ``confirm`` only shows the plan, never waits for a person (``--yes``),
    so the plan is made once, under the lock, instead of once to show and again under the lock.

    Raises PushInterrupted (exit 3) when an answer is lost or does not confirm every row (the next push
    reads back), PlanError for plans that must not go ahead, locks.Busy when another push of the race
    holds the lock longer than ``lock_wait``. An error 102 answer is read back and the rest planned again
    (at most ``read_backs`` times). Once anything of this push landed, a later failure is PushInterrupted
    too, saying what landed ("3 added, 1 modified before: ...").

    Interrupted batches are reconciled first; while rows of one RaceEntry may still be applying have not
    appeared, the push waits up to ``settle_wait`` seconds after it was sent, reading back every
    ``settle_poll`` seconds (default SETTLE_POLL; ``clock`` and ``sleep`` are the time it goes by)."""
    say = progress or (lambda msg: None)
    if batch_size < 1:
        raise PlanError("--batch-size must be at least 1")
    if profile is not None and not isinstance(profile, str):
        profile = binding_mod.profile_ref(profile)
    # Settled once (``settled``: as the command line settled it): every plan of this push reads the
    # binding again (another push may have grown its ledger) but settles nothing again.
    tgt = settled or planning.target(file, race_id=race_id, profile=profile, server=client.base_url,
                                     bind_as=bind_as)
    journal = journal or Journal(tgt.race_id, server=client.base_url)
    result = PushResult()

    def before_plan(rs: RaceState, _tgt: Any) -> bool:
        if not journal.pending():
            return False  # nothing to reconcile: the binding stays as read

        def reread(kinds: set[str]) -> None:  # RaceEntry again, into the state the plan is made from
            if rs.read_at:  # only what changed since the last read
                advance(client, rs, READ_OVERLAP)
            else:
                rs.current = client.participants_answer(tgt.race_id, 0).participants
                if "delete" in kinds and rs.removed is not None:
                    rs.removed = {str(p.registration_id) for p in client.participants_answer(
                        tgt.race_id, 0, removed=True).participants if p.registration_id}
            if "teams" in kinds:
                rs.teams = parse_teams(client.teams(tgt.race_id))

        poll = SETTLE_POLL if settle_poll is None else settle_poll
        for msg in reconcile(journal, rs, reread=reread, settle_wait=settle_wait, poll=poll, clock=clock,
                             sleep=sleep, say=say):
            result.reconciled.append(msg)
            say(msg)
        return True

    def make_plan(reconciling: bool, first: bool, again: Any = None) -> Any:
        planned = planning.make(file, client=client, race_id=tgt.race_id, profile=tgt.profile,
                                server=client.base_url, base_path=base_path, race_path=race_path,
                                encoding=encoding, delete=delete, team_type=team_type, prefer=prefer,
                                bind_as=bind_as, prefetched=prefetched if first else None,
                                renamed=journal.renamed, before_plan=before_plan if reconciling else None,
                                two_way=two_way, new_runners=new_runners, full=full, again=again, settled=tgt,
                                **({} if full_after is None else {"full_after": full_after}))
        check_plan(planned.plan, max_delete, skip_invalid, max_modify)
        return planned

    asked: Plan | None = None
    first_planned = None
    if confirm is not None and asks:
        # The plan is shown and confirmed before the race lock is taken: a timer reading it (or a pager,
        # or a prompt nobody answers) never holds up another push. Reconciling an interrupted batch
        # writes the journal, so that alone happens under the lock; nothing is asked there.
        if journal.pending():
            with locks.push_lock(client.base_url, tgt.race_id, lock_wait, say):
                planned = make_plan(True, True)
        else:
            planned = make_plan(False, True)
        result.plan = asked = planned.plan
        # Kept for the plan under the lock: while the file and its binding are unchanged, their read is
        # reused and only RaceEntry's changes since are read (planning.make's ``again``).
        first_planned = planned
        planned = None
        if asked.is_empty() and not asked.matched:
            return result
        if not asked.is_empty() and not confirm(asked):
            raise Cancelled("nothing was sent (you answered no)")
        # An empty plan with matches goes on: they are recorded in the ledger under the lock.

    with locks.push_lock(client.base_url, tgt.race_id, lock_wait, say):
        for attempt in range(read_backs + 1):
            # Planned (again) inside the lock: a push that waited sees the ledger the first one wrote.
            try:
                planned = make_plan(True, attempt == 0 and asked is None,
                                    first_planned if attempt == 0 else None)
                first_planned = None
                plan = planned.plan
            except (TimersyncError, OSError) as exc:  # planning again after a read-back: say what landed
                raise _stopped(result, exc) from None
            # RaceEntry's count this attempt was planned from, less what earlier attempts already counted.
            before = len(planned.rs.current) - len(result.added) + len(result.deleted)
            if attempt == 0 and asked is not None:
                _recheck(asked, plan, say)
            if attempt == 0:
                result.plan = plan
                if plan.is_empty():
                    if plan.matched:
                        record_matches(planned, planning.bind_after_push(planned, client.base_url))
                    return result
                if confirm is not None and asked is None and not confirm(plan):
                    raise Cancelled("nothing was sent (you answered no)")
            elif plan.is_empty():
                break
            result.sent = True
            b = planning.bind_after_push(planned, client.base_url)
            result.binding = b.folder
            record_matches(planned, b)
            try:
                _send_plan(client, planned, b, journal, result, batch_size, say)
            except KeyboardInterrupt:
                raise _ctrl_c(result, journal) from None
            except ReadBack as exc:
                if attempt == read_backs:
                    raise _stopped(result, PushInterrupted(f"{exc}. Push stopped after {read_backs} read-backs; "
                                                           f"run the same push again")) from None
                result.read_backs += 1
                say(f"{exc}; reading back what landed before sending the rest")
                continue
            except (TimersyncError, OSError) as exc:
                raise _stopped(result, exc) from None
            break
        # Before the read-back, let go of this push's reads of the file and its base: the check needs only
        # RaceEntry's state the plan was read from (then only what changed since is read) and its count.
        rs = planned.rs
        planned = b = None  # type: ignore[assignment]
        try:
            result.verified = verify(client, tgt.race_id, result, before, rs)
        except TimersyncError as exc:  # everything was sent and confirmed: the check alone is missing
            result.verified = [f"could not read RaceEntry back to check the push ({exc}); run diff to check it"]
        if result.wiped:
            _ledger_wiped(tgt.bind_as, result.wiped)
    return result


def undo_add(client: Any, file: str | Path, registration_id: str, *, race_id: int | None = None,
             profile: str | None = None, bind_as: str | Path | None = None, lock_wait: float = locks.PUSH_WAIT,
             progress: Callable[[str], None] | None = None) -> tuple[str, str]:
    """Remove registration ``registration_id``, a runner a push from this machine added who is in RaceEntry
    twice (another push added the same runner at the same moment): only if this machine's journal shows
    the add, and a twin (same person, same email, another id) is still there. The delete is journaled
    like any other; the file's ledger then ties its row to the twin. Returns (runner's name, twin's id).
    PlanError, nothing sent, when any of that does not hold."""
    say = progress or (lambda msg: None)
    rid = str(registration_id).strip()
    tgt = planning.target(file, race_id=race_id, profile=profile, server=client.base_url, bind_as=bind_as)
    journal = Journal(tgt.race_id, server=client.base_url)
    with locks.push_lock(client.base_url, tgt.race_id, lock_wait, say):
        ours = next((item for _, item, r in journal.adds() if r == rid), None)
        if ours is None:
            raise PlanError(f"registration {rid} was not added by a push from this computer (its journal of "
                            f"race {tgt.race_id} has no such add); nothing sent")
        # An earlier undo-add of it (its answer perhaps lost): the file's row may not be tied to the twin yet.
        twin = next((i["twin"] for _, e in journal.entries() if e.get("kind") == "delete"
                     for i in e.get("items") or [] if i.get("undo_add") and i.get("twin")
                     and str(i.get("registration_id")) == rid), None)
        everyone = client.participants_answer(tgt.race_id, 0).participants
        p = next((q for q in everyone if str(q.registration_id) == rid), None)
        if p is None and twin and any(str(q.registration_id) == twin for q in everyone):
            if _tie_to_twin(tgt.bind_as, rid, twin):
                ident = ours.get("identity") or {}
                return f"{ident.get('first_name') or ''} {ident.get('last_name') or ''}".strip(), twin
            raise PlanError(f"registration {rid} was removed already (by an earlier undo-add; {twin} stays); "
                            f"nothing sent")
        if p is None:
            raise PlanError(f"registration {rid} is not in race {tgt.race_id} (removed already?); nothing sent")
        name = f"{p.first_name or ''} {p.last_name or ''}".strip()
        twins = twins_of(p, everyone)
        if not twins:
            raise PlanError(f"{name} (registration {rid}) has no twin in race {tgt.race_id}: it is this runner's "
                            f"only registration; nothing sent")
        keep = str(twins[0].registration_id)
        sender = _Sender(client, tgt.race_id, journal, say)
        item = {"registration_id": rid, "file": str(tgt.bind_as), "undo_add": True, "twin": keep,
                "ledger": binding_mod.ledger_entry("delete", 0, rid, {})}
        res = sender.send("delete", [(item, rid)], delete_request,
                          lambda bd: client.delete_participants(tgt.race_id, bd))
        if sender.unconfirmed:
            _not_confirmed(sender.unconfirmed)
        if isinstance(res[0], dict):
            raise PlanError(f"RaceEntry refused to remove registration {rid} ({name}): {res[0]['error']}")
        _tie_to_twin(tgt.bind_as, rid, keep)
    return name, keep


def _tie_to_twin(bind_as: str | Path, rid: str, keep: str) -> bool:
    """The file's row added as ``rid`` is the twin ``keep`` from now on (its ledger's add entry says so).
    False when there was nothing to change."""
    b = binding_mod.load(bind_as)
    if b is None or b.legacy:
        return False
    hits = [e for e in b.ledger if e.get("op") == "add" and str(e.get("registration_id")) == rid]
    for e in hits:
        e["registration_id"], e["replaced"] = keep, rid
    if hits:
        b.save(base=False, context=False)
    return bool(hits)


class Cancelled(TimersyncError):
    """The timer said no at the prompt: nothing sent, nothing wrong (exit 0)."""

    exit_code = 0


class PlanChanged(PlanError):
    """The plan made under the race lock holds changes the timer did not confirm (RaceEntry or the file
    changed while the plan was on screen, or while waiting for another push): nothing sent."""


class StoppedByTimer(PushInterrupted):
    """Ctrl-C during a push: says what landed and what the next push does (exit 130)."""

    exit_code = 130


def plan_items(plan: Plan) -> set[tuple[Any, ...]]:
    """What a plan would send, one hashable item per change, to compare the plan a timer confirmed with
    the one made under the lock."""
    items: set[tuple[Any, ...]] = {("team", norm("team_name", t.name), str(t.team_type_id)) for t in plan.teams}
    items |= {("add", a.row, identity(a.participant), a.participant.event_id, a.new_team) for a in plan.adds}
    items |= {("modify", m.registration_id, c.field, str(c.new)) for m in plan.modifies for c in m.changes}
    items |= {("switch", s.registration_id, s.new_event_id) for s in plan.switches}
    items |= {("delete", d.registration_id) for d in plan.deletes}
    return items


def _recheck(asked: Plan, plan: Plan, say: Callable[[str], None]) -> None:
    """The plan made under the lock against the one the timer confirmed: fewer changes (another push sent
    some meanwhile) go ahead, saying so; any change the timer did not see stops the push (PlanChanged)."""
    before, now = plan_items(asked), plan_items(plan)
    new = now - before
    if new:
        raise PlanChanged(f"the plan changed while it was on screen (another push, or RaceEntry, changed "
                          f"{plural(len(new), 'thing')} since): nothing was sent; run the push again to see "
                          f"the new plan")
    gone = before - now
    if gone:
        rest = "sending the rest" if now else "nothing is left to send"
        say(f"{plural(len(gone), 'change')} of the plan you confirmed {'was' if len(gone) == 1 else 'were'} made "
            f"meanwhile (by another push, or in RaceEntry): {rest}")


def _ctrl_c(result: PushResult, journal: Journal) -> StoppedByTimer:
    """What a timer is told after Ctrl-C during a push: what landed, and what the next push will do."""
    landed = landed_text(result)
    doubtful = sum(len(e.get("items") or []) for _, e in journal.pending())
    text = f"Stopped (Ctrl-C). RaceEntry confirmed {landed or 'nothing of this push'}"
    if doubtful:
        text += (f"; {plural(doubtful, 'change')} on the way when you stopped may or may not have reached it. "
                 f"The next push of this file first checks which did (waiting up to a few minutes while "
                 f"RaceEntry may still be saving them), never sends them twice, then sends the rest")
    else:
        text += "; the next push of this file sends the rest"
    out = StoppedByTimer(text)
    out.result = result  # type: ignore[attr-defined]
    return out


def landed_text(result: PushResult) -> str:
    """What this push confirmed so far, for a timer: "1 team created, 3 added, 1 modified" ("" if nothing)."""
    parts = [(len(result.teams_created), "team created", "teams created"), (len(result.added), "added", "added"),
             (result.modified, "modified", "modified"), (len(result.switched), "switched", "switched"),
             (len(result.deleted), "deleted", "deleted")]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)


def _stopped(result: PushResult, exc: BaseException) -> BaseException:
    """The error a push stops with. Exit 1 means nothing was sent: once something of this push landed,
    any failure is PushInterrupted (exit 3) saying what landed before it."""
    landed = landed_text(result)
    if not landed:
        if isinstance(exc, PushInterrupted):
            exc.result = result  # type: ignore[attr-defined]
        return exc
    reason = str(exc)
    if not isinstance(exc, PushInterrupted):
        reason += "; run the same push again to send the rest"
    out = PushInterrupted(f"{landed} before: {reason}")
    out.result = result  # type: ignore[attr-defined]
    return out


def _confirmed(answer: Any, n: int, key: str = "participants", id_key: str = "registration_id") -> list[Any]:
    """The answer's per-row results for ``n`` rows sent: an id, ``{"error": msg}``, or None where the
    answer does not confirm the row (fewer entries, an entry without an id, not the documented shape)."""
    try:
        res = result_ids(answer, key, id_key)
    except ShapeError:
        res = []
    res = [{**r, "error": row_message(str(r.get("error", "")))} if isinstance(r, dict) else
           r if r not in (None, "") else None for r in res[:n]]
    return res + [None] * (n - len(res))


_REQUEST_ROW = re.compile(r"(?:^|(?<=: ))row \d+(?: \([a-z_]+ [^)]*\))?: *", re.IGNORECASE)


def row_message(message: str) -> str:
    """RaceEntry's refusal of one row, without the row's place in the request ("row 2 (registration_id
    1027): "): the timer is told the file's row, and only that one."""
    return _REQUEST_ROW.sub("", message, count=1) or message


class _Sender:
    """Sends one kind of batch: journaled, every row confirmed, and a batch refused as a whole split to
    find the rows at fault (each part sent only after a read-back shows nothing of it landed)."""

    def __init__(self, client: Any, race_id: int, journal: Journal, say: Callable[[str], None],
                 state: RaceState | None = None):
        self.client, self.race_id, self.journal, self.say = client, race_id, journal, say
        # RaceEntry as the plan read it (a copy, advanced by what changed at each read-back), or None
        self.state = None if state is None or not state.read_at else dataclasses.replace(
            state, current=list(state.current), removed=None, notes=[])
        self.unconfirmed: list[str] = []
        self.claimed: set[str] = set()  # registration ids this push's adds were given, batch after batch

    def send(self, kind: str, units: Sequence[tuple[dict[str, Any], Any]], body_of: Callable[[list[Any]], Any],
             call: Callable[[Any], Any], key: str = "participants", id_key: str = "registration_id") -> list[Any]:
        """Per unit (journal item, request part): its id, ``{"error": msg}`` or None (not confirmed)."""
        try:
            return self._attempt(kind, units, body_of, call, key, id_key)
        except Refused as exc:
            return self._split(kind, units, body_of, call, key, id_key, exc)

    def _attempt(self, kind: str, units: Sequence[tuple[dict[str, Any], Any]], body_of: Callable[[list[Any]], Any],
                 call: Callable[[Any], Any], key: str, id_key: str) -> list[Any]:
        now = getattr(self.client, "server_now", lambda: None)()
        since = max(0, int(now) - READ_OVERLAP) if now else 0  # the server's time before the batch left
        path, answer = _send(self.journal, kind, [u[0] for u in units], body_of([u[1] for u in units]), call,
                             getattr(self.client, "base_url", None))
        res = _confirmed(answer, len(units), key, id_key)
        missing = sum(r is None for r in res)
        adds = [i for i, (item, _) in enumerate(units) if item.get("op") == "add" and isinstance(res[i], str)]
        absent, checked = 0, False
        if kind == "participants" and adds:
            res, absent = self._by_identity(units, res, adds, since)
            checked = True
        elif kind == "teams" and any(isinstance(r, str) for r in res):
            res, absent = self._teams_by_name(units, res)
            checked = True
        if missing or absent:
            ids = [r if isinstance(r, str) else None for r in res]
            # A short answer is RaceEntry's last word on the batch; rows answered with an id that the read
            # shows no one under may still be on their way (answered False: the next push waits for them).
            self.journal.finish(path, "lost", answer=answer, ids=ids, unconfirmed=missing + absent,
                                answered=not absent)
            if missing:
                self.unconfirmed.append(f"{missing} of the {batch_words(kind, len(units))} just sent were "
                                        f"not confirmed by RaceEntry's answer")
            if absent:
                self.unconfirmed.append(f"{absent} of the {batch_words(kind, len(units))} just sent got an "
                                        f"id in RaceEntry's answer, but RaceEntry lists nobody of that name")
        elif checked:
            self.journal.finish(path, "done", answer=answer, ids=[r if isinstance(r, str) else None for r in res])
        return res

    def _teams_by_name(self, units: Sequence[tuple[dict[str, Any], Any]], res: list[Any]) -> tuple[list[Any], int]:
        """The answer's team ids checked against RaceEntry's teams by name (one read): a team whose answered
        id is another team's takes its own (runners joining it need the right one); one RaceEntry does
        not list is not confirmed. Returns the ids and how many teams it does not list."""
        by_name: dict[str, list[str]] = {}
        for t in parse_teams(self.client.teams(self.race_id)):
            by_name.setdefault(norm("team_name", t.team_name), []).append(str(t.team_id))
        out, absent = list(res), 0
        answered = {str(r) for r in res if isinstance(r, str)}
        for i, (item, _) in enumerate(units):
            if not isinstance(res[i], str):
                continue
            ids = by_name.get(norm("team_name", item["name"]), [])
            if str(res[i]) in ids:
                continue
            if not ids:
                out[i], absent = None, absent + 1
                continue
            out[i] = sorted(ids, key=lambda t: t not in answered)[0]
            self.say(f"team {item['name']}: RaceEntry's answer gave id {res[i]}, another team's; it is {out[i]}")
        return out, absent

    def _by_identity(self, units: Sequence[tuple[dict[str, Any], Any]], res: list[Any], adds: list[int],
                     since: int) -> tuple[list[Any], int]:
        """The answer's ids for added rows, checked against what RaceEntry now lists (one read of what
        changed since the batch left): each row gets the id of the record that is the same person
        (names, event, dob, email), whatever position the answer gave it. A row no record matches is not
        confirmed (None). Returns the ids and how many rows no record matched."""
        records = self.client.participants_answer(self.race_id, since).participants
        out, unmatched, notes = _match_adds(units, res, adds, records, self.claimed)
        if unmatched and since:  # a server clock that disagrees with its Date header: read everything
            records = self.client.participants_answer(self.race_id, 0).participants
            out, unmatched, notes = _match_adds(units, res, adds, records, self.claimed)
        for note in notes:
            self.say(note)
        self.claimed.update(r for i, r in enumerate(out) if i in adds and isinstance(r, str))
        return out, len(unmatched)

    def _now(self, kind: str) -> RaceState:
        """RaceEntry now, to read a refused batch back against: the plan's state advanced by what changed
        since it was read (a few rows on a venue's link), else the whole race."""
        if self.state is None:
            return race_state(self.client, self.race_id, removed=False)
        advance(self.client, self.state, READ_OVERLAP)
        if kind == "teams":
            self.state.teams = parse_teams(self.client.teams(self.race_id))
        return self.state

    def _split(self, kind: str, units: Sequence[tuple[dict[str, Any], Any]], body_of: Callable[[list[Any]], Any],
               call: Callable[[Any], Any], key: str, id_key: str, exc: "Refused") -> list[Any]:
        if len(units) == 1:
            return [{"error": row_message(exc.reason)}]
        # The strictest reading: a refusal promises nothing; read back before sending any part again.
        found = read_back(kind, [u[0] for u in units], self._now(kind))
        out: list[Any] = [(new or u[0].get("registration_id") or "landed") if ok else None
                          for u, (ok, new) in zip(units, found)]
        todo = [i for i, (ok, _) in enumerate(found) if not ok]
        self.say(f"{kind}: RaceEntry refused a batch of {len(units)} ({exc.reason}); sending it in parts to find "
                 f"the rows at fault")
        half = (len(todo) + 1) // 2
        parts = [p for p in (todo[:half], todo[half:]) if p]
        tried: list[tuple[list[int], Any]] = []
        for part in parts:
            try:
                tried.append((part, self._attempt(kind, [units[i] for i in part], body_of, call, key, id_key)))
            except Refused as sub:
                tried.append((part, sub))
        refusals = {t.reason for _, t in tried if isinstance(t, Refused)}
        if len(parts) == 2 and len(refusals) == 1 and all(isinstance(t, Refused) for _, t in tried):
            # Both halves refused for the same reason: the request is at fault, not a row; stop here.
            raise exc.error
        for part, got in tried:
            if isinstance(got, Refused):
                got = self._split(kind, [units[i] for i in part], body_of, call, key, id_key, got)
            for i, r in zip(part, got):
                out[i] = r
        return out


def _match_adds(units: Sequence[tuple[dict[str, Any], Any]], res: list[Any], adds: list[int],
                records: Sequence[Participant], claimed: set[str]) -> tuple[list[Any], list[int], list[str]]:
    """Give each added row (``adds``: indexes into ``units``) the id of the record in ``records`` that is
    the same person, not one that existed before the push (``preexisting``) or another row of this push
    got (``claimed``). The answer's own id for the row wins when it is such a record; else the row takes
    one (one the answer gave this batch first), and a note says the answer's id was another runner's.
    Returns the ids, the rows no record matched (their id None) and the notes."""
    answered = {str(r) for r in res if isinstance(r, str)}
    index = identity_index(records, {identity(_person(units[i][0]["identity"])) for i in adds})
    cands: dict[int, list[str]] = {}
    for i in adds:
        item = units[i][0]
        row = _person(item["identity"])
        skip = set(item.get("preexisting") or []) | claimed
        cands[i] = [str(p.registration_id) for p in index.get(identity(row), ())
                    if p.registration_id and str(p.registration_id) not in skip and same_person(row, p)]
    out = list(res)
    taken: set[str] = set()
    assigned: dict[int, str] = {}
    for i in adds:
        if str(res[i]) in cands[i] and str(res[i]) not in taken:
            assigned[i] = str(res[i])
            taken.add(assigned[i])
    notes, unmatched = [], []
    for i in adds:
        if i in assigned:
            continue
        free = sorted((c for c in cands[i] if c not in taken), key=lambda c: c not in answered)
        item = units[i][0]
        who = " ".join(str(item["identity"].get(f) or "") for f in ("first_name", "last_name")).strip()
        if not free:
            out[i] = None
            unmatched.append(i)
            continue
        assigned[i] = free[0]
        taken.add(free[0])
        notes.append(f"row {item.get('row')}, {who}: RaceEntry's answer gave id {res[i]}, another runner's; "
                     f"{who} is {free[0]}")
    for i, rid in assigned.items():
        out[i] = rid
    return out, unmatched, notes


class Refused(TimersyncError):
    """RaceEntry refused a whole batch (an error answer, nothing of it applied by its word)."""

    def __init__(self, error: ApiError):
        super().__init__(str(error))
        self.error = error
        self.reason = str(error).split("RaceEntry says: ", 1)[-1]


def _send_plan(client: Any, planned: Any, b: Any, journal: Journal, result: PushResult, batch_size: int,
               say: Callable[[str], None]) -> None:
    plan, rs, race_id = planned.plan, planned.rs, planned.target.race_id
    file_key = str(planned.target.bind_as)
    sender = _Sender(client, race_id, journal, say, rs)

    def record(entries: list[dict[str, Any]]) -> None:
        if entries:
            b.ledger.extend(entries)
            b.save(base=False, context=False)  # the ledger, after every confirmed batch
        if sender.unconfirmed:
            _not_confirmed(sender.unconfirmed)

    # Teams first: participants joining a new team need its id.
    team_ids: dict[str, str] = {norm("team_name", t.team_name): str(t.team_id) for t in rs.teams}
    failed_teams: set[str] = set()
    for chunk in _chunks(plan.teams, batch_size):
        units = [({"name": t.name, "team_type_id": t.team_type_id, "rows": t.rows},
                  Team(team_type_id=t.team_type_id, team_name=t.name)) for t in chunk]
        res_list = sender.send("teams", units, teams_request, lambda bd: client.post_teams(race_id, bd),
                               "race_teams", "team_id")
        for t, res in zip(chunk, res_list):
            if res is None or isinstance(res, dict):
                failed_teams.add(norm("team_name", t.name))
                if isinstance(res, dict):
                    adding = {a.row for a in plan.adds if a.new_team and norm("team_name", a.new_team) == norm(
                        "team_name", t.name)}
                    for row in t.rows:
                        result.errors.append(RowError(row, None, f"team {t.name!r}", f"{res['error']}; " + (
                            "the runner was not added (never without their team): fix the team and push again"
                            if row in adding else "the runner keeps their team as it was")))
            else:
                team_ids[norm("team_name", t.name)] = str(res)
                result.teams_created[t.name] = str(res)
        say(f"teams: {len(result.teams_created)} of {len(plan.teams)} created")
        record([])

    # Adds and modifies.
    # RaceEntry's runners by identity, for the adds only (a modify-only push need not fold 50,000 names).
    ident_index = identity_index(rs.current, {identity(a.participant) for a in plan.adds})
    work: list[tuple[Add | Modify, dict[str, Any], dict[str, Any]]] = []
    add_rows, modify_rows = participant_rows(plan)  # built once: the plan folder keeps the same rows
    for a, row in zip(plan.adds, add_rows):
        payload = with_team_id(row, a.new_team, team_ids)
        values = binding_mod.participant_values(a.participant)
        if a.new_team and norm("team_name", a.new_team) in failed_teams:
            continue  # never added without the team the row names; listed with the team's refusal
        if a.new_team:
            values["team_id"] = team_ids.get(norm("team_name", a.new_team))
        pre = [str(p.registration_id) for p in ident_index.get(identity(a.participant), ())
               if same_person(a.participant, p)]
        work.append((a, payload, {"row": a.row, "op": "add", "registration_id": None,
                                  "identity": _identity_of(a.participant), "preexisting": pre, "file": file_key,
                                  "ledger": binding_mod.ledger_entry("add", a.row, "", values)}))
    for m, row in zip(plan.modifies, modify_rows):
        if m.new_team and norm("team_name", m.new_team) in failed_teams:
            m = Modify(m.row, m.registration_id, m.event_id, [c for c in m.changes if c.field != "team"], m.current)
            if not m.changes:
                continue
            payload = modify_payload(m)  # without the team that was not created: another row
        else:
            payload = with_team_id(row, m.new_team, team_ids)
        fields = {c.field: c.new for c in m.changes if c.field != "team"}
        values = dict(fields)
        if any(c.field == "team" for c in m.changes):
            tid = payload.get("team_id", payload["user"].get("team_id"))
            fields["team_id"] = None if tid is None else str(tid)
            values["team_id"] = fields["team_id"]
            values["team_name"] = next(c.new for c in m.changes if c.field == "team") or None
        work.append((m, payload, {"row": m.row, "op": "modify", "registration_id": m.registration_id,
                                  "fields": fields, "file": file_key,
                                  "ledger": binding_mod.ledger_entry("modify", m.row, m.registration_id, values)}))
    for chunk in _chunks(work, batch_size):
        res_list = sender.send("participants", [(w[2], w[1]) for w in chunk], participants_request,
                               lambda bd: client.post_participants(race_id, bd))
        entries = []
        for (op, _, item), res in zip(chunk, res_list):
            if res is None:
                continue
            if isinstance(res, dict):
                what = "add" if item["op"] == "add" else "modify"
                result.errors.append(RowError(op.row, item["registration_id"], what, res["error"]))
            elif item["op"] == "add":
                result.added.append((op.row, str(res)))
                entries.append(dict(item["ledger"], registration_id=str(res)))
            else:
                result.modified += 1
                entries.append(item["ledger"])
                _note_changed(result, op, item)
        say(f"participants: {len(result.added)} added, {result.modified} modified")
        record(entries)

    # Switches: RaceEntry may answer with new registration ids; they are journaled for later pushes.
    for chunk in _chunks(plan.switches, batch_size):
        units = [({"row": s.row, "registration_id": s.registration_id, "old_event_id": s.old_event_id,
                   "new_event_id": s.new_event_id, "user_id": s.current.user_id, "file": file_key,
                   "ledger": binding_mod.ledger_entry("switch", s.row, s.registration_id, {"event_id": s.new_event_id})},
                  (s.registration_id, s.new_event_id)) for s in chunk]
        res_list = sender.send("switch", units, switch_request, lambda bd: client.switch_events(race_id, bd))
        entries = []
        for s, (item, _), res in zip(chunk, units, res_list):
            if res is None:
                continue
            if isinstance(res, dict):
                result.errors.append(RowError(s.row, s.registration_id, "switch", res["error"]))
            else:
                result.switched.append((s.registration_id, str(res)))
                entries.append(item["ledger"])
                c = result.changed.pop(s.registration_id, None) or Changed(s.row, s.registration_id, s.current,
                                                                            s.current.copy())
                c.expected.event_id, c.registration_id = s.new_event_id, str(res)
                c.what.append("event")
                result.changed[str(res)] = c
        say(f"switches: {len(result.switched)} of {len(plan.switches)}")
        record(entries)

    for chunk in _chunks(plan.deletes, min(batch_size, MAX_DELETE_PER_REQUEST)):
        units = [({"registration_id": d.registration_id, "file": file_key,
                   "ledger": binding_mod.ledger_entry("delete", 0, d.registration_id, {})}, d.registration_id)
                 for d in chunk]
        res_list = sender.send("delete", units, delete_request, lambda bd: client.delete_participants(race_id, bd))
        entries = []
        for d, (item, _), res in zip(chunk, units, res_list):
            if res is None:
                continue
            if isinstance(res, dict):
                result.errors.append(RowError(None, d.registration_id, "delete", res["error"]))
            else:
                result.deleted.append(d.registration_id)
                entries.append(item["ledger"])
        say(f"deletes: {len(result.deleted)} of {len(plan.deletes)}")
        record(entries)


def _note_changed(result: PushResult, m: Modify, item: dict[str, Any]) -> None:
    """Remember a confirmed modify for :func:`verify`: RaceEntry's record before, and after as intended."""
    expected = m.current.copy()
    what = []
    for f, v in item["fields"].items():
        if f != "team_id":
            setattr(expected, f, v)
            what.append(f.replace("_", " "))
    if "team_id" in item["fields"]:
        expected.team_id = item["fields"]["team_id"]
        what.append("team")
    result.changed[m.registration_id] = Changed(m.row, m.registration_id, m.current, expected, what)


def _pronoun(p: Participant) -> str:
    return {"F": "her", "M": "his"}.get(norm("gender", p.gender), "their")


def _show(v: Any) -> str:
    return "blank" if v in (None, "") else str(v)


def check_changed(result: PushResult, after: Sequence[Participant]) -> list[Wiped]:
    """Each runner this push changed, read back (``after``), against RaceEntry's record before the push with
    the intended changes: any other field RaceEntry now holds otherwise (a RaceEntry that replaced the
    record on update and blanked what the update did not name) is a Wiped naming runner and field."""
    by_id = {str(p.registration_id): p for p in after}
    out: list[Wiped] = []
    for rid, c in result.changed.items():
        p = by_id.get(rid)
        if p is None:
            continue  # gone: the count check says so
        name = who_of(c.expected) or f"registration {rid}"
        did = " and ".join(c.what) if c.what else "record"
        when = (f"when {_pronoun(c.before)} {did} {'was' if len(c.what) <= 1 else 'were'} changed"
                if c.what != ["event"] else f"when {'she' if _pronoun(c.before) == 'her' else 'he' if _pronoun(c.before) == 'his' else 'they'} "
                f"{'were' if _pronoun(c.before) == 'their' else 'was'} switched to event {c.expected.event_id}")
        diffs = [(f, getattr(c.expected, f), getattr(p, f)) for f in COMPARED_FIELDS
                 if norm(f, getattr(c.expected, f)) != norm(f, getattr(p, f))]
        if p.event_id != c.expected.event_id:
            diffs.append(("event_id", c.expected.event_id, p.event_id))
        if (p.team_id or "") != (str(c.expected.team_id) if c.expected.team_id not in (None, "") else ""):
            diffs.append(("team", c.before.team_name if c.expected.team_id == c.before.team_id else c.expected.team_id,
                          p.team_name or p.team_id))
        for f, want, got in diffs:
            label = f.replace("_", " ")
            how = "blanked" if got in (None, "") else f"changed to {got}"
            fix = (f"put it back in RaceEntry ({label} {_show(want)}), or push the file again: the file's "
                   f"{label} is then sent")
            out.append(Wiped(c.row, rid, name, f, want, got,
                             f"{name}'s {label} was {how} by RaceEntry {when} (row {c.row}, registration {rid}): "
                             f"{fix}"))
    return out


def _ledger_wiped(bind_as: Any, wiped: Sequence[Wiped]) -> None:
    """Record in the file's ledger the fields RaceEntry left other than pushed, as RaceEntry holds them, so
    the next push of the file (whose cells still hold the values) sends them back: an edit, not a change
    "made only in RaceEntry"."""
    b = binding_mod.load(bind_as) if bind_as else None
    if b is None or b.legacy:
        return
    for w in wiped:
        if w.field in ("team", "event_id"):
            continue
        b.ledger.append(binding_mod.ledger_entry("modify", w.row, w.registration_id, {w.field: w.found}))
    b.save(base=False, context=False)


def record_matches(planned: Any, b: Any) -> None:
    """Rows without an id that planning found to be a live runner (another laptop added them, or they
    registered online) go into the file's ledger like an add: from now on the row is that registration,
    through sorts and corrections, and its values as the file had them are its base (so a correction
    made in RaceEntry later is never reverted, nor the runner added again)."""
    known = {str(e.get("registration_id")) for e in b.ledger}
    by_row = dict(zip(planned.data.rows, planned.data.participants))
    entries = []
    for row, rid in planned.plan.matched:
        p = by_row.get(row)
        if p is None or rid in known:
            continue
        entry = binding_mod.ledger_entry("add", row, rid, binding_mod.participant_values(p))
        entry["matched"] = True
        entries.append(entry)
    if entries:
        b.ledger.extend(entries)
        b.save(base=False, context=False)


def _not_confirmed(problems: list[str]) -> None:
    raise PushInterrupted(f"{'; '.join(problems)}: they may or may not have reached RaceEntry. Push stopped; run "
                          f"the same push again: it checks what reached RaceEntry before sending anything else")


def verify(client: Any, race_id: int, result: PushResult, before: int, rs: RaceState | None = None) -> list[str]:
    """Read RaceEntry back and check every row sent: that the counts add up (``before``: how many
    participants RaceEntry had when the push was planned), that each added runner is there once and each
    deleted one gone, and that the runners it modified or switched hold nothing else than before but the
    changes (:func:`check_changed`: ``result.wiped``; registration ids may have changed with switches).

    With ``rs`` (the state the plan was made from, read at ``rs.read_at`` in the server's time) only
    what changed since is read and folded into it (:func:`converters.planning.advance`); else the whole
    race."""
    if rs is not None and rs.read_at:
        advance(client, rs, READ_OVERLAP)
        after = rs.current
    else:
        after = client.participants_answer(race_id, 0).participants
    problems: list[str] = []
    result.wiped = check_changed(result, after)  # every other field of the runners changed is as it was
    by_id = {str(p.registration_id): p for p in after}
    index = identity_index(after, {identity(by_id[rid]) for _, rid in result.added if rid in by_id})
    for row, rid in result.added:
        p = by_id.get(rid)
        if p is None:
            problems.append(f"row {row}: added as registration {rid}, which RaceEntry no longer lists")
            continue
        twins = twins_of(p, index.get(identity(p), ()))
        if twins:  # the same runner added at the same moment by another push (another machine)
            result.twins.append(Twin(row, f"{p.first_name or ''} {p.last_name or ''}".strip(), rid,
                                     [str(q.registration_id) for q in twins]))
    for rid in result.deleted:
        if rid in by_id:
            problems.append(f"registration {rid}: deleted by this push, but RaceEntry still lists it")
    expected = before + len(result.added) - len(result.deleted)
    if len(after) != expected and len(after) != expected + len(result.twins):  # twins are said on their own
        problems.insert(0, f"RaceEntry now has {len(after)} participants, expected {expected}: someone else may be "
                        f"editing the race; run diff to see the difference")
    return problems


def twins_of(p: Participant, everyone: Sequence[Participant]) -> list[Participant]:
    """The registrations other than ``p`` that are the same runner (:func:`converters.diff.same_person`:
    names and date of birth; the email only where a date of birth is missing: RaceEntry may fill a missing
    email with the account's own, so two machines' adds of one runner can carry two emails)."""
    return [q for q in everyone if str(q.registration_id) != str(p.registration_id) and same_person(p, q)]


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _send(journal: Journal, kind: str, items: list[dict[str, Any]], body: Any,
          call: Callable[[Any], Any], server: str | None = None) -> tuple[Path, Any]:
    """Journal the batch, send it, record the outcome. A lost answer stops the push; an error answer that
    may hide applied rows (102) asks for a read-back, or, when logging in again failed, stops the push
    saying to log in (the batch is not confirmed either way: never "failed")."""
    path = journal.begin(kind, items, body)
    progress.say(f"sending {batch_words(kind, len(items))}", force=True)
    try:
        answer = call(body)
    except AnsweredError as exc:
        journal.finish(path, "lost", error=str(exc), answered=True)
        if exc.login_needed:
            login = f"timersync login --api-url {server}" if server else "timersync login"
            raise PushInterrupted(f"the {batch_words(kind, len(items))} just sent may have reached RaceEntry: it "
                                  f"said the login had expired after they were sent. Run `{login}`, then push "
                                  f"again: it checks what reached RaceEntry before sending") from None
        raise ReadBack(str(exc)) from None
    except ResponseLost as exc:
        journal.finish(path, "lost", error=str(exc), answered=False)
        raise PushInterrupted(f"{exc}. Push stopped; run the same push again: it checks what reached RaceEntry "
                              f"before sending anything else") from None
    except (AuthError, ConnectionFailed) as exc:
        journal.finish(path, "failed", error=str(exc))  # never sent, or the login itself: nothing applied
        raise
    except ApiError as exc:
        # Refused as a whole: by RaceEntry's word nothing of it applied; the caller splits it.
        journal.finish(path, "refused", error=str(exc))
        raise Refused(exc) from None
    journal.finish(path, "done", answer=answer)
    return path, answer
