"""Blank and non-binary genders written as each program expects (the profile's `other`), and a file that
still holds that code plans no change: compared as written."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from converters.model import answers
from converters.compare import bodies
from converters import model
from converters.cli import main
from converters.plan.convert import read_file, write_file
from converters.errors import ProfileError
from converters.files.profiles import load_profile

EXPECTED = {"director": ("U", "U"), "raceresult": ("", ""), "runscore": ("", "X"), "racedayscoring": ("", "X")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_program_gets_its_codes(name, tmp_path):
    """(blank, non-binary) as each program expects them; the raceentry profile keeps RaceEntry's own."""
    profile = load_profile(name)
    col = next(c for c in profile.columns if c.source == "gender")
    assert (col.blank, col.other) == EXPECTED[name]
    ps = [model.Participant(registration_id=str(i), event_id=16, first_name="A", last_name="B", gender=g)
          for i, g in enumerate(("M", "F", "", "X"), start=1)]
    out = tmp_path / "p.csv"
    warnings = write_file(out, ps, profile)
    header, *rows = [line.split(",") for line in out.read_text(encoding=profile.encoding).splitlines()]
    at = header.index(col.header)
    assert [r[at] for r in rows] == [col.map["M"], col.map["F"], *EXPECTED[name]]
    said = [w for w in warnings if "no code for" in w]
    assert said == ([] if EXPECTED[name][1] == "X" else
                    [f"{col.header!r}: 1 value {profile.target} has no code for ('X') written as "
                     f"{EXPECTED[name][1]!r}"])


def test_a_non_binary_runner_in_a_binary_program_is_no_edit(server, client, tmp_path):
    """RaceEntry says X; The Race Director's file says U (its sex is binary). Read back U is blank, which
    pushed would wipe the runner's gender: compared as written, it is no change."""
    people = answers.parse_participants(client.participants(server.race_id, 0))
    runner = people[0]
    client.post_participants(server.race_id, bodies.participants_request(
        [bodies.participant_payload(runner.copy(gender="X"), ["gender"])]))
    out = tmp_path / "director.csv"
    pulled = CliRunner().invoke(main, ["pull", str(server.race_id), "-p", "director", "-o", str(out),
                                       "--api-url", server.url])
    assert pulled.exit_code == 0 and "('X') written as 'U'" in pulled.output, pulled.output
    assert read_file(out, "director").participants  # it reads: U is the blank code
    diffed = CliRunner().invoke(main, ["diff", str(out)])
    assert diffed.exit_code == 0 and diffed.output.rstrip().endswith("No changes to push."), diffed.output
    # A real edit of that runner's sex still goes: U -> F.
    text = out.read_bytes().decode("cp1252")
    lines = text.split("\r\n")
    i = next(n for n, line in enumerate(lines) if line.startswith(f"{runner.registration_id},"))
    cells = lines[i].split(",")
    sex = lines[0].split(",").index("Sex")
    assert cells[sex] == "U"
    cells[sex] = "F"
    lines[i] = ",".join(cells)
    out.write_text("\r\n".join(lines), encoding="cp1252", newline="")
    diffed = CliRunner().invoke(main, ["diff", str(out)])
    assert "gender: X -> F" in diffed.output, diffed.output


@pytest.mark.parametrize("body,message", [
    ('other = "U"\n', "other: says what a value the map lacks becomes, so it needs a map"),
    ('map = { M = "M", F = "F" }\nother = "m"\n', "other: 'm' is also a mapped value"),
    ('map = { M = "M", F = "F" }\nother = 1\n', "other: 1 is not of type 'string'"),
])
def test_other_is_checked(tmp_path, body, message):
    path = tmp_path / "x.toml"
    path.write_text('name = "x"\ndescription = "mine"\ntarget = "Mine"\nkinds = ["csv"]\n'
                    '[[columns]]\nheader = "ID"\nsource = "registration_id"\n'
                    '[[columns]]\nheader = "Sex"\nsource = "gender"\n' + body, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        load_profile(str(path))
