"""The bad-input corpus (tests/corpus/): every broken file gets its one-line error, exit 1, no traceback,
and nothing written. The plan corpus (tests/corpus/plans/): every file a spreadsheet re-saved or a timer
typed into gets the plan it must give."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

CORPUS = Path(__file__).resolve().parent / "corpus"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))["files"]


def test_every_corpus_file_has_an_expected_message():
    files = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".txt", ".xlsx", ".json")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_gets_its_one_line_error(name, tmp_path):
    from converters.cli import main

    case = EXPECTED[name]
    out = tmp_path / "out.json"
    r = CliRunner().invoke(main, ["convert", str(CORPUS / name), str(out), "-p", case["profile"]])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().replace("\n  ", " ").splitlines()  # one message (wrapped when it is long)
    assert len(lines) == 1 and lines[0].startswith(f"Error: {CORPUS / name}"), r.output
    assert case["message"] in lines[0], lines[0]
    assert "Traceback" not in r.output and not out.exists()


PLANS = CORPUS / "plans"
PLANNED = tomllib.loads((PLANS / "expected.toml").read_text(encoding="utf-8"))["files"]


def test_every_plan_corpus_file_has_its_plan():
    assert {p.name for p in PLANS.iterdir() if p.suffix in (".csv", ".txt", ".xlsx")} == set(PLANNED)


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_plan_corpus_file_gets_its_plan(name, tmp_path):
    import shutil

    from converters.plan import binding
    from converters.cli import main
    from converters.jsonio import load_file

    case = PLANNED[name]
    file = tmp_path / name
    shutil.copy(PLANS / name, file)
    binding.bind(file, server=None, race_id=2026, profile=case["profile"], base=load_file(PLANS / "base.json"),
                 race=load_file(PLANS / "race.json"))
    r = CliRunner().invoke(main, ["diff", "--offline", str(file)])
    assert r.exit_code == case["exit"], r.output
    lines = [line.strip() for line in r.output.splitlines()]
    for want in case["lines"]:
        assert want in lines, f"{want!r} not in:\n{r.output}"
    assert "Traceback" not in r.output
