"""Snapshots: the participants JSON a file was made from, kept beside it as the base of a later diff.

``pull`` (and ``sync``) write, next to ``OUTPUT`` (say ``runscore.csv``):
- ``runscore.csv.snapshot.json``: the participants response exactly as RaceEntry returned it (grouped by
  event); it is valid input for ``convert`` and for ``diff --base``.
- ``runscore.csv.race.json``: ``{"race_id", "race": {...}, "teams": [...], "team_types": {...}}``, the
  context needed to name events and teams offline.
The names keep the output's extension: ``runscore.csv`` and ``runscore.xlsx`` pulled at different times
must not share one base, or a three-way diff of the older file would take RaceEntry's changes made in
between for edits in the file and push the old values back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import schemas
from .jsonio import load_file, save_file
from .model import Participant, parse_participants


def snapshot_path_for(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f"{output.name}.snapshot.json")


def context_path_for(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f"{output.name}.race.json")


def save_snapshot(path: str | Path, data: Any) -> None:
    save_file(path, data, pretty=False)


def load_snapshot(path: str | Path) -> tuple[Any, list[Participant]]:
    """(raw grouped JSON, participants) from a snapshot or any saved participants response."""
    data = load_file(path)
    schemas.validate("participants.response", data, str(path))
    return data, parse_participants(data, str(path))


def save_context(path: str | Path, race_id: int, race: dict[str, Any] | None, teams: Any = None,
                 team_types: Any = None) -> None:
    save_file(path, {"race_id": race_id, "race": race, "teams": teams, "team_types": team_types})


def load_context(path: str | Path) -> dict[str, Any] | None:
    path = Path(path)
    if not path.exists():
        return None
    data = load_file(path)
    return data if isinstance(data, dict) else None
