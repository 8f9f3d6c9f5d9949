"""What a sync round did, in words: per output (written, kept for the timer's edits, failed), the round's
status line, and the runners added, changed (which fields) and removed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..model import CANONICAL_FIELDS, Participant
from ..client.roster import Row
from ..compare.values import named


@dataclass
class OutputResult:
    """What one round did to one output file."""

    path: Path
    wrote: Path | None = None  # the file written: the output, or its .incoming twin; None: untouched
    incoming: bool = False
    edits: list[str] = field(default_factory=list)  # rows the timer edited in the output since the last write
    conflicts: list[str] = field(default_factory=list)  # ... of which RaceEntry also changed
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class SyncResult:
    """One sync round: counts of roster changes, per-output outcome, or why RaceEntry could not be read."""

    when: float
    full: bool = False
    added: int = 0
    changed: int = 0
    removed: int = 0
    total: int = 0
    outputs: list[OutputResult] = field(default_factory=list)
    error: str | None = None  # RaceEntry unreachable or answered an error: nothing was changed
    cut_short: bool = False  # the error is a full read refused as cut short (readcheck)
    # Who, in words: the first SHOW of each kind ("Ann Lee", "Bo Ray (event 5K -> 10K, email)").
    added_who: list[str] = field(default_factory=list)
    changed_who: list[str] = field(default_factory=list)
    removed_who: list[str] = field(default_factory=list)
    started_from: str | None = None  # the file a first round started from ("runscore.csv as pulled 18:53")

    @property
    def ok(self) -> bool:
        """True when RaceEntry was read and every output was handled."""
        return self.error is None and not any(o.error for o in self.outputs)

    def status_line(self) -> str:
        """``HH:MM:SS  1 added, 2 changed, 0 removed; 496 runners (wrote FILE | no change)``."""
        clock = time.strftime("%H:%M:%S", time.localtime(self.when))
        if self.error:
            kept = ", ".join(o.path.name for o in self.outputs) or "the last good file"
            if self.cut_short:
                return f"{clock}  {self.error} (keeping {kept})"
            return f"{clock}  RaceEntry not reachable: {self.error}; keeping {kept}; will catch up"
        notes = []
        for o in self.outputs:
            if o.error:
                notes.append(f"{o.path.name}: {o.error}")
            elif o.incoming:
                notes.append(f"timer edited {len(o.edits)} row{'s' if len(o.edits) != 1 else ''} in "
                             f"{o.path.name} ({len(o.conflicts)} also changed on RaceEntry): kept it, "
                             f"wrote {o.wrote.name if o.wrote else '-'}")
            elif o.wrote:
                notes.append(f"wrote {o.wrote.name}")
        what = "; ".join(notes) or "no change"
        full = "; read in full" if self.full else ""
        return (f"{clock}  {self.added:,} added, {self.changed:,} changed, {self.removed:,} removed; "
                f"{self.total:,} runners ({what}{full})")

    def story(self) -> list[str]:
        """The round in words, below its status line: where a first round started from, then who was
        added, changed (which fields) and removed, the first few of each and how many more."""
        lines = [f"  started from {self.started_from}"] if self.started_from else []
        for label, names, count in (("added", self.added_who, self.added), ("changed", self.changed_who, self.changed),
                                    ("removed", self.removed_who, self.removed)):
            if count:
                more = count - len(names)
                lines.append(f"  {label}: {', '.join(names)}" + (f" and {more:,} more" if more > 0 else ""))
        return lines


SHOW = 5  # runners named per kind in a round's story
_NOT_NEWS = {"last_modified", "age"}  # fields that change without anybody changing the runner
_WORDS = {"event_id": "event", "dob": "date of birth", "zipcode": "ZIP", "team_id": "team", "team_name": "team",
          "team_type_id": "team type", "checked_in": "checked in", "country_code": "country",
          "team_bib": "team bib", "registration_date": "registration date"}


def what_changed(old: Participant, new: Participant, events: dict[int, str]) -> str:
    """The fields that changed, in words: ``event Marathon -> 10K, email``."""
    words: list[str] = []
    for f in CANONICAL_FIELDS:
        if f in _NOT_NEWS or old.get(f) == new.get(f):
            continue
        if f == "event_id":
            words.append(f"event {events.get(old.event_id, old.event_id)} -> {events.get(new.event_id, new.event_id)}")
            continue
        word = _WORDS.get(f, f.replace("_", " "))
        if word not in words:
            words.append(word)
    return ", ".join(words) or "fields the file does not show"


def name_changes(result: SyncResult, upserts: Sequence[tuple[str, Row, Row | None]],
                 removals: Sequence[tuple[str, Row]], events: dict[int, str]) -> None:
    """Name the first SHOW runners added, changed (with the fields that changed) and removed in ``result``."""
    added = [r for _, r, old in upserts if old is None][:SHOW]
    changed = [(r, old) for _, r, old in upserts if old is not None][:SHOW]
    result.added_who = [named(r.record()) for r in added]
    result.changed_who = [f"{named(new.record())} ({what_changed(old.record(), new.record(), events)})"
                          for new, old in changed]
    result.removed_who = [named(old.record()) for _, old in removals[:SHOW]]
