"""Never a silently short race: a full read of a race is compared with the previous read (a pulled file's
base, the sync roster) before anything is written, planned or sent from it.

A server that caps its answers without saying so, or drops rows, would otherwise write a file of 100 for a
race of 450, and a later diff would call the other 350 "deleted in RaceEntry". A read is refused when it
lacks a large share of the runners the previous read had (more than ``SHARE`` of them and more than
``LEAST``) that the removed feed does not account for. One function, :func:`check`, serves pull, diff/push
(``racestate.race_state``) and sync.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

from ..errors import ShortRead

SHARE = 0.10  # a read may lack up to this share of the previous read's runners ...
LEAST = 5     # ... or up to this many, without explanation, before it is refused
OVERLAP = 60  # seconds the removed feed is read back from the previous read's newest change


def ids_of(participants: Iterable[Any]) -> dict[str, int]:
    """registration id -> last_modified of records (Participants), for :func:`check`."""
    return {str(p.registration_id): int(p.last_modified or 0) for p in participants if p.registration_id}


def looks_short(missing: int, before: int) -> bool:
    """Whether ``missing`` runners of ``before`` are too many to be the race's own changes (a read cut short)."""
    return missing > LEAST and missing > SHARE * before


def check(client: Any, race_id: int, got: Iterable[Any], before: Mapping[str, int] | None, when: float | None,
          removed: Iterable[str] | None = None, outcome: str = "nothing written", hint: str = "") -> None:
    """Raise :class:`ShortRead` when ``got`` (this read's participants, or their ids) lacks more than
    ``SHARE`` and more than ``LEAST`` of ``before`` (the previous read: id -> last_modified, taken at
    ``when``) that the removed feed does not account for. ``removed``: the ids of the removed feed when
    already read; else it is read (only when something looks missing) from the previous read's newest
    change on. ``outcome``: what was not done; ``hint``: what to do when it persists."""
    if not before:
        return
    have = {str(getattr(p, "registration_id", p)) for p in got}
    lost = [rid for rid in before if rid not in have]
    if not looks_short(len(lost), len(before)):
        return
    if removed is None:
        since = max(0, max(before.values(), default=0) - OVERLAP)
        removed = {str(p.registration_id) for p in client.participants_answer(race_id, since, removed=True).participants}
    else:
        removed = {str(r) for r in removed}
    missing = [rid for rid in lost if rid not in removed]
    if not looks_short(len(missing), len(before)):
        return
    explained = len(lost) - len(missing)
    removals = "no removals since" if not explained else f"only {explained:,} removal{'s' if explained != 1 else ''} since"
    raise ShortRead(f"RaceEntry answered {len(have):,} participants for race {race_id}, which had {len(before):,} "
                    f"at the last read{_at(when)} and {removals}: the answer looks cut short ({len(missing):,} "
                    f"runners missing); {outcome}. Try again; if it persists, "
                    + (hint or "ask RaceEntry's support why its answer lacks them"))


def _at(when: float | None) -> str:
    return f" ({clock(when)})" if when else ""


def clock(when: float) -> str:
    """A local time as a timer says it: ``14:20`` today, ``2026-12-01 14:20`` another day."""
    same_day = time.strftime("%Y-%m-%d", time.localtime(when)) == time.strftime("%Y-%m-%d")
    return time.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M", time.localtime(when))
