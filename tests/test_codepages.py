"""Code pages without false alarms: a value a Windows-1252 file could not hold is compared as written,
and an accent the code page holds is written with it, however it came composed."""

from __future__ import annotations

from click.testing import CliRunner

from converters.cli import main
from converters.plan.convert import read_file, write_file
from converters.compare.diff import make_plan
from converters.compare.summary import summary_text
from converters.model import Participant
from tests.conftest import unwrapped


def person(rid, **kw):
    base = dict(registration_id=rid, event_id=16, first_name="Ann", last_name="Lee", dob="1971-05-31", gender="F")
    base.update(kw)
    return Participant(**base)


def test_a_windows_1252_file_right_after_a_pull_plans_nothing_and_says_nothing(server, client, tmp_path):
    """It said "12 fields changed only in RaceEntry since the file was pulled" for ever: the names the
    code page had to transliterate, compared with RaceEntry's as if RaceEntry had changed them."""
    out = tmp_path / "director.csv"
    pulled = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "director", "-o", str(out),
                                       "--api-url", server.url])
    assert pulled.exit_code == 0, pulled.output
    assert "cp1252 cannot hold" in unwrapped(pulled.output)  # the race has names the code page lacks
    diffed = CliRunner().invoke(main, ["diff", str(out)])
    assert diffed.exit_code == 0, diffed.output
    assert "changed only in RaceEntry" not in diffed.output
    assert diffed.output.rstrip().endswith("No changes to push.")


def test_transliterated_or_question_marked_as_pulled_is_no_change():
    for written in ("Wang", "?"):
        current = [person("1", last_name="王")]
        plan = make_plan([person("1", last_name=written)], current, events=[16], race_id=2026,
                         base=[p.copy() for p in current])
        assert plan.is_empty() and plan.stale == 0 and not plan.conflicts
        assert "changed only in RaceEntry" not in summary_text(plan)


def test_a_decomposed_accent_the_code_page_holds_is_written_with_it(tmp_path):
    """'Zoë' as RaceEntry may send it (e + U+0308, NFD): 'Zoë' in the Windows-1252 file, not 'Zoe', and
    no warning; read back, it is RaceEntry's name."""
    nfd = "Zoe\u0308"
    out = tmp_path / "director.csv"
    warnings = write_file(out, [person("1", first_name=nfd)], "director")
    assert b"Zo\xeb" in out.read_bytes() and not [w for w in warnings if "cannot hold" in w]
    back = read_file(out, "director").participants
    current = [person("1", first_name=nfd)]
    plan = make_plan(back, current, events=[16], race_id=2026, base=[p.copy() for p in current])
    assert back[0].first_name == "Zoë" and plan.is_empty() and plan.stale == 0
