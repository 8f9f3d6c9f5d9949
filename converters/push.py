"""Push: send a plan to RaceEntry safely. Every batch is journaled before it is sent; a lost answer stops
the push, and the next push reads back what landed before planning again, so no runner is added twice
and no change is lost.

The journal lives in ``<state>/journal/race-<id>/``: one JSON file per batch (``000001-participants.json``),
written atomically (fsynced) with ``"status": "sending"`` before the request leaves, rewritten with the
outcome (``done``, ``lost``, ``failed``) after, and ``reconciled`` once a later push has read back an
interrupted batch. A batch still ``sending`` or ``lost`` is what a killed or cut-off push left behind.

Reconciling decides per item: a team landed if RaceEntry has a team of that name; an add landed if
RaceEntry has the same person (names, event, dob or email) under a registration id that did not exist
when the batch was journaled; a modify if the fields now hold the intended values; a switch if the
registration (or, when RaceEntry gave it a new id, the same user) is in the new event; a delete if the id
is gone. Planning again afterwards then sends exactly what did not land: adds that landed are matched to
their rows (see diff.make_plan), switched registrations are followed to their new ids.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from . import state
from .diff import (MAX_DELETE_PER_REQUEST, Add, Modify, Plan, add_payload, make_plan, modify_payload, norm,
                   same_person)
from .errors import ApiError, PlanError, ResponseLost, TimersyncError
from .jsonio import load_file, save_file
from .model import (Participant, Team, TeamType, delete_request, gc_paused, parse_participants,
                    parse_team_types, parse_teams, participants_request, result_ids, switch_request,
                    teams_request)

LOG = logging.getLogger("timersync.push")

IDENTITY_FIELDS = ("first_name", "last_name", "event_id", "dob", "email")


class PushInterrupted(TimersyncError):
    """A batch's answer was lost: the push stopped; the next push reconciles."""

    exit_code = 3


# -------------------------------------------------------------------------------------------- inputs

@dataclass
class RaceState:
    """What planning needs about a race: its events, teams, team types and participants."""

    race_id: int
    race: dict[str, Any] | None
    events: list[int] | None
    teams: list[Team]
    team_types: list[TeamType]
    current: list[Participant]


def race_state(client: Any, race_id: int) -> RaceState:
    """Read the race, its participants, teams and team types from RaceEntry."""
    race = client.race(race_id)
    with gc_paused():
        current = parse_participants(client.participants(race_id, 0), f"participants of race {race_id}")
    teams = parse_teams(client.teams(race_id))
    types = parse_team_types(client.team_types(race_id))
    return RaceState(race_id, race, _event_ids(race), teams, types, current)


def _event_ids(race: Any) -> list[int] | None:
    if not isinstance(race, dict) or not race.get("events"):
        return None
    from .convert import race_events

    return list(race_events(race))


def load_context(race_id: int, file: str | Path, race_path: str | Path | None) -> dict[str, Any] | None:
    """The race context for offline work: ``--race`` (a context file written by pull, a races response or
    one race object) or ``<file>.race.json`` beside the file. Raises PlanError for another race's context."""
    from .snapshot import context_path_for

    path = Path(race_path) if race_path else context_path_for(file)
    if not path.exists():
        if race_path:
            load_file(path)  # raises the usual "file not found"
        return None
    data = load_file(path)
    if isinstance(data, dict) and "race" in data and "race_id" in data:
        ctx = data
    else:
        ctx = {"race_id": None, "race": data, "teams": None, "team_types": None}
        race = data.get("race") if isinstance(data, dict) and isinstance(data.get("race"), dict) else data
        if isinstance(data, dict) and isinstance(data.get("races"), list):
            race = next((r.get("race") for r in data["races"] if str((r.get("race") or {}).get("race_id"))
                         == str(race_id)), None)
        ctx["race"] = race
        ctx["race_id"] = race.get("race_id") if isinstance(race, dict) else None
    if ctx.get("race_id") is not None and str(ctx["race_id"]) != str(race_id):
        raise PlanError(f"{path} is the context of race {ctx['race_id']}, not race {race_id}: the file was pulled "
                        f"from another race; check RACE_ID")
    return ctx


