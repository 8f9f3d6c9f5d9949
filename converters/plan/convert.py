"""Whole-file conversions: a participants answer (JSON) to a timing file, or a timing file to JSON, both
directions derived from ONE profile declaration.

JSON -> canonical records (model) -> profile -> rows -> CSV/TXT/XLSX, and back the same way: the reader
finds the profile's columns by header (case, spaces and punctuation ignored, any order, unknown columns
ignored) and undoes every transformation the writer applied (value maps, date formats, event naming,
formula neutralisation), repairing what spreadsheets do to files (bib 50004 -> 50004.0, ZIP 02134 -> 2134,
dates turned into date cells).

The pieces live below: the file record, kinds and formula guard in :mod:`converters.files.records`, races and
events in :mod:`converters.model.races`, reading in :mod:`converters.files.reader`, writing in
:mod:`converters.files.writer`. Their public names stay reachable here (``converters.plan.convert.read_file``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .. import jsonio
from ..model import schemas
from ..model.answers import decode_participants, parse_teams, participants_json
from ..atomic import write_pieces
from ..model.codec import team_to_api
from ..errors import InputError
from ..model import gc_paused
from ..files.profiles import Profile, load_profile
from ..model.races import race_event_order, race_events, with_events
from ..files.reader import check_complete, prefetch, read_file, rows_to_participants, rows_to_teams
from ..files.records import (ID_RE, KINDS, OTHER_KINDS, TRIGGERS, FileData, check_readable, guarded, kind_of,
                             neutralize, teams_path, unneutralize)
from ..files.writer import participants_to_rows, teams_to_rows, write_file

__all__ = ["ConvertResult", "convert_path", "KINDS", "OTHER_KINDS", "TRIGGERS", "FileData", "check_readable",
           "guarded", "kind_of", "neutralize", "teams_path", "unneutralize", "race_event_order", "race_events",
           "with_events", "check_complete", "prefetch", "read_file", "rows_to_participants", "rows_to_teams",
           "participants_to_rows", "teams_to_rows", "write_file"]


# ------------------------------------------------------------------------------------- whole conversions

def _check_ids(data: FileData, profile: Profile) -> None:
    """Every registration id a positive whole number below 2^63 (what RaceEntry issues), else the row named;
    and a file of participants has names (a sheet of ids alone is some other list)."""
    if data.participants and not any((p.first_name or "").strip() or (p.last_name or "").strip()
                                     for p in data.participants):
        raise InputError(f"none of its {len(data.participants):,} rows has a first or last name: it is not a "
                         f"participants file for profile {profile.name} (check the file, or the columns' headers)",
                         file=data.file)

    header = next((c.header for c in profile.columns if c.source == "registration_id"), "registration_id")
    for p, row in zip(data.participants, data.rows):
        rid = (p.registration_id or "").strip()
        if rid and not ID_RE.match(rid):
            raise InputError(f"{rid[:30]!r} is not a registration id (a positive whole number below 2^63): fix it, "
                             f"or clear it for a new runner", file=data.file, row=row, column=header)


@dataclass
class ConvertResult:
    """What `convert` wrote: the files, and how many participants and teams, with the warnings."""
    written: list[Path]
    participants: int
    teams: int
    warnings: list[str]


def convert_path(source: str | os.PathLike, output: str | os.PathLike, profile: Profile | str,
                 teams: str | os.PathLike | None = None, race: str | os.PathLike | None = None,
                 encoding: str | None = None) -> ConvertResult:
    """Convert by extension: ``.json`` (a participants response) -> ``.csv/.txt/.xlsx``, or a file ->
    ``.json`` (the grouped participants response, teams to ``<stem>-teams.json``). ``teams`` and ``race``
    are JSON files (a teams response; a races response or one race)."""
    with gc_paused():
        return _convert_path(source, output, profile, teams, race, encoding)


def _convert_path(source: str | os.PathLike, output: str | os.PathLike, profile: Profile | str,
                  teams: str | os.PathLike | None, race: str | os.PathLike | None,
                  encoding: str | None) -> ConvertResult:
    if isinstance(profile, str):
        profile = load_profile(profile)
    src, out = Path(source), Path(output)
    race_data = jsonio.load_file(race) if race else None
    known: dict[str, int] | None = None
    if src.suffix.lower() != ".json":
        # Imported here, not above: a JSON -> file conversion never needs them, and they bring in the
        # comparison and the RaceEntry client (about 0.3 s more for every `convert` process, a benchmark
        # target: bench/bench_targets.py, 1 and 2).
        from . import binding
        from .targets import base_of

        bound = binding.load(src)  # a file timersync pulled knows its race (event names, order) and base
        if bound is not None:
            if race_data is None:
                race_data = (bound.context or {}).get("race")
            if bound.has_base:  # the events it was written with settle event columns that disagree
                written = base_of(bound)
                known = {p.registration_id: p.event_id for p in written[0] if p.registration_id} if written else None
    if race_data is not None:
        race_events(race_data)  # shape check before anything is written
    if src.suffix.lower() == ".json":
        if out.suffix.lower() == ".json":
            raise InputError("both files are .json; one side must be .csv, .txt or .xlsx", file=str(out))
        kind = kind_of(out)
        participants = decode_participants(jsonio.load_bytes(src), str(src)).participants
        team_list = None
        if teams:
            team_data = jsonio.load_file(teams)
            schemas.validate("teams.response", team_data, str(teams))
            team_list = parse_teams(team_data, str(teams))
        warnings = write_file(out, participants, profile, race=race_data, teams=team_list, kind=kind)
        written = [out]
        if team_list is not None and profile.team_columns and kind != "xlsx":
            written.append(teams_path(out))
        return ConvertResult(written, len(participants), len(team_list or ()), warnings)
    if out.suffix.lower() != ".json":
        raise InputError(f"cannot convert {src.suffix or 'a file without extension'} to "
                         f"{out.suffix or 'a file without extension'}; one side must be .json", file=str(src))
    kind_of(src)
    got = read_file(src, profile, race=race_data, encoding=encoding, known_events=known)
    _check_ids(got, profile)
    written = []
    if got.teams:
        tpath = out.with_name(f"{out.stem}-teams.json")
        jsonio.save_file(tpath, [team_to_api(t) for t in got.teams])
        written.append(tpath)
    write_pieces(out, participants_json(got.participants, race_event_order(race_data)))  # never all dicts at once
    written.insert(0, out)
    return ConvertResult(written, len(got.participants), len(got.teams), got.warnings)
