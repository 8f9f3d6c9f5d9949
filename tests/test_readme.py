"""The README stays true to the command line: every `timersync ...` it shows (typed in a transcript,
printed by a command, or quoted in the prose) parses with the CLI as written, so a renamed or removed
option fails here; every program output it shows fits 80 columns; every quirk of the rehearsal server
and every exit status is named. Those checks only parse (milliseconds). One test replays the race-day
rehearsal transcript as a timer types it (about 10 s) and compares each output with the README's, so a
change to what a command prints is a change to the README too."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from converters.cli import main
from converters.rehearsal.defaults import QUIRKS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SHELL = {"&", "&&", "|", ";", "2>&1"}  # where the shell takes over from timersync
PLACEHOLDERS = {"RACE_ID": "2026", "REG_ID": "1213"}  # the Commands table's placeholders that must be numbers
GLOBAL = {"--debug", "-v", "--verbose", "-q", "--quiet"}  # timersync's own options, before the command


def blocks() -> list[tuple[str, list[str]]]:
    """Each fenced code block: (its language, its lines)."""
    return [(m.group(1), m.group(2).split("\n")) for m in re.finditer(r"^```(\w*)\n(.*?)\n```$", README, re.M | re.S)]


def command_lines() -> list[str]:
    """Every timersync command line: in code blocks (typed after `$ `, or printed by a command for the timer
    to copy) and in the prose's inline code (where `timersync watch` alone names a command in passing)."""
    found = []
    for lang, lines in blocks():
        if lang:
            continue
        for line in lines:  # typed after `$ `, or printed indented for the timer to copy
            if line.startswith("$ timersync ") or re.match(r" +timersync ", line):
                found.append(line.strip().removeprefix("$ "))
    return found + prose_spans()


def prose_spans() -> list[str]:
    prose = re.sub(r"^```.*?^```$", "", README, flags=re.M | re.S)
    # `--behave documented\|strict` in a table sums up choices: not a command line
    return [span for span in re.findall(r"`(timersync [^`]+)`", prose) if "|" not in span]


def words(line: str) -> list[str]:
    """The arguments timersync gets: the shell's redirections, background `&` and comments dropped."""
    out = []
    for word in shlex.split(line, comments=True):
        if word in SHELL or word.startswith(">"):
            break
        out.append(PLACEHOLDERS.get(word, word))
    return out[1:]


def parse(args: list[str], whole: bool = True) -> None:
    """Parse ``args`` as click would for `timersync ARGS`, down to the leaf command, invoking nothing.
    Not ``whole``: a command named in passing (`timersync watch`): it must exist, its arguments are not
    checked."""
    rest = list(args)
    while rest and rest[0] in GLOBAL:
        rest.pop(0)
    group: click.Command = main
    ctx = click.Context(main, info_name="timersync")
    while isinstance(group, click.Group) and rest and not rest[0].startswith("-"):
        name, cmd, rest = group.resolve_command(ctx, rest)
        assert cmd is not None
        group, ctx = cmd, click.Context(cmd, info_name=name, parent=ctx)
    if whole or rest:
        group.make_context(ctx.info_name, rest, parent=ctx.parent, resilient_parsing=False)


@pytest.mark.parametrize("line", sorted(set(command_lines())))
def test_every_timersync_command_in_the_readme_parses(line):
    try:
        args = words(line)
        parse(args, whole=len(args) > 1 or line not in prose_spans())
    except click.exceptions.Exit:  # --help, --version
        pass
    except click.UsageError as exc:
        pytest.fail(f"README: `{line}`: {exc.format_message()}")


def test_the_parser_check_can_fail():
    """The check above refuses what the CLI refuses: an unknown option, a missing argument."""
    for line in ("timersync pull 2026 -p runscore -o x.csv --no-such-option", "timersync diff",
                 "timersync no-such-command"):
        with pytest.raises(click.UsageError):
            parse(words(line))