def offline_state(race_id: int, base: list[Participant], ctx: dict[str, Any] | None) -> RaceState:
    """A RaceState from saved JSON only (no network): the base stands for RaceEntry's current state."""
    ctx = ctx or {}
    teams = parse_teams(ctx["teams"]) if ctx.get("teams") is not None else []
    types = parse_team_types(ctx["team_types"]) if ctx.get("team_types") is not None else []
    race = ctx.get("race")
    return RaceState(race_id, race, _event_ids(race), teams, types, base)


def load_base(path: str | Path) -> list[Participant]:
    """The participants of a snapshot (or any saved participants response)."""
    from .snapshot import load_snapshot

    with gc_paused():
        return load_snapshot(path)[1]


def plan_for(file_data: Any, rs: RaceState, base: list[Participant] | None = None, *, delete: bool = False,
             team_type: str | None = None, prefer: str | None = None,
             renamed: dict[str, str] | None = None) -> Plan:
    """make_plan for a read file (convert.FileData) against a race's state."""
    return make_plan(file_data.participants, rs.current, rows=file_data.rows, present=file_data.present, base=base,
                     race_id=rs.race_id, events=rs.events, teams=rs.teams, team_types=rs.team_types,
                     delete=delete, team_type=team_type, prefer=prefer, renamed=renamed,
                     source=getattr(file_data, "file", None) or None)


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


def check_plan(plan: Plan, max_delete: str | int | None = None, skip_invalid: bool = False) -> None:
    """Refuse plans that must not go ahead: invalid rows (unless skipped), and deletions above the limit
    or from a file that looks truncated (empty, or under half of RaceEntry's participants)."""
    if plan.invalid and not skip_invalid:
        shown = "; ".join(f"row {i.row}: {i.message}" for i in plan.invalid[:5])
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


# ------------------------------------------------------------------------------------------- journal

class Journal:
    """One file per batch in ``<state>/journal/race-<id>/``, written atomically."""

    def __init__(self, race_id: int, folder: Path | None = None):
        self.race_id = race_id
        self.folder = folder or state.subdir("journal") / f"race-{race_id}"
        self.folder.mkdir(parents=True, exist_ok=True)

    def entries(self) -> list[tuple[Path, dict[str, Any]]]:
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = load_file(path)
            except TimersyncError:
                continue  # an unreadable entry: atomic writes make this an interrupted rename at worst
            if isinstance(data, dict):
                out.append((path, data))
        return out

    def pending(self) -> list[tuple[Path, dict[str, Any]]]:
        return [(p, e) for p, e in self.entries() if e.get("status") in ("sending", "lost")]

    def begin(self, kind: str, items: list[dict[str, Any]], body: Any) -> Path:
        last = max((int(p.name.split("-")[0]) for p in self.folder.glob("*.json") if p.name[:6].isdigit()),
                   default=0)
        path = self.folder / f"{last + 1:06d}-{kind}.json"
        self.write(path, {"kind": kind, "race_id": self.race_id, "status": "sending", "journaled_at": time.time(),
                          "items": items, "body": body})
        return path

    def write(self, path: Path, entry: dict[str, Any]) -> None:
        save_file(path, entry, pretty=False)

    def finish(self, path: Path, status: str, **fields: Any) -> None:
        entry = load_file(path)
        entry.update(fields, status=status, finished_at=time.time())
        self.write(path, entry)

    def renamed(self) -> dict[str, str]:
        """old -> new registration ids of every switch that landed (RaceEntry may give a new id)."""
        out: dict[str, str] = {}
        for _, e in self.entries():
            if e.get("kind") != "switch":
                continue
            new_ids = e.get("new_ids")
            if new_ids is None and isinstance(e.get("answer"), dict):
                new_ids = [x if isinstance(x, str) else None for x in result_ids(e["answer"])]
            for item, new in zip(e.get("items") or [], new_ids or []):
                if new and str(new) != str(item["registration_id"]):
                    out[str(item["registration_id"])] = str(new)
        # follow chains (switched twice)
        for old in list(out):
            seen = {old}
            while out[old] in out and out[old] not in seen:
                seen.add(out[old])
                out[old] = out[out[old]]
        return out


def _identity_of(p: Participant) -> dict[str, Any]:
    return {f: getattr(p, f) for f in IDENTITY_FIELDS}


def _person(ident: dict[str, Any]) -> Participant:
    return Participant(**{f: ident.get(f) for f in IDENTITY_FIELDS})


