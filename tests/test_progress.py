"""Progress on a terminal: one status line on stderr that gives way to real output; nothing when
stderr is not a terminal, or with -q."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.conftest import ROOT, drop_folder


def run_in_terminal(args, state_home, timeout=60, columns=80, interrupt_after=None):
    """Run timersync with stdout and stderr on a pseudo-terminal (Ctrl-C after ``interrupt_after``
    seconds, if given); return its exit status and everything the screen got."""
    import signal
    import time

    main, child = pty.openpty()
    env = dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT), COLUMNS=str(columns))
    proc = subprocess.Popen([sys.executable, "-m", "converters", *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=child, stderr=child, env=env)
    os.close(child)
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        proc.send_signal(signal.SIGINT)
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
    from converters.rehearsal import start_background

    big = start_background(participants=3000, seed=5)
    try:
        from converters.client import RaceEntryClient

        RaceEntryClient(big.url).login(big.email, big.password)
        code, screen = run_in_terminal(["pull", big.race_id, "-p", "runscore", "-o", tmp_path / "a.csv",
                                        "--api-url", big.url], state_home)
        assert code == 0, screen
        assert "\r" in screen and "read" in screen and "writing a.csv" in screen  # the live line
        last = [line.strip() for line in screen.rstrip().splitlines() if not line.startswith("  ")][-1]
        assert last.startswith("Wrote ")  # cleared before the result (which may wrap onto a second line)
        code, screen = run_in_terminal(["-q", "pull", big.race_id, "-p", "runscore", "-o", tmp_path / "b.csv",
                                        "--api-url", big.url], state_home)
        assert code == 0 and "writing b.csv" not in screen and "\r\x1b" not in screen
        r = subprocess.run([sys.executable, "-m", "converters", "pull", str(big.race_id), "-p", "runscore", "-o",
                            str(tmp_path / "c.csv"), "--api-url", big.url], capture_output=True,
                           env=dict(os.environ, TIMERSYNC_HOME=str(state_home), PYTHONPATH=str(ROOT)), timeout=60)
        assert r.returncode == 0 and b"\r" not in r.stderr and b"writing" not in r.stderr  # not a terminal
    finally:
        big.stop()


def test_sync_every_keeps_one_live_line_on_a_terminal(tmp_path, state_home):
    from converters.client import RaceEntryClient
    from converters.plan.pull import pull
    from converters.rehearsal import start_background

    srv = start_background(participants=60, seed=3)
    try:
        client = RaceEntryClient(srv.url)
        client.login(srv.email, srv.password)
        out = tmp_path / "r.csv"
        pull(client, srv.race_id, "runscore", out)
        # A few rounds, none of which changes anything, then Ctrl-C.
        _, text = run_in_terminal(["sync", out, "--every", "1"], state_home, columns=100, interrupt_after=4.5)
        assert text.count("next round in 1 s") >= 2 and "\r" in text  # one line, updated in place
        lines = [line for line in text.split("\n") if "warning: " not in line]  # (the first write's guards)
        assert len(lines) <= 4, text  # no line per round
        assert "Stopped." in text
        assert "started from r.csv as timersync wrote it at " in text  # the first round says so, live or not
    finally:
        srv.stop()


def test_the_watch_status_line(client, server, tmp_path):
    from converters.raceday.watch import Watcher
    from converters.raceday.watch_config import load_config

    folder = drop_folder(tmp_path, server)
    w = Watcher(load_config(folder), client=client)
    assert w.status_line() == "watching in/: 0 done, 0 failed; last: nothing yet (Ctrl-C stops)"
    (folder / "in" / "notes.pdf").write_bytes(b"%PDF")
    w.run_once(max_wait=10)
    assert w.status_line().startswith("watching in/: 0 done, 1 failed; last: ")
    assert "notes.pdf FAILED" in w.status_line()