def test_the_readme_shows_its_transcripts_commands():
    """The session's commands are found (so the parse test is not vacuously green)."""
    lines = command_lines()
    for expected in ("timersync demo", "timersync push runscore.csv --team-type 69 --yes",
                     "timersync sync raceresult.xlsx", "timersync diff --offline timersync-demo/runscore.csv"):
        assert expected in lines


def test_program_output_in_the_readme_fits_80_columns():
    """Output the README shows is as wide as the programs print it (80 columns when not a terminal);
    commands (typed, or printed whole to copy) may be longer."""
    wide = []
    for lang, lines in blocks():
        if lang:  # toml, python: files, not output
            continue
        for line in lines:
            if line.startswith(("$ ", "python3 ", "py ", "# ")) or re.match(r" +timersync ", line):
                continue
            if len(line) > 80:
                wide.append(line)
    assert not wide, "README output wider than 80 columns:\n" + "\n".join(wide)


def test_every_server_quirk_is_named_in_the_readme():
    missing = [q for q in QUIRKS if f"`{q}`" not in README]
    assert not missing, f"quirks not named in README.md: {missing}"


def test_the_readmes_exit_statuses_are_the_clis():
    """The README's list of exit statuses has every status `timersync --help` lists, and no other."""
    def statuses(text: str) -> set[str]:
        said = " ".join(text.split())
        listed = said[said.index("Exit status"):]
        listed = listed[:listed.index("130") + 3]
        return set(re.findall(r"(?:^|[:,] )(\d+) ", listed + " "))

    cli = statuses(main.help or "")
    assert {"0", "1", "2", "3", "8", "130"} <= cli
    assert statuses(README[README.index("Exit status of every command"):]) == cli


def four_digit_port() -> int:
    """A free loopback port of four digits, like the README's 8765: the output's line breaks depend on the
    address's length."""
    import random
    import socket

    for port in random.sample(range(8700, 9900), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free four-digit loopback port")


def test_the_rehearsal_transcript_is_what_the_commands_print(tmp_path):
    """The README's race-day rehearsal, replayed command by command against a fresh server: every output
    is what the README shows, to the character (times and dates aside, and the server's port)."""
    import os
    import subprocess
    import sys

    block = next(lines for lang, lines in blocks() if not lang and lines[0].startswith("$ timersync serve"))
    session: list[tuple[str, list[str]]] = []
    for line in block:
        if line.startswith("$ "):
            session.append((line[2:], []))
        else:
            session[-1][1].append(line)
    port = four_digit_port()
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, TIMERSYNC_HOME=str(tmp_path / "home"), COLUMNS="80", PYTHONUNBUFFERED="1")
    for key in ("TIMERSYNC_API_URL", "RACEENTRY_EMAIL", "RACEENTRY_PASSWORD"):
        env.pop(key, None)

    def same(text: str) -> str:
        text = text.replace(":8765/", f":{port}/").replace("--port 8765", f"--port {port}")
        return re.sub(r"\d{8}-\d{6}|\d{4}-\d\d-\d\d|\d\d:\d\d(:\d\d)?", "T", text).rstrip("\n")

    def argv(line: str) -> list[str]:
        args = [w for w in shlex.split(same(line), comments=True) if w != "&"]
        if args[0] == "timersync":
            return [sys.executable, "-m", "converters", *args[1:]]
        if args[0] == "python3":
            return [sys.executable, *(str(root / a) if a.startswith("samples/") else a for a in args[1:])]
        return args

    server = None
    try:
        for line, shown in session:
            if line.endswith("&"):
                server = subprocess.Popen(argv(line), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True)
                assert server.stdout is not None
                got = "".join(server.stdout.readline() for _ in shown)
            else:
                r = subprocess.run(argv(line), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=120)
                got = r.stdout
            assert same(got) == same("\n".join(shown)), f"README: $ {line}\n--- the command prints:\n{got}"
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
