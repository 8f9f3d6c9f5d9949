"""The plan's types: what a comparison found (teams to create, adds, modifies, switches, deletes) and
what cannot go (unpushable fields, conflicts, undecided differences, invalid rows), the :class:`Plan`
that holds them with its JSON summary, and :func:`apply_plan`, what RaceEntry holds after a plan."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from ..model import Participant
from .values import json_ids, label


@dataclass
class Change:
    """A field a modify changes: its value in RaceEntry and the value to send."""

    field: str
    old: Any
    new: Any


@dataclass
class NewTeam:
    """A team the plan creates, with its type and the file rows that join it."""

    name: str
    team_type_id: str
    rows: list[int]


@dataclass
class Add:
    """A file row to add as a new registration (``new_team``: the team it creates and joins)."""

    row: int
    participant: Participant
    new_team: str | None = None  # the name of a team created by this plan


@dataclass
class Modify:
    """A registration whose fields (or team) the file changed."""

    row: int
    registration_id: str
    event_id: int | None  # the registration's current event (an update must name it)
    changes: list[Change]
    current: Participant
    team_id: str | None = None
    new_team: str | None = None


@dataclass
class Switch:
    """A registration the file moved to another event."""

    row: int
    registration_id: str
    old_event_id: int | None
    new_event_id: int
    current: Participant


@dataclass
class Delete:
    """A registration the file no longer has, to delete (``--delete``)."""

    registration_id: str
    participant: Participant


@dataclass
class Unpushable:
    """A change RaceEntry's API cannot take (bib, chip, age), with the reason in words."""

    row: int
    registration_id: str | None
    field: str
    raceentry: Any
    file: Any
    reason: str
    who: str = ""  # the runner, for people


@dataclass
class Conflict:
    """A field both the file and RaceEntry changed since the base (or a registration gone from one
    side and edited on the other), and how it was settled; also a difference nobody can tell the author of."""

    row: int | None
    registration_id: str | None
    field: str
    base: Any
    file: Any
    raceentry: Any
    resolution: str  # "not pushed", "file wins", "RaceEntry wins"
    who: str = ""  # the runner, for people


@dataclass
class Invalid:
    """A row that cannot be sent, and why."""

    row: int
    registration_id: str | None
    message: str
    who: str = ""  # the runner on the row, for people


