"""The file record both directions share: what a timing file held in canonical form (:class:`FileData`),
the file kinds, the formula guard, the field types a column decodes to, and what an event column holds.
The reader (:mod:`converters.files.reader`) and the writer (:mod:`converters.files.writer`) both stand on it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, ProfileError
from ..model import Participant, Team
from .profiles import Column, Profile

KINDS = ("csv", "txt", "xlsx")
ID_RE = re.compile(r"[1-9][0-9]{0,17}\Z")  # a registration id: a positive integer below 2^63
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
INT_FIELDS = {"event_id", "age", "last_modified"}
FLAG_FIELDS = {"checked_in"}
FLOAT_INT = re.compile(r"-?[0-9]+\.0+\Z")
INT_LINES = re.compile(r"\n(?:(?:-?(?:0|[1-9][0-9]*))?\n)*\Z")  # a joined column of integers/blanks
STR_ONLY = {str}
FLOAT_ONLY = {float}
PARTICIPANT_ARGS = tuple(f for f in Participant.__struct_fields__ if f not in ("extra", "types"))


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
    if rest[:1] in TRIGGERS and rest:
        return "'" + value
    return value


def unneutralize(value: str) -> str:
    """Inverse of :func:`neutralize`: drop exactly one leading ``'`` before (more ``'`` and) a trigger."""
    if value[:1] == "'":
        rest = value.lstrip("'")
        if rest and rest[0] in TRIGGERS:
            return value[1:]
    return value


# ------------------------------------------------------------------------------------------ file kinds

def kind_of(path: str | os.PathLike, kind: str | None = None) -> str:
    """The file kind (csv, txt or xlsx) given, else by the file's extension; ProfileError for another."""
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
    recognised by the diff (damage.damage_of: "formula guard")."""
    return kind != "xlsx" and profile.neutralize_csv


def event_table(col: Column, profile: Profile, events: dict[int, str]) -> dict[int, str]:
    """Event id -> what an event column holds: the event's name, the profile's [event_map], or ("order")
    its number 1..n in the race's event order (Race Result's contests)."""
    if col.event == "name":
        return events
    if col.event == "order":
        return {eid: str(n) for n, eid in enumerate(events, start=1)}
    return profile.event_map
