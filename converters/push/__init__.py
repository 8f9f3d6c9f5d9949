"""Push: send a plan to RaceEntry safely. Every batch is journaled before it is sent; a lost answer stops
the push, and the next push reads back what landed before planning again, so no runner is added twice
and no change is lost.

This module is the flow (:func:`push`, and :func:`undo_add` for a runner added twice): plan, check the
guards (:mod:`converters.push.guards`), confirm, then under the race's push lock reconcile interrupted
batches (:mod:`converters.push.readback`), plan again and compare with what was confirmed, send the plan
(:mod:`converters.push.send`, one batch at a time through :mod:`converters.push.batches`), record in the
file's binding (:mod:`converters.push.ledger`) and check what landed (:mod:`converters.push.verify`).
What a push comes to, and the errors it stops with, are in :mod:`converters.push.result`.

Server-keyed state (this journal, the push lock, the sync roster) uses ``state.server_key``: one server,
however its URL is spelt.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

from ..plan import binding as binding_mod
from .. import locks
from ..plan import planning, targets
from ..compare.identity import identity
from ..compare.plans import Plan
from ..compare.summary import plural
from ..compare.values import norm
from ..errors import PlanError, TimersyncError
from ..plan.journal import Journal
from ..model.answers import parse_teams
from ..compare.bodies import delete_request
from .batches import Sender
from .guards import check_plan
from .ledger import bind_after_push, ledger_wiped, record_matches, tie_to_twin
from .readback import READ_OVERLAP, SETTLE_WAIT, reconcile
from .result import PushInterrupted, PushResult, ReadBack, not_confirmed, stop_error, stopped_by_ctrl_c
from .send import send_plan
from .verify import twins_of, verify
from ..plan.racestate import RaceState, advance

LOG = logging.getLogger("timersync.push")


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
    tgt = settled or targets.target(file, race_id=race_id, profile=profile, server=client.base_url,
                                    bind_as=bind_as)
    run = _Push(client, file, tgt, journal or Journal(tgt.race_id, server=client.base_url), say, lock_wait,
                prefetched, {"base_path": base_path, "race_path": race_path, "encoding": encoding, "delete": delete,
                             "team_type": team_type, "prefer": prefer, "bind_as": bind_as, "two_way": two_way,
                             "new_runners": new_runners, "full": full,
                             **({} if full_after is None else {"full_after": full_after})},
                (max_delete, skip_invalid, max_modify),
                {"settle_wait": settle_wait, "poll": settle_poll, "clock": clock, "sleep": sleep})
    asked: Plan | None = None
    if confirm is not None and asks:
        # The plan is shown and confirmed before the race lock is taken: a timer reading it (or a pager,
        # or a prompt nobody answers) never holds up another push. Reconciling an interrupted batch
        # writes the journal, so that alone happens under the lock; nothing is asked there.
        asked = run.plan_before_lock()
        if asked.is_empty() and not asked.matched:
            return run.result
        if not asked.is_empty() and not confirm(asked):
            raise Cancelled("nothing was sent (you answered no)")
        # An empty plan with matches goes on: they are recorded in the ledger under the lock.

    with locks.push_lock(client.base_url, tgt.race_id, lock_wait, say):
        sent = run.send(asked, confirm, batch_size, read_backs)
        if sent is not None:
            run.check_afterwards(*sent)
    return run.result


class _Push:
    """One push on its way: the file and its target, the journal, the options planning and the guards
    take, and the result so far. The plan shown before the lock is kept (``shown``) until the plan made
    under the lock has reused its read."""

    def __init__(self, client: Any, file: str | Path, tgt: Any, journal: Journal, say: Callable[[str], None],
                 lock_wait: float, prefetched: Any, planning_options: dict[str, Any], guards: tuple[Any, Any, Any],
                 settling: dict[str, Any]):
        self.client, self.file, self.tgt, self.journal, self.say = client, file, tgt, journal, say
        self.lock_wait, self.prefetched = lock_wait, prefetched
        self.planning_options, self.guards, self.settling = planning_options, guards, settling
        self.result = PushResult()
        self.shown: Any = None  # planning.Planned, until the plan under the lock reuses it

    def make_plan(self, reconciling: bool, first: bool, again: Any = None) -> Any:
        """planning.make (reconciling interrupted batches first, when ``reconciling``), then the guards."""
        planned = planning.make(self.file, client=self.client, race_id=self.tgt.race_id, profile=self.tgt.profile,
                                server=self.client.base_url, prefetched=self.prefetched if first else None,
                                renamed=self.journal.renamed,
                                before_plan=self.before_plan if reconciling else None, again=again,
                                settled=self.tgt, **self.planning_options)
        max_delete, skip_invalid, max_modify = self.guards
        check_plan(planned.plan, max_delete, skip_invalid, max_modify)
        return planned

    def before_plan(self, rs: RaceState, _tgt: Any) -> bool:
        """Once RaceEntry is read: reconcile the interrupted batches (waiting for one RaceEntry may still be
        applying), saying what each came to. False when there were none: the binding stays as read."""
        if not self.journal.pending():
            return False
        for msg in reconcile(self.journal, rs, reread=lambda kinds: self.reread(rs, kinds), say=self.say,
                             **self.settling):
            self.result.reconciled.append(msg)
            self.say(msg)
        return True

    def reread(self, rs: RaceState, kinds: set[str]) -> None:
        """RaceEntry again, into the state the plan is made from: only what changed since the last read,
        where it can be."""
        client, race_id = self.client, self.tgt.race_id
        if rs.read_at:
            advance(client, rs, READ_OVERLAP)
        else:
            rs.current = client.participants_answer(race_id, 0).participants
            if "delete" in kinds and rs.removed is not None:
                rs.removed = {str(p.registration_id) for p in client.participants_answer(
                    race_id, 0, removed=True).participants if p.registration_id}
        if "teams" in kinds:
            rs.teams = parse_teams(client.teams(race_id))

    def plan_before_lock(self) -> Plan:
        """The plan to show and confirm: made without the lock, unless interrupted batches must be
        reconciled first (that writes the journal)."""
        if self.journal.pending():
            with locks.push_lock(self.client.base_url, self.tgt.race_id, self.lock_wait, self.say):
                planned = self.make_plan(True, True)
        else:
            planned = self.make_plan(False, True)
        self.result.plan = planned.plan
        # Kept for the plan under the lock: while the file and its binding are unchanged, their read is
        # reused and only RaceEntry's changes since are read (planning.make's ``again``).
        self.shown = planned
        return planned.plan

    def send(self, asked: Plan | None, confirm: Callable[[Plan], bool] | None, batch_size: int,
             read_backs: int) -> tuple[RaceState, int] | None:
        """Under the lock: plan (again), check it against the plan confirmed, send it; after an answer that
        may hide applied rows, read back and plan the rest (at most ``read_backs`` times). Returns the
        state the last plan was read from and RaceEntry's count then, for the check afterwards; None when
        there was nothing to send."""
        for attempt in range(read_backs + 1):
            # Planned (again) inside the lock: a push that waited sees the ledger the first one wrote.
            try:
                planned = self.make_plan(True, attempt == 0 and asked is None, self.shown if attempt == 0 else None)
                self.shown = None
                plan = planned.plan
            except (TimersyncError, OSError) as exc:  # planning again after a read-back: say what landed
                raise stop_error(self.result, exc) from None
            # RaceEntry's count this attempt was planned from, less what earlier attempts already counted.
            before = len(planned.rs.current) - len(self.result.added) + len(self.result.deleted)
            if attempt == 0 and not self.goes_ahead(planned, asked, confirm):
                return None
            if attempt > 0 and plan.is_empty():
                break
            if self.send_once(planned, attempt, read_backs, batch_size):
                break
        # Before the read-back, let go of this push's reads of the file and its base: the check needs only
        # RaceEntry's state the plan was read from (then only what changed since is read) and its count.
        return planned.rs, before

    def goes_ahead(self, planned: Any, asked: Plan | None, confirm: Callable[[Plan], bool] | None) -> bool:
        """The first plan under the lock: no change the timer did not confirm (:func:`_recheck`), something
        to send (else only the rows planning matched are recorded), and, when nothing was asked before
        the lock, a yes at ``confirm``."""
        plan = planned.plan
        if asked is not None:
            _recheck(asked, plan, self.say)
        self.result.plan = plan
        if plan.is_empty():
            if plan.matched:
                record_matches(planned, bind_after_push(planned, self.client.base_url))
            return False
        if confirm is not None and asked is None and not confirm(plan):
            raise Cancelled("nothing was sent (you answered no)")
        return True

    def send_once(self, planned: Any, attempt: int, read_backs: int, batch_size: int) -> bool:
        """Send one plan, recording into the file's binding. False when an answer may hide applied rows
        and the rest is to be planned again after a read-back (PushInterrupted when ``read_backs`` were
        done already); any other failure says what landed before it."""
        result = self.result
        result.sent = True
        b = bind_after_push(planned, self.client.base_url)
        result.binding = b.folder
        record_matches(planned, b)
        try:
            send_plan(self.client, planned, b, self.journal, result, batch_size, self.say)
        except KeyboardInterrupt:
            raise stopped_by_ctrl_c(result, self.journal) from None
        except ReadBack as exc:
            if attempt == read_backs:
                raise stop_error(result, PushInterrupted(f"{exc}. Push stopped after {read_backs} read-backs; "
                                                         f"run the same push again")) from None
            result.read_backs += 1
            self.say(f"{exc}; reading back what landed before sending the rest")
            return False
        except (TimersyncError, OSError) as exc:
            raise stop_error(result, exc) from None
        return True

    def check_afterwards(self, rs: RaceState, before: int) -> None:
        """Read RaceEntry back and check the push (:func:`converters.push.verify.verify`); fields RaceEntry
        wiped go into the file's ledger, so the next push sends them back."""
        result = self.result
        try:
            result.verified = verify(self.client, self.tgt.race_id, result, before, rs)
        except TimersyncError as exc:  # everything was sent and confirmed: the check alone is missing
            result.verified = [f"could not read RaceEntry back to check the push ({exc}); run diff to check it"]
        if result.wiped:
            ledger_wiped(self.tgt.bind_as, result.wiped)


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
    tgt = targets.target(file, race_id=race_id, profile=profile, server=client.base_url, bind_as=bind_as)
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
            if tie_to_twin(tgt.bind_as, rid, twin):
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
        sender = Sender(client, tgt.race_id, journal, say)
        item = {"registration_id": rid, "file": str(tgt.bind_as), "undo_add": True, "twin": keep,
                "ledger": binding_mod.ledger_entry("delete", 0, rid, {})}
        res = sender.send("delete", [(item, rid)], delete_request,
                          lambda bd: client.delete_participants(tgt.race_id, bd))
        if sender.unconfirmed:
            not_confirmed(sender.unconfirmed)
        if isinstance(res[0], dict):
            raise PlanError(f"RaceEntry refused to remove registration {rid} ({name}): {res[0]['error']}")
        tie_to_twin(tgt.bind_as, rid, keep)
    return name, keep


class Cancelled(TimersyncError):
    """The timer said no at the prompt: nothing sent, nothing wrong (exit 0)."""

    exit_code = 0


class PlanChanged(PlanError):
    """The plan made under the race lock holds changes the timer did not confirm (RaceEntry or the file
    changed while the plan was on screen, or while waiting for another push): nothing sent."""


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


