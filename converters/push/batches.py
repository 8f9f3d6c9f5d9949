"""The batch sender: one kind of batch at a time, journaled before it is sent, every row confirmed, and a
batch refused as a whole split to find the rows at fault (:class:`Sender`).

Every row sent must come back confirmed (its registration id, in the documented answer); a row that does
not is handled like a lost answer. The ids of added rows are checked by identity against one read of what
changed since the batch left (the answer may list them in another order). After an error 102 (expired
key) to a POST, nothing is re-sent before a read-back: the key may have been checked after the batch was
applied; when logging in again fails, the batch is lost like any other (exit 3, "log in, push again").
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Callable, Sequence

from .. import progress
from ..compare.identity import identity, identity_index, same_person
from ..compare.values import norm
from ..errors import AnsweredError, ApiError, AuthError, ConnectionFailed, ResponseLost, ShapeError, TimersyncError
from ..plan.journal import Journal
from ..model.answers import parse_teams
from ..compare.bodies import result_ids
from ..model import Participant
from .readback import READ_OVERLAP, batch_words, person_of, read_back
from .result import PushInterrupted, ReadBack
from ..plan.racestate import RaceState, advance, race_state


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


class Refused(TimersyncError):
    """RaceEntry refused a whole batch (an error answer, nothing of it applied by its word)."""

    def __init__(self, error: ApiError):
        super().__init__(str(error))
        self.error = error
        self.reason = str(error).split("RaceEntry says: ", 1)[-1]


class Sender:
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
        if kind in ("participants", "delete"):
            res = _kept_ids(units, res)
        missing = sum(r is None for r in res)
        adds = [i for i, (item, _) in enumerate(units) if item.get("op") == "add" and isinstance(res[i], str)]
        absent, checked = 0, False
        if kind == "participants" and adds:
            res, absent = self._by_identity(units, res, adds, since)
            checked = True
        elif kind == "switch" and any(isinstance(r, str) for r in res):
            res, absent = self._switches_by_runner(units, res)
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

    def _switches_by_runner(self, units: Sequence[tuple[dict[str, Any], Any]], res: list[Any]
                            ) -> tuple[list[Any], int]:
        """The answer's ids for switched registrations, checked against RaceEntry when they are not the ids
        sent (a RaceEntry that gives a switched registration a new id): each row takes the id its own
        runner is under in the new event (:func:`converters.push.readback.read_back`, one read of what
        changed), whatever position the answer gave it. A row whose runner RaceEntry does not show there
        is not confirmed (None). Returns the ids and how many rows are not confirmed."""
        sent = [str(u[0]["registration_id"]) for u in units]
        if all(not isinstance(r, str) or r == s for r, s in zip(res, sent)):
            return res, 0  # every registration kept its id: no order to mix up
        found = read_back("switch", [u[0] for u in units], self._now("switch"))
        out, absent, mixed = list(res), 0, 0
        for i, (ok, new) in enumerate(found):
            if not isinstance(res[i], str):
                continue
            if not (ok and new):
                out[i], absent = None, absent + 1
            elif new != res[i]:
                out[i], mixed = new, mixed + 1
        if mixed:
            self.say(f"switches: RaceEntry's answer gave {mixed} of {len(units)} switched registrations another "
                     f"runner's new id; each took the id its own runner has in the new event")
        return out, absent

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


def _kept_ids(units: Sequence[tuple[dict[str, Any], Any]], res: list[Any]) -> list[Any]:
    """The answer's results for modified or deleted rows, by registration id rather than by position: such
    a row keeps its id, so an answer listing another such row's id where this row's should be is out of
    order. Then each is confirmed when its own id is among the answer's, and left unconfirmed (None: the
    next push reads it back) otherwise, since an out-of-order refusal cannot be told from another row's."""
    sent = {i: str(u[0]["registration_id"]) for i, u in enumerate(units)
            if u[0].get("op", "delete") in ("modify", "delete") and u[0].get("registration_id")}
    ids = set(sent.values())
    if all(r == sent[i] if i in sent else r not in ids for i, r in enumerate(res) if isinstance(r, str)):
        return res  # in order (or no ids to tell by): as answered
    answered = {r for r in res if isinstance(r, str)}
    out = list(res)
    for i, rid in sent.items():
        out[i] = rid if rid in answered else None
    return out


def _match_adds(units: Sequence[tuple[dict[str, Any], Any]], res: list[Any], adds: list[int],
                records: Sequence[Participant], claimed: set[str]) -> tuple[list[Any], list[int], list[str]]:
    """Give each added row (``adds``: indexes into ``units``) the id of the record in ``records`` that is
    the same person, not one that existed before the push (``preexisting``) or another row of this push
    got (``claimed``). The answer's own id for the row wins when it is such a record; else the row takes
    one (one the answer gave this batch first), and a note says the answer's id was another runner's.
    Returns the ids, the rows no record matched (their id None) and the notes."""
    answered = {str(r) for r in res if isinstance(r, str)}
    index = identity_index(records, {identity(person_of(units[i][0]["identity"])) for i in adds})
    cands: dict[int, list[str]] = {}
    for i in adds:
        item = units[i][0]
        row = person_of(item["identity"])
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
