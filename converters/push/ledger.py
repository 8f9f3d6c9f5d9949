"""What a push records in the file's binding (:mod:`converters.plan.binding`), beyond the rows each batch
confirmed: the binding it records into (:func:`bind_after_push`), rows planning matched to live runners
(:func:`record_matches`), fields RaceEntry left other than pushed (:func:`ledger_wiped`), and a row tied
to its twin after ``undo-add`` (:func:`tie_to_twin`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..plan import binding as binding_mod
from ..plan.binding import Binding
from ..model.answers import participants_response
from ..plan.planning import Planned
from .result import Wiped


def bind_after_push(planned: Planned, server: str | None) -> Binding:
    """The binding a push records into: the file's own, or, for a file timersync did not pull, a new one
    whose base is RaceEntry as read before the push (so the next diff is three-way from there)."""
    tgt = planned.target
    b = tgt.binding
    if b is not None and not b.legacy:
        return b
    rs = planned.rs
    new = Binding(tgt.bind_as, server, tgt.race_id, binding_mod.profile_ref(tgt.profile), None, [],
                  b.context if b is not None and b.context else {"race_id": tgt.race_id, "race": rs.race,
                                                                   "teams": None, "team_types": None})
    if b is not None and b.legacy and b.has_base:
        new.set_base_raw(b.base_raw())
    elif planned.base is not None:
        new.set_base_raw(participants_response(planned.base, rs.events or []))
    # Else no base: RaceEntry as it is now is not what the file was made from; taking it as the base would
    # make every later RaceEntry change look like the file's edit to push back. The ledger alone is kept.
    new.save()
    tgt.binding = new
    return new


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


def ledger_wiped(bind_as: Any, wiped: Sequence[Wiped]) -> None:
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


def tie_to_twin(bind_as: str | Path, rid: str, keep: str) -> bool:
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
