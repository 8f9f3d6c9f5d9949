"""pandas DataFrames of a race or a timing file, for timers who script (``pip install 'timersync[pandas]'``).

One row per participant, one column per canonical field (``registration_id``, ``event_id``, ``first_name``,
... ``team_name``), the same model every command speaks::

    from converters.frames import race_frame, file_frame
    df = race_frame(client, 2026)                # RaceEntry's participants now
    edited = file_frame("runscore.csv")          # a file timersync pulled (its profile from the binding)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from .errors import TimersyncError
from .model import CANONICAL_FIELDS, Participant


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise TimersyncError("pandas is not installed: pip install 'timersync[pandas]'") from None
    return pandas


def participants_frame(participants: Iterable[Participant]) -> Any:
    """A DataFrame of ``participants``: canonical fields as columns (ids as integers where they are)."""
    pd = _pandas()
    rows = [{f: getattr(p, f) for f in CANONICAL_FIELDS} for p in participants]
    frame = pd.DataFrame(rows, columns=list(CANONICAL_FIELDS))
    for col in ("registration_id", "user_id", "team_id"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    return frame


def race_frame(client: Any, race_id: int) -> Any:
    """RaceEntry's participants of ``race_id`` as a DataFrame (``client``: a logged-in RaceEntryClient)."""
    return participants_frame(client.participants_answer(race_id, 0).participants)


def file_frame(path: str | Path, profile: str | None = None) -> Any:
    """A timing file read back through its profile (by default the one its binding remembers)."""
    from .plan import binding
    from .files.reader import read_file

    if profile is None:
        b = binding.load(path)
        if b is None or not b.profile:
            raise TimersyncError(f"{path}: which profile? Pass profile= (the file has no binding saying which)")
        profile = b.profile
    return participants_frame(read_file(path, profile, keep_bad_dates=True).participants)