def _holds(p: Participant, name: str, value: Any) -> bool:
    if name == "team_id":
        return ("" if value in (None, "") else str(value)) == (p.team_id or "")
    return norm(name, getattr(p, name)) == norm(name, value)


def reconcile(journal: Journal, rs: RaceState) -> list[str]:
    """Read back what the interrupted batches left in RaceEntry (``rs``, freshly read) and record it.

    Returns one message per interrupted batch. Nothing is sent."""
    messages = []
    by_id = {str(p.registration_id): p for p in rs.current}
    team_names = {norm("team_name", t.team_name): str(t.team_id) for t in rs.teams}
    for path, entry in journal.pending():
        kind, items = entry.get("kind"), entry.get("items") or []
        landed: list[bool] = []
        new_ids: list[str | None] = []
        for item in items:
            ok, new = False, None
            if kind == "teams":
                new = team_names.get(norm("team_name", item["name"]))
                ok = new is not None
            elif kind == "participants" and item["op"] == "add":
                row = _person(item["identity"])
                before = set(item.get("preexisting") or [])
                found = next((p for p in rs.current if str(p.registration_id) not in before and same_person(row, p)),
                             None)
                ok, new = found is not None, str(found.registration_id) if found else None
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
            landed.append(ok)
            new_ids.append(new)
        n = sum(landed)
        journal.finish(path, "reconciled", landed=landed, new_ids=new_ids, previous_status=entry.get("status"))
        what = {"teams": "team", "participants": "participant row", "switch": "switch", "delete": "delete"}.get(
            kind, kind)
        messages.append(f"interrupted batch {path.stem} ({len(items)} {what}{'s' if len(items) != 1 else ''}): "
                        f"{n} landed in RaceEntry and {'are' if n != 1 else 'is'} not sent again"
                        + (f"; {len(items) - n} did not and will be planned again" if n < len(items) else ""))
    return messages


# ---------------------------------------------------------------------------------------------- push

@dataclass
class RowError:
    row: int | None
    registration_id: str | None
    what: str
    message: str


@dataclass
class PushResult:
    plan: Plan
    reconciled: list[str] = field(default_factory=list)
    teams_created: dict[str, str] = field(default_factory=dict)  # name -> team id
    added: list[tuple[int, str]] = field(default_factory=list)  # (row, new registration id)
    modified: int = 0
    switched: list[tuple[str, str]] = field(default_factory=list)  # (old id, id after the switch)
    deleted: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    sent: bool = False

    @property
    def partial(self) -> bool:
        return bool(self.errors)


