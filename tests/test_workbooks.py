"""Hostile and damaged workbooks: their extent is checked before a reader sees them, far-away cells cost
no more than the data, a workbook larger than any race is refused with one line."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

from converters.plan.convert import write_file
from converters.errors import InputError
from converters.model import Participant
from converters.files.xlsx import read_xlsx
from converters.files.xlsx_guard import check_extent
from tests.corpus.make_corpus import rewrite_part

CORPUS = Path(__file__).resolve().parent / "corpus"


def people(n: int) -> list[Participant]:
    return [Participant(registration_id=str(1000 + i), event_id=16, first_name=f"R{i}", last_name="Lee",
                        dob="1980-01-02", gender="F" if i % 2 else "M", zipcode="01234") for i in range(n)]


def peak_mb(*args: str) -> tuple[int, float, str]:
    """Run `timersync ARGS` in a child: (exit status, its peak memory in MB, its stderr)."""
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-m', 'converters', *sys.argv[1:]], capture_output=True, text=True)\n"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.stderr.write(r.stdout + r.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    status, kb = done.stdout.split()
    return int(status), int(kb) / 1024, done.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX")
def test_a_stray_cell_far_below_costs_no_more_than_the_data(tmp_path):
    """One character in row 1,048,576 below 300 runners: it was 6.5 s and 800 MB (calamine's grid of every
    row); now the workbook is read cell by cell, and the blank rows before the stray one are reported."""
    plain = tmp_path / "plain.xlsx"
    write_file(plain, people(300), "runscore")
    stray = tmp_path / "stray.xlsx"
    rewrite_part(plain, stray, "xl/worksheets/sheet1.xml", lambda d: d.replace(
        b"</sheetData>", b'<row r="1048576"><c r="B1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    assert check_extent(plain) and not check_extent(stray)
    status, base_mb, _ = peak_mb("convert", str(plain), str(tmp_path / "plain.json"), "-p", "runscore")
    assert status == 0
    status, stray_mb, err = peak_mb("convert", str(stray), str(tmp_path / "stray.json"), "-p", "runscore")
    assert status == 0 and "302, 303, 304, 305, 306, 307, 308, 309 and 1048266 more are blank (skipped)" in err
    assert sum(len(g["participants"]) for g in orjson.loads((tmp_path / "stray.json").read_bytes())) == 301
    assert stray_mb < base_mb + 100, (base_mb, stray_mb)


def test_a_cell_claimed_at_xfd1048576_does_not_take_the_process_down(tmp_path):
    status, _, err = peak_mb("convert", str(CORPUS / "far_cell.xlsx"), str(tmp_path / "o.json"), "-p", "raceresult")
    assert status == 1 and len(err.strip().splitlines()) == 1 and "stops importing at a blank row" in err


def test_a_declared_extent_alone_is_no_reason_to_go_slow(tmp_path):
    """`<dimension ref="A1:XFD1048576"/>` and an empty formatted cell far away: calamine ignores both."""
    plain = tmp_path / "plain.xlsx"
    write_file(plain, people(3), "raceresult")
    claimed = tmp_path / "claimed.xlsx"
    rewrite_part(plain, claimed, "xl/worksheets/sheet1.xml",
              lambda d: d.replace(b'<dimension ref="', b'<dimension ref="A1:XFD1048576" x="'))
    assert check_extent(claimed)
    assert read_xlsx(claimed) == read_xlsx(plain)


def test_a_workbook_larger_than_any_race_is_refused_in_one_line(tmp_path, monkeypatch):
    plain = tmp_path / "plain.xlsx"
    write_file(plain, people(300), "raceresult")
    monkeypatch.setenv("TIMERSYNC_MAX_ROWS", "100")
    with pytest.raises(InputError, match=r"larger than any race \(a sheet has 30[12] rows; the limit is 100 rows, "
                                         r"TIMERSYNC_MAX_ROWS\)"):
        read_xlsx(plain)
    monkeypatch.setenv("TIMERSYNC_MAX_ROWS", "1000")
    assert read_xlsx(plain)
    # A part that unpacks far beyond its rows (a zip bomb: 4 MB of one shared string, 4 KB a row allowed).
    bomb = tmp_path / "bomb.xlsx"
    rewrite_part(plain, bomb, "xl/sharedStrings.xml",
              lambda d: d.replace(b"</sst>", b"<si><t>" + b"a" * (4 << 20) + b"</t></si></sst>"))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"larger than any race \(its part xl/sharedStrings.xml unpacks to "):
        read_xlsx(bomb)


def test_a_corrupt_part_is_named(tmp_path):
    """Every part is read once before a reader sees it, so a part whose checksum fails is caught there."""
    from converters.errors import CutShort

    path = tmp_path / "p.xlsx"
    write_file(path, people(300), "raceresult")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + 100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CutShort, match=r"cut short or damaged \(part xl/worksheets/sheet1.xml is corrupt\)"):
        read_xlsx(path)
