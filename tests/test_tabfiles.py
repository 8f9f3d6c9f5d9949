"""The tab-delimited kind (.txt) is really tab-delimited: one record a line, never quoted."""

from __future__ import annotations

from converters.plan.convert import write_file
from converters.model import Participant
from converters.files.profiles import load_profile
from converters.files.reader import read_file

NASTY = ['Bob "Speedy"', '"Speedy"', 'O"Neil', 'tab\there', 'two\nlines', 'cr\rlf\r\nend', '""""',
         '"a ""b"""', "\tlead", "=1+1"]


def runners() -> list[Participant]:
    return [Participant(registration_id=str(1000 + i), event_id=16, first_name=v, last_name=f"L{i}",
                        street=NASTY[-1 - i]) for i, v in enumerate(NASTY)]


def test_every_record_is_on_exactly_one_line(tmp_path):
    """A line-oriented reader (split at line endings, then at tabs, no quote rules) sees every runner on
    one line with every cell in place: what timing programs' text imports do."""
    profile = load_profile("runscore")
    path = tmp_path / "runscore.txt"
    warnings = write_file(path, runners(), profile)
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    assert lines[-1] == "" and len(lines) == len(NASTY) + 2
    width = len(profile.headers)
    cells = [line.split("\t") for line in lines[:-1]]
    assert all(len(row) == width for row in cells)
    first, street = profile.headers.index("First Name"), profile.headers.index("Address")
    got = [row[first] for row in cells[1:]]
    assert got == ['Bob "Speedy"', '"Speedy"', 'O"Neil', "tab here", "two lines", "cr lf end",
                   '""""""""""', '"""a """"b"""""""', " lead", "'=1+1"]
    assert cells[1][street] == "'=1+1"
    # Once per file, not per value: 4 first names and 4 streets held a tab or a line break.
    notes = [w for w in warnings if "line breaks" in w]
    assert notes == ["8 tabs or line breaks in values written as spaces (first: row 3, 'Address')"]


def test_reading_mirrors_writing(tmp_path):
    path = tmp_path / "runscore.txt"
    write_file(path, runners(), "runscore")
    back = read_file(path, "runscore").participants
    spaced = {"tab\there": "tab here", "two\nlines": "two lines", "cr\rlf\r\nend": "cr lf end", "\tlead": " lead"}
    assert [p.first_name for p in back] == [spaced.get(v, v) for v in NASTY]
    assert [p.street for p in back] == [spaced.get(v, v) for v in reversed(NASTY)]


def test_a_spreadsheets_quoting_is_read_as_meant(tmp_path):
    # Excel and LibreOffice save a cell holding a quote in their quoted form (Bob "Speedy" as
    # "Bob ""Speedy"""), and timersync did too before: read as the value it quotes, never as new quotes.
    profile = load_profile("runscore")
    path = tmp_path / "resaved.txt"
    write_file(path, runners()[:3], profile)
    text = path.read_text(encoding="utf-8")
    text = text.replace('\tBob "Speedy"\t', '\t"Bob ""Speedy"""\t').replace('\t"Speedy"\t', '\t"""Speedy"""\t')
    path.write_text(text, encoding="utf-8", newline="")
    back = read_file(path, profile).participants
    assert [p.first_name for p in back] == ['Bob "Speedy"', '"Speedy"', 'O"Neil']
