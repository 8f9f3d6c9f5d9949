"""The bad-input corpus (tests/corpus/): every broken file gets its one-line error, exit 1, no traceback,
and nothing written."""

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
