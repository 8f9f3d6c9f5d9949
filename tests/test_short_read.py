"""Never a silently short race (issue 17, part 2), over real HTTP: a server that caps its pages at 100 rows
without saying so still gives pull, diff, push and sync the whole race of 450; a server that truly drops
rows is refused with the numbers, and nothing is written, planned or synced from its answer."""

from __future__ import annotations

import csv
import re

import pytest
from click.testing import CliRunner

from converters.cli import main
from converters.client import RaceEntryClient

from .conftest import control, unwrapped


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def big_server():
    from converters.rehearsal import start_background

    handle = start_background(participants=455, seed=3, test_controls=True)
    yield handle
    handle.stop()


def logged_in(server) -> int:
    """Log in through the CLI (the server becomes the default); the race's true number of runners."""
    r = run("login", "--api-url", server.url, "--email", server.email, "--password", server.password)
    assert r.exit_code == 0, r.output
    return len(RaceEntryClient(server.url).participants_answer(server.race_id, 0).participants)


def rename_first(path, name="Renamed"):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][rows[0].index("First Name")] = name
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)


def test_pages_capped_at_100_unsaid_give_the_whole_race(big_server, tmp_path):
    s = big_server
    total = logged_in(s)
    assert total >= 440
    control(s, "options", {"page_cap": 100})
    out = tmp_path / "runscore.csv"
    r = run("pull", s.race_id, "-p", "runscore", "-o", out)
    assert r.exit_code == 0, r.output
    assert f"({total} participants" in r.output
    rename_first(out)
    r = run("diff", out)
    assert r.exit_code == 0, r.output
    assert f"with {total} RaceEntry participants" in r.output and "0 deletes" in r.output
    r = run("push", out, "--yes")
    assert r.exit_code == 0, r.output
    assert "delet" not in r.output.lower() or re.search(r"\b0 delet", r.output.lower())
    synced = tmp_path / "synced.csv"
    r = run("sync", s.race_id, "-p", "runscore", "-o", synced)
    assert r.exit_code == 0, r.output
    assert f"; {total:,} runners" in r.output
    with open(synced, encoding="utf-8-sig", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) == total + 1


def test_a_server_that_drops_rows_is_refused_with_the_numbers(big_server, tmp_path):
    s = big_server
    total = logged_in(s)
    out = tmp_path / "runscore.csv"
    assert run("pull", s.race_id, "-p", "runscore", "-o", out).exit_code == 0
    synced = tmp_path / "synced.csv"
    assert run("sync", s.race_id, "-p", "runscore", "-o", synced).exit_code == 0
    before, before_synced = out.read_bytes(), synced.read_bytes()
    control(s, "options", {"truncate_to": 100})  # every answer: its first 100 rows, whatever is asked

    r = run("pull", s.race_id, "-p", "runscore", "-o", out)
    assert r.exit_code != 0
    line = unwrapped(r.output).strip().splitlines()[-1]
    assert re.search(rf"RaceEntry answered 100 participants for race {s.race_id}, which had {total} at the last "
                     rf"read \(\d\d:\d\d\) and no removals since: the answer looks cut short \({total - 100} runners "
                     rf"missing\); nothing written\. Try again; if it persists, ", line), line
    assert "Traceback" not in r.output and out.read_bytes() == before

    # diff and push read only the changes since the file's base (none here); a whole read is checked.
    r = run("diff", out)
    assert r.exit_code == 0 and r.output.startswith("Read RaceEntry: 0 changes since"), r.output
    r = run("diff", out, "--full")
    assert r.exit_code != 0 and "looks cut short" in r.output and "nothing planned or sent" in unwrapped(r.output), \
        r.output
    rename_first(out)
    r = run("push", out, "--yes", "--full")
    assert r.exit_code != 0 and "looks cut short" in r.output, r.output

    r = run("sync", synced, "--full")
    assert r.exit_code != 0 and "looks cut short" in r.output and "roster and files are unchanged" in \
        unwrapped(r.output), r.output
    assert synced.read_bytes() == before_synced

    # A pull to a new file is compared with the sync roster of the race.
    r = run("pull", s.race_id, "-p", "runscore", "-o", tmp_path / "fresh.csv")
    assert r.exit_code != 0 and f"which had {total} at the last read" in unwrapped(r.output), r.output
    # --force writes the answer as it is.
    r = run("pull", s.race_id, "-p", "runscore", "-o", tmp_path / "fresh.csv", "--force")
    assert r.exit_code == 0 and "(100 participants" in r.output, r.output


def test_removals_in_the_feed_are_not_a_short_read(big_server, tmp_path):
    """Many runners deleted in RaceEntry (in the removed feed) since the last read: a normal pull."""
    from converters.compare import bodies

    s = big_server
    total = logged_in(s)
    out = tmp_path / "runscore.csv"
    assert run("pull", s.race_id, "-p", "runscore", "-o", out).exit_code == 0
    c = RaceEntryClient(s.url)
    gone = [p.registration_id for p in c.participants_answer(s.race_id, 0).participants[:200]]
    for i in range(0, len(gone), 100):
        c.delete_participants(s.race_id, bodies.delete_request(gone[i:i + 100]))
    r = run("pull", s.race_id, "-p", "runscore", "-o", out)  # the removals account for the missing runners
    assert r.exit_code == 0 and f"({total - 200} participants" in r.output, r.output
