"""Races and their events, from RaceEntry's races answer: event id -> name, the race's event order, and a
race completed with the events its participants answer names when the races answer lists none.
"""

from __future__ import annotations

from typing import Any

from .answers import Answer
from ..errors import ShapeError
from . import as_int, as_text


def race_events(race: Any) -> dict[int, str]:
    """Event id -> name from a races response, ``{"race": {...}}``, one race object or a list of them."""
    out: dict[int, str] = {}
    if race is None:
        return out
    if isinstance(race, dict) and isinstance(race.get("races"), list):
        race = race["races"]
    items = race if isinstance(race, list) else [race]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("race"), dict):
            item = item["race"]
        if not isinstance(item, dict):
            raise ShapeError("race: expected a races response or a race object")
        for ev in item.get("events") or ():
            if isinstance(ev, dict) and ev.get("event_id") is not None:
                eid = as_int(ev.get("event_id"), "race.events.event_id")
                if eid is not None:
                    out[eid] = as_text(ev.get("name")) or str(eid)
    return out


def with_events(race: Any, answer: Any, race_id: Any = None) -> tuple[Any, str | None]:
    """``race`` (one race object) completed with events: when RaceEntry's races answer lists none (the
    document's only example shows ``"events": []``), the event ids of the participants ``answer`` (and
    their names, where its event objects carry one), with a warning that says exactly that."""
    if isinstance(answer, Answer):
        answer = [{"event": ev} for ev in answer.events()]
    if not isinstance(race, dict) or race.get("events") or not isinstance(answer, list):
        return race, None
    events, named = [], 0
    for group in answer:
        ev = group.get("event") if isinstance(group, dict) else None
        eid = as_int(ev.get("event_id"), "event.event_id") if isinstance(ev, dict) else None
        if eid is None or any(e["event_id"] == eid for e in events):
            continue
        name = as_text(ev.get("name") or ev.get("event_name"))
        named += bool(name)
        events.append({"event_id": eid, "name": name or str(eid)})
    if not events:
        return race, None
    rid = race_id if race_id is not None else race.get("race_id")
    names = "their names too" if named == len(events) else (
        "no names, so event columns show the ids" if not named else "names where given, else the ids")
    return dict(race, events=events), (
        f"RaceEntry's races answer lists no events for race {rid}: event ids {', '.join(str(e['event_id']) for e in events)} "
        f"are taken from its participants answer ({names})")


def race_event_order(race: Any) -> list[int]:
    """The race's event ids in the order RaceEntry lists them."""
    return list(race_events(race))