@dataclass
class Plan:
    """What one comparison found: the changes to send, what cannot go, and what it was compared with."""

    race_id: int | None
    three_way: bool = False
    teams: list[NewTeam] = field(default_factory=list)
    adds: list[Add] = field(default_factory=list)
    modifies: list[Modify] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    unpushable: list[Unpushable] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    matched: list[tuple[int, str]] = field(default_factory=list)  # (row, registration id) of rows without an id
    bound: list[tuple[int, str]] = field(default_factory=list)  # rows the binding's ledger gave their add's id
    not_in_file: list[str] = field(default_factory=list)  # RaceEntry ids missing from the file (no --delete)
    stale: int = 0  # fields changed only in RaceEntry since the base
    undecided: list[Conflict] = field(default_factory=list)  # differences no base can tell the author of
    repeats: list[tuple[int, int]] = field(default_factory=list)  # (row, earlier row): one runner typed twice
    suspect: str | None = None  # why the file looks scrambled (a column sorted on its own): never pushed
    base_note: str = ""  # which base the plan was compared with, in words
    adds_only: bool = False  # no base and no --two-way: only adds are sent, nothing deleted even with --delete
    read_note: str = ""  # how RaceEntry was read (its changes, or the whole race and why): the first line
    damaged: Counter = field(default_factory=Counter)  # cells a spreadsheet changed, by kind: not edits
    file_rows: int = 0
    current_count: int = 0
    event_names: dict[int, str] = field(default_factory=dict)  # event id -> the race's name for it
    type_names: dict[str, str] = field(default_factory=dict)  # team type id -> RaceEntry's name for it
    race_name: str = ""  # the race as RaceEntry names it

    def event(self, event_id: Any) -> str:
        """An event as RaceEntry names it, its id beside: "10K (68)" (the id alone when no name is known)."""
        return label(self.event_names.get(event_id) if isinstance(event_id, int) else None, event_id)

    def team_type(self, type_id: Any) -> str:
        """A team type as RaceEntry names it, its id beside: "Corporate Challenge (69)"."""
        return label(self.type_names.get(str(type_id)), type_id)

    def is_empty(self) -> bool:
        """Nothing to send."""
        return not (self.teams or self.adds or self.modifies or self.switches or self.deletes)

    def counts(self) -> dict[str, int]:
        """How many items of each kind."""
        return {"teams": len(self.teams), "adds": len(self.adds), "modifies": len(self.modifies),
                "switches": len(self.switches), "deletes": len(self.deletes),
                "unpushable": len(self.unpushable), "conflicts": len(self.conflicts),
                "invalid": len(self.invalid), "not_in_file": len(self.not_in_file),
                "undecided": len(self.undecided)}

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary: counts and every item (no secrets: plans hold no credentials). Ids are
        integers, as everywhere timersync prints JSON."""
        def who(p: Participant) -> str:
            return " ".join(x for x in (p.first_name, p.last_name) if x)

        return json_ids({
            "race_id": self.race_id,
            "three_way": self.three_way,
            "file_rows": self.file_rows,
            "raceentry_participants": self.current_count,
            "counts": self.counts(),
            "teams": [asdict(t) for t in self.teams],
            "adds": [{"row": a.row, "name": who(a.participant), "event_id": a.participant.event_id,
                      "new_team": a.new_team} for a in self.adds],
            "modifies": [{"row": m.row, "registration_id": m.registration_id, "name": who(m.current),
                          "changes": [asdict(c) for c in m.changes]} for m in self.modifies],
            "switches": [{"row": s.row, "registration_id": s.registration_id, "name": who(s.current),
                          "from_event_id": s.old_event_id, "to_event_id": s.new_event_id} for s in self.switches],
            "deletes": [{"registration_id": d.registration_id, "name": who(d.participant),
                         "event_id": d.participant.event_id} for d in self.deletes],
            "unpushable": [asdict(u) for u in self.unpushable],
            "conflicts": [asdict(c) for c in self.conflicts],
            "invalid": [asdict(i) for i in self.invalid],
            "undecided": [asdict(c) for c in self.undecided],
            "repeats": [{"row": r, "same_as_row": first} for r, first in self.repeats],
            "suspect": self.suspect,
            "base": self.base_note,
            "read": self.read_note,
            "matched": [{"row": r, "registration_id": rid} for r, rid in self.matched],
            "bound": [{"row": r, "registration_id": rid} for r, rid in self.bound],
            "not_in_file": list(self.not_in_file),
            "stale_fields": self.stale,
            "spreadsheet_damage": dict(self.damaged),
            "notes": list(self.notes),
        })


def blocked(plan: Plan, skip_invalid: bool = False) -> bool:
    """Whether invalid rows stop the plan from being pushed (push refuses them unless --skip-invalid)."""
    return bool(plan.invalid) and not skip_invalid


def apply_plan(participants: Sequence[Participant], plan: Plan) -> list[Participant]:
    """What RaceEntry should hold after ``plan``: modifies, switches and deletes applied by registration id,
    adds appended (without ids). Pure: the input list and its participants are left untouched."""
    out = [p.copy() for p in participants]
    by_id = {str(p.registration_id): p for p in out if p.registration_id}
    for m in plan.modifies:
        p = by_id[m.registration_id]
        for c in m.changes:
            if c.field == "team":
                p.team_name = m.new_team or c.new or None
                p.team_id = m.team_id
            else:
                setattr(p, c.field, c.new)
    for s in plan.switches:
        by_id[s.registration_id].event_id = s.new_event_id
    gone = {d.registration_id for d in plan.deletes}
    out = [p for p in out if str(p.registration_id) not in gone]
    for a in plan.adds:
        out.append(a.participant.copy(registration_id=None))
    return out
