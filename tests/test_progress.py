"""Progress on a terminal: one status line on stderr that gives way to real output; nothing when
stderr is not a terminal, or with -q."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.conftest import ROOT


def run_in_terminal(args, state_home, timeout=60):
    """Run timersync with stdout and stderr on a pseudo-terminal; return everything the screen got."""
    main, child = pty.openpty()
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT), COLUMNS="80")
    proc = subprocess.Popen([sys.executable, "-m", "converters", *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=child, stderr=child, env=env)
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=timeout)
    os.close(main)
    return proc.returncode, out.decode("utf-8", "replace")


def test_pull_shows_progress_on_a_terminal_and_not_with_q(tmp_path, state_home):
    from converters.server import start_background

    big = start_background(participants=3000, seed=5)
    try:
        from converters.client import RaceEntryClient

        RaceEntryClient(big.url).login(big.email, big.password)
        code, screen = run_in_terminal(["pull", big.race_id, "-p", "runscore", "-o", tmp_path / "a.csv",
                                        "--api-url", big.url], state_home)
        assert code == 0, screen
        assert "\r" in screen and "read" in screen and "writing a.csv" in screen  # the live line
        assert screen.rstrip().splitlines()[-1].strip().startswith("Wrote ")  # cleared before the result
        code, screen = run_in_terminal(["-q", "pull", big.race_id, "-p", "runscore", "-o", tmp_path / "b.csv",
                                        "--api-url", big.url], state_home)
        assert code == 0 and "writing b.csv" not in screen and "\r\x1b" not in screen
        r = subprocess.run([sys.executable, "-m", "converters", "pull", str(big.race_id), "-p", "runscore", "-o",
                            str(tmp_path / "c.csv"), "--api-url", big.url], capture_output=True,
                           env=dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT)), timeout=60)
        assert r.returncode == 0 and r.stderr == b""  # not a terminal: no progress at all
    finally:
        big.stop()
