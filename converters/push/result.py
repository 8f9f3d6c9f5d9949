"""What a push comes to, and what the timer is told: :class:`PushResult` (teams created, rows added,
modified, switched and deleted, rows refused, twins, fields RaceEntry wiped), the errors a push stops
with (:class:`PushInterrupted`, exit 3: run it again; :class:`StoppedByTimer`, Ctrl-C, exit 130), and
the words for what landed (:func:`landed_text`). Exit 1 means nothing was sent: once something of a push
landed, any failure says what landed before it (:func:`stop_error`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compare.plans import Plan
from ..compare.summary import plural
from ..errors import TimersyncError
from ..plan.journal import Journal
from ..model import Participant


class PushInterrupted(TimersyncError):
    """A batch's answer was lost: the push stopped; the next push reconciles."""

    exit_code = 3


# Exit status of a push that landed but left a runner's field other than it should be (a field the push did
# not change blanked or altered by RaceEntry): a person must look (an automatic re-run could wipe it again).
EXIT_WIPED = 7


class StoppedByTimer(PushInterrupted):
    """Ctrl-C during a push: says what landed and what the next push does (exit 130)."""

    exit_code = 130


class ReadBack(TimersyncError):
    """An answer that may hide applied rows (error 102 after a POST): read back, then plan the rest."""


@dataclass
class RowError:
    """A row RaceEntry refused: the file's row (None for a delete), the registration, what was asked
    ("add", "modify", "switch", "delete", "team 'NAME'") and RaceEntry's reason."""

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
    """What a push came to: what it reconciled, created, added, modified, switched and deleted, what
    RaceEntry refused, and what the check afterwards found (warnings, twins, wiped fields)."""

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
        """Whether RaceEntry refused some rows (the rest was sent)."""
        return bool(self.errors)


def landed_text(result: PushResult) -> str:
    """What this push confirmed so far, for a timer: "1 team created, 3 added, 1 modified" ("" if nothing)."""
    parts = [(len(result.teams_created), "team created", "teams created"), (len(result.added), "added", "added"),
             (result.modified, "modified", "modified"), (len(result.switched), "switched", "switched"),
             (len(result.deleted), "deleted", "deleted")]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)


def stop_error(result: PushResult, exc: BaseException) -> BaseException:
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


def stopped_by_ctrl_c(result: PushResult, journal: Journal) -> StoppedByTimer:
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


def not_confirmed(problems: list[str]) -> None:
    """Stop the push (PushInterrupted): rows just sent that RaceEntry's answer did not confirm."""
    raise PushInterrupted(f"{'; '.join(problems)}: they may or may not have reached RaceEntry. Push stopped; run "
                          f"the same push again: it checks what reached RaceEntry before sending anything else")