def push(client: Any, race_id: int, file_data: Any, *, base: list[Participant] | None = None,
         delete: bool = False, max_delete: str | int | None = None, skip_invalid: bool = False,
         prefer: str | None = None, team_type: str | None = None, batch_size: int = 100,
         confirm: Callable[[Plan], bool] | None = None, progress: Callable[[str], None] | None = None,
         journal: Journal | None = None) -> PushResult:
    """Reconcile interrupted batches, plan, check the guards, ask ``confirm``, then send teams, adds and
    modifies, switches and deletes in batches, each journaled first. Raises PushInterrupted when an answer
    is lost (the next push reconciles), PlanError for plans that must not go ahead."""
    say = progress or (lambda msg: None)
    if batch_size < 1:
        raise PlanError("--batch-size must be at least 1")
    journal = journal or Journal(race_id)
    rs = race_state(client, race_id)
    reconciled: list[str] = []
    if journal.pending():
        reconciled = reconcile(journal, rs)
        for msg in reconciled:
            say(msg)
    plan = plan_for(file_data, rs, base, delete=delete, team_type=team_type, prefer=prefer,
                    renamed=journal.renamed())
    result = PushResult(plan, reconciled)
    check_plan(plan, max_delete, skip_invalid)
    if plan.is_empty():
        return result
    if confirm is not None and not confirm(plan):
        raise PlanError("push cancelled; nothing was sent")
    result.sent = True

    # Teams first: participants joining a new team need its id.
    team_ids: dict[str, str] = {norm("team_name", t.team_name): str(t.team_id) for t in rs.teams}
    failed_teams: set[str] = set()
    for chunk in _chunks(plan.teams, batch_size):
        items = [{"name": t.name, "team_type_id": t.team_type_id, "rows": t.rows} for t in chunk]
        body = teams_request(Team(team_type_id=t.team_type_id, team_name=t.name) for t in chunk)
        answer = _send(journal, "teams", items, body, lambda b: client.post_teams(race_id, b))
        for t, res in zip(chunk, result_ids(answer, "race_teams", "team_id")):
            if isinstance(res, dict) or not res:
                failed_teams.add(norm("team_name", t.name))
                msg = res["error"] if isinstance(res, dict) else "no team id returned"
                for row in t.rows:
                    result.errors.append(RowError(row, None, f"team {t.name!r}", f"{msg}; the runner goes without it"))
            else:
                team_ids[norm("team_name", t.name)] = str(res)
                result.teams_created[t.name] = str(res)
        say(f"teams: {len(result.teams_created)} of {len(plan.teams)} created")

    # Adds and modifies.
    ident_index: dict[tuple, list[Participant]] = {}
    from .diff import identity

    for p in rs.current:
        ident_index.setdefault(identity(p), []).append(p)
    work: list[tuple[Add | Modify, dict[str, Any], dict[str, Any]]] = []
    for a in plan.adds:
        payload = add_payload(a, team_ids)
        if a.new_team and norm("team_name", a.new_team) in failed_teams:
            payload.get("user", {}).pop("team_id", None)
            payload.pop("team_id", None)
        pre = [str(p.registration_id) for p in ident_index.get(identity(a.participant), ())
               if same_person(a.participant, p)]
        work.append((a, payload, {"row": a.row, "op": "add", "registration_id": None,
                                  "identity": _identity_of(a.participant), "preexisting": pre}))
    for m in plan.modifies:
        if m.new_team and norm("team_name", m.new_team) in failed_teams:
            m = Modify(m.row, m.registration_id, m.event_id, [c for c in m.changes if c.field != "team"], m.current)
            if not m.changes:
                continue
        payload = modify_payload(m, team_ids)
        fields = {c.field: c.new for c in m.changes if c.field != "team"}
        if any(c.field == "team" for c in m.changes):
            tid = payload.get("team_id", payload["user"].get("team_id"))
            fields["team_id"] = None if tid is None else str(tid)
        work.append((m, payload, {"row": m.row, "op": "modify", "registration_id": m.registration_id,
                                  "fields": fields}))
    for chunk in _chunks(work, batch_size):
        body = participants_request([w[1] for w in chunk])
        answer = _send(journal, "participants", [w[2] for w in chunk], body,
                       lambda b: client.post_participants(race_id, b))
        for (op, _, item), res in zip(chunk, result_ids(answer)):
            if isinstance(res, dict):
                what = "add" if item["op"] == "add" else "modify"
                result.errors.append(RowError(op.row, item["registration_id"], what, res["error"]))
            elif item["op"] == "add":
                result.added.append((op.row, str(res)))
            else:
                result.modified += 1
        say(f"participants: {len(result.added)} added, {result.modified} modified")

    # Switches: RaceEntry may answer with new registration ids; they are journaled for later pushes.
    for chunk in _chunks(plan.switches, batch_size):
        items = [{"row": s.row, "registration_id": s.registration_id, "old_event_id": s.old_event_id,
                  "new_event_id": s.new_event_id, "user_id": s.current.user_id} for s in chunk]
        body = switch_request((s.registration_id, s.new_event_id) for s in chunk)
        answer = _send(journal, "switch", items, body, lambda b: client.switch_events(race_id, b))
        for s, res in zip(chunk, result_ids(answer)):
            if isinstance(res, dict):
                result.errors.append(RowError(s.row, s.registration_id, "switch", res["error"]))
            else:
                result.switched.append((s.registration_id, str(res)))
        say(f"switches: {len(result.switched)} of {len(plan.switches)}")

    for chunk in _chunks(plan.deletes, min(batch_size, MAX_DELETE_PER_REQUEST)):
        items = [{"registration_id": d.registration_id} for d in chunk]
        body = delete_request(d.registration_id for d in chunk)
        answer = _send(journal, "delete", items, body, lambda b: client.delete_participants(race_id, b))
        for d, res in zip(chunk, result_ids(answer)):
            if isinstance(res, dict):
                result.errors.append(RowError(None, d.registration_id, "delete", res["error"]))
            else:
                result.deleted.append(d.registration_id)
        say(f"deletes: {len(result.deleted)} of {len(plan.deletes)}")

    result.verified = verify(client, race_id, result, rs)
    return result


