"""The bodies of RaceEntry's POSTs built from canonical records, and the per-row results they answer with.

:func:`participant_payload` is one row of ``POST race/{id}/participants`` (a create, or an update that
sends the runner's whole record so that a merging and a replacing server end up with the same runner);
:func:`participants_request`, :func:`switch_request`, :func:`delete_request` and :func:`teams_request` wrap
rows into the documented bodies; :func:`result_ids` reads the answer of any of them.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..model.codec import api_value
from ..errors import ShapeError
from ..model import INT_TEXT, Participant, Team, as_text

# Fields a participant POST can change, canonical name -> where it goes.
POSTABLE_FIELDS = ("first_name", "middle_name", "last_name", "email", "street", "city", "state", "zipcode",
                   "country_code", "dob", "gender", "phone", "team_id")


def participant_payload(p: Participant, changed: Iterable[str] | None = None) -> dict[str, Any]:
    """The POST race/{id}/participants row for ``p``.

    A create (no registration id) sends every field that has a value. An update sends the runner's
    complete record as ``p`` holds it (every field with a value), and the ``changed`` fields even when
    blank (sent as null: cleared). So a server that merges an update into the record and one that
    REPLACES the record (or its user or address object) with what was sent end up with the same runner:
    nothing unsent can be wiped. ``p`` must be RaceEntry's current record with the changes applied (see
    :func:`converters.compare.diff.modify_payload`), never a file's row: an update sends no value nobody typed.
    A field blank in ``p`` and not changed stays out (a replacing server leaves it blank, as it was).

    The document is ambiguous: its example puts gender, phone and team_id beside ``user`` and the
    address zip under ``"zip code"``, its field table puts them inside ``user`` and responses say
    ``zipcode``. We send both spellings; a server reads the one it knows and ignores the other.
    """
    creating = not p.registration_id
    if changed is None or creating:
        fields = [f for f in POSTABLE_FIELDS if getattr(p, f) not in (None, "")]
    else:  # the whole record, plus the changed fields a change blanked (they must be cleared)
        wanted = set(changed)
        fields = [f for f in POSTABLE_FIELDS if f in wanted or getattr(p, f) not in (None, "")]
    user: dict[str, Any] = {"first_name": p.first_name or "", "last_name": p.last_name or ""}
    row: dict[str, Any] = {"registration_id": p.registration_id or "", "event_id": p.event_id, "user": user}
    address: dict[str, Any] = {}
    for f in fields:
        value = getattr(p, f)
        if value == "" and f != "gender":
            value = None
        if f in ("street", "city", "state", "country_code"):
            address[f] = value
        elif f == "zipcode":
            address["zipcode"] = value
            address["zip code"] = value
        elif f in ("gender", "phone", "team_id"):
            api_value = value
            if f == "team_id" and value is not None and INT_TEXT.match(value):
                api_value = int(value)
            user[f] = api_value
            row[f] = api_value
        elif f not in ("first_name", "last_name"):
            user[f] = value
    if address:
        user["address"] = address
    return row


def participants_request(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``POST race/{id}/participants`` body for rows made by :func:`participant_payload`."""
    return {"participants": rows}


def switch_request(pairs: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """The switch-events body: each (registration id, new event id) pair."""
    return {"registrations": [{"registration_id": api_value("registration_id", rid, None),
                               "new_event_id": eid} for rid, eid in pairs]}


def delete_request(registration_ids: Iterable[str]) -> dict[str, Any]:
    """The delete-participants body for these registration ids."""
    return {"registrations": [{"registration_id": api_value("registration_id", rid, None)}
                              for rid in registration_ids]}


def teams_request(teams: Iterable[Team]) -> dict[str, Any]:
    """The ``POST race/{id}/teams`` body: each team's id (blank to create), type and name."""
    return {"race_teams": [{"team_id": t.team_id or "",
                            "team_type_id": api_value("team_type_id", t.team_type_id, None),
                            "team_name": t.team_name} for t in teams]}


def result_ids(data: Any, key: str = "participants", id_key: str = "registration_id") -> list[Any]:
    """The per-row results of a POST: list of ids (text) or ``{"error": msg}`` dicts, in request order."""
    rows = data.get(key) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ShapeError(f"POST response: expected {{\"{key}\": [...]}}")
    out: list[Any] = []
    for row in rows:
        if isinstance(row, dict) and row.get("error"):
            err = row["error"]
            msg = err.get("error_msg") or err.get("message") if isinstance(err, dict) else str(err)
            out.append({"error": str(msg)})
        elif isinstance(row, dict):
            out.append(as_text(row.get(id_key)))
        else:
            out.append(as_text(row))
    return out
