"""Participants and teams <-> rows <-> files, both directions derived from ONE profile declaration: what
both directions share (the file record, the formula guard, races and events, file kinds) and whole-file
conversions. Writing is :mod:`converters.writer`, reading :mod:`converters.reader`; their public names
are available here too.

JSON -> canonical records (model) -> profile -> rows -> CSV/TXT/XLSX, and back the same way: the reader
finds the profile's columns by header (case, spaces and punctuation ignored, any order, unknown columns
ignored) and undoes every transformation the writer applied (value maps, date formats, event naming,
formula neutralisation), repairing what spreadsheets do to files (bib 50004 -> 50004.0, ZIP 02134 -> 2134,
dates turned into date cells).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError, ProfileError, ShapeError
from .model import Participant, Team, as_int, as_text, gc_paused
from .profiles import Column, Profile, load_profile

KINDS = ("csv", "txt", "xlsx")
_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_INT_FIELDS = {"event_id", "age", "last_modified"}
_FLAG_FIELDS = {"checked_in"}
_FLOAT_INT = re.compile(r"-?[0-9]+\.0+\Z")
_INT_TEXT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_INT_LINES = re.compile(r"\n(?:(?:-?(?:0|[1-9][0-9]*))?\n)*\Z")  # a joined column of integers/blanks
_STR_ONLY = {str}
_FLOAT_ONLY = {float}
_PARTICIPANT_ARGS = tuple(f for f in Participant.__struct_fields__ if f not in ("extra", "types"))


@dataclass
class FileData:
    """What a file held, in canonical form."""

    participants: list[Participant]
    rows: list[int]  # 1-based spreadsheet row of each participant (header = row 1)
    teams: list[Team]
    warnings: list[str]
    present: set[str]  # canonical fields the file's columns carry
    team_rows: list[int] = field(default_factory=list)
    file: str = ""  # where it was read from, for messages


# ------------------------------------------------------------------------------------ formula injection

def neutralize(value: str) -> str:
    """OWASP: prefix ``'`` to a value a spreadsheet would run as a formula. Values that already are
    apostrophes followed by a trigger get one more, so :func:`unneutralize` is an exact inverse."""
    if not value:
        return value
    rest = value.lstrip("'")
    if rest[:1] in _TRIGGERS and rest:
        return "'" + value
    return value


def unneutralize(value: str) -> str:
    """Inverse of :func:`neutralize`: drop exactly one leading ``'`` before (more ``'`` and) a trigger."""
    if value[:1] == "'":
        rest = value.lstrip("'")
        if rest and rest[0] in _TRIGGERS:
            return value[1:]
    return value


# ----------------------------------------------------------------------------------------------- races

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
    from .model import Answer

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
    return list(race_events(race))


def kind_of(path: str | os.PathLike, kind: str | None = None) -> str:
    if kind:
        if kind not in KINDS:
            raise ProfileError(f"unknown file kind {kind!r}; choose csv, txt or xlsx")
        return kind
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in KINDS:
        raise InputError(f"cannot tell the file kind from {Path(path).suffix or 'no extension'!r}; "
                         f"use .csv, .txt or .xlsx", file=str(path))
    return ext


# Spreadsheet kinds a timer may try that timersync does not read, and how to save them as one it does.
OTHER_KINDS = {
    "xls": ("an Excel 97-2003 workbook", "Excel: File > Save As > Excel Workbook"),
    "xlsm": ("an Excel workbook with macros", "Excel: File > Save As > Excel Workbook"),
    "xlsb": ("an Excel binary workbook", "Excel: File > Save As > Excel Workbook"),
    "ods": ("a LibreOffice spreadsheet", "LibreOffice: File > Save As > Excel 2007-365"),
    "numbers": ("an Apple Numbers file", "Numbers: File > Export To > Excel"),
}


def check_readable(path: str | os.PathLike) -> None:
    """Before anything else (a race to ask for, a server to reach): the timing file must be there and of
    a kind timersync reads. InputError, one line saying what to do, when not."""
    p = Path(path)
    if p.is_dir():
        raise InputError("is a folder, not a file: give the timing file inside it", file=str(path))
    if not p.exists():
        raise InputError(f"no such file in {Path.cwd()}: check the name, or give its full path", file=str(path))
    ext = p.suffix.lower().lstrip(".")
    if ext in OTHER_KINDS:
        what, how = OTHER_KINDS[ext]
        raise InputError(f"{what} (.{ext}): timersync reads .csv, .txt and .xlsx; save it as .xlsx ({how})",
                         file=str(path))
    kind_of(p)


def teams_path(path: str | os.PathLike) -> Path:
    """``<stem>-teams.<ext>`` beside a CSV/TXT file: where its teams table goes."""
    p = Path(path)
    return p.with_name(f"{p.stem}-teams{p.suffix}")


def guarded(profile: Profile, kind: str) -> bool:
    """Whether values a spreadsheet would run as formulas get a leading ``'`` (written, and removed when
    read back). Only CSV/TXT, as the profile says: an XLSX string cell is never evaluated, so it holds the
    exact value (Race Result imports it as is). An apostrophe an earlier version put in a workbook is
    recognised by the diff (diff.damage_of: "formula guard")."""
    return kind != "xlsx" and profile.neutralize_csv


def _event_table(col: Column, profile: Profile, events: dict[int, str]) -> dict[int, str]:
    """Event id -> what an event column holds: the event's name, the profile's [event_map], or ("order")
    its number 1..n in the race's event order (Race Result's contests)."""
    if col.event == "name":
        return events
    if col.event == "order":
        return {eid: str(n) for n, eid in enumerate(events, start=1)}
    return profile.event_map


# ------------------------------------------------------------------------------------- whole conversions

def _check_ids(data: FileData, profile: Profile) -> None:
    """Every registration id a positive whole number below 2^63 (what RaceEntry issues), else the row named;
    and a file of participants has names (a sheet of ids alone is some other list)."""
    from .diff import _ID_RE

    if data.participants and not any((p.first_name or "").strip() or (p.last_name or "").strip()
                                     for p in data.participants):
        raise InputError(f"none of its {len(data.participants):,} rows has a first or last name: it is not a "
                         f"participants file for profile {profile.name} (check the file, or the columns' headers)",
                         file=data.file)

    header = next((c.header for c in profile.columns if c.source == "registration_id"), "registration_id")
    for p, row in zip(data.participants, data.rows):
        rid = (p.registration_id or "").strip()
        if rid and not _ID_RE.match(rid):
            raise InputError(f"{rid[:30]!r} is not a registration id (a positive whole number below 2^63): fix it, "
                             f"or clear it for a new runner", file=data.file, row=row, column=header)


@dataclass
class ConvertResult:
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
    from . import jsonio, schemas
    from .atomic import write_pieces
    from .model import decode_participants, parse_teams, participants_json, team_to_api
    from .reader import read_file
    from .writer import write_file

    if isinstance(profile, str):
        profile = load_profile(profile)
    src, out = Path(source), Path(output)
    race_data = jsonio.load_file(race) if race else None
    known: dict[str, int] | None = None
    if src.suffix.lower() != ".json":
        from . import binding

        bound = binding.load(src)  # a file timersync pulled knows its race (event names, order) and base
        if bound is not None:
            if race_data is None:
                race_data = (bound.context or {}).get("race")
            if bound.has_base:  # the events it was written with settle event columns that disagree
                from .planning import base_of

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


# Reading and writing live in their own modules; their names stay reachable here (converters.convert.read_file).
_MOVED = {"reader": ("read_file", "prefetch", "check_complete", "rows_to_participants", "rows_to_teams"),
          "writer": ("write_file", "participants_to_rows", "teams_to_rows")}


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _MOVED.items():
        if name in names:
            return getattr(importlib.import_module(f".{module}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