def verify(client: Any, race_id: int, result: PushResult, before: RaceState) -> list[str]:
    """Re-read RaceEntry (registration ids may have changed with switches) and check that the counts add up
    and no added runner exists twice."""
    after = parse_participants(client.participants(race_id, 0), f"participants of race {race_id}")
    problems = []
    expected = len(before.current) + len(result.added) - len(result.deleted)
    if len(after) != expected:
        problems.append(f"RaceEntry now has {len(after)} participants, expected {expected}: someone else may be "
                        f"editing the race; run diff to see the difference")
    by_id = {str(p.registration_id): p for p in after}
    for row, rid in result.added:
        p = by_id.get(rid)
        if p is None:
            problems.append(f"row {row}: added as registration {rid}, which RaceEntry no longer lists")
            continue
        twins = [q for q in after if q is not p and same_person(p, q) and norm("email", q.email) == norm("email", p.email)]
        if twins:
            problems.append(f"row {row}: registration {rid} looks like a duplicate of "
                            f"{', '.join(str(q.registration_id) for q in twins)}")
    return problems


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _send(journal: Journal, kind: str, items: list[dict[str, Any]], body: Any,
          call: Callable[[Any], Any]) -> Any:
    """Journal the batch, send it, record the outcome. A lost answer stops the push."""
    path = journal.begin(kind, items, body)
    try:
        answer = call(body)
    except ResponseLost as exc:
        journal.finish(path, "lost", error=str(exc))
        raise PushInterrupted(f"{exc}. Push stopped; run the same push again: it reads back what landed "
                              f"before sending anything else (journal {path})") from None
    except ApiError as exc:
        # Refused as a whole (or never sent): nothing of it applied.
        journal.finish(path, "failed", error=str(exc))
        raise
    journal.finish(path, "done", answer=answer)
    return answer


# ------------------------------------------------------------------------------------- files and plans

def read_input(file: str | Path, profile: Any, race: Any = None, encoding: str | None = None,
               reference: list[Participant] | None = None, prefetched: Any = None) -> Any:
    """The edited file, read through its profile (convert.read_file). ``reference`` (the snapshot, or
    RaceEntry's participants) settles rows whose event name and event id columns disagree."""
    from .convert import read_file

    known = {p.registration_id: p.event_id for p in reference if p.registration_id} if reference else None
    with gc_paused():
        # A bad date stops nothing here: the diff lists that row as invalid and the others can still go.
        return read_file(file, profile, race=race, encoding=encoding, known_events=known, prefetched=prefetched,
                         keep_bad_dates=True)


def snapshot_base(file: str | Path, base_path: str | Path | None) -> tuple[Path | None, list[Participant] | None]:
    """``--base`` if given, else the pull snapshot beside the file if there is one."""
    from .snapshot import snapshot_path_for

    path = Path(base_path) if base_path else snapshot_path_for(file)
    if base_path is None and not path.exists():
        return None, None
    return path, load_base(path)


def write_plan(plan: Plan, folder: str | Path, summary: dict[str, Any], text: str) -> list[Path]:
    """Write the plan's exact request bodies (each validated against its schema) and the summary.

    Participants joining a team the plan creates carry ``"team_id": "new team: NAME"``: the id exists only
    once the team is created; push puts it in. More than 250 deletes are split into
    ``delete_participants-1.json``, ``-2.json``, ... (RaceEntry's per-request cap)."""
    from . import schemas
    from .atomic import write_text
    from .diff import plan_requests

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bodies = plan_requests(plan)
    written = []
    for key, name, schema in (("teams", "teams", "teams.request"),
                              ("participants", "participants", "participants.request"),
                              ("switch_participant_events", "switch_participant_events", "switch.request")):
        if key in bodies:
            schemas.validate(schema, bodies[key], f"{name}.json")
            save_file(folder / f"{name}.json", bodies[key])
            written.append(folder / f"{name}.json")
    deletes = bodies.get("delete_participants") or []
    for i, body in enumerate(deletes, 1):
        schemas.validate("delete.request", body, "delete_participants.json")
        path = folder / (f"delete_participants-{i}.json" if len(deletes) > 1 else "delete_participants.json")
        save_file(path, body)
        written.append(path)
    save_file(folder / "summary.json", summary)
    write_text(folder / "summary.txt", text + "\n")
    return written + [folder / "summary.json", folder / "summary.txt"]
