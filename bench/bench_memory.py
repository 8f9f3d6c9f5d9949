"""Peak memory (RSS) of the commands a race-day laptop runs beside its timing program, on a 50,000-runner
race: `pull`, `diff FILE`, the first `sync`, and a `push` of 100 edits. Each runs as its own process
(the CLI, as a timer runs it) against the bundled server in another; the peak is the child's own
(wait4's ru_maxrss; Linux carries a parent's peak across fork and exec, so the server is never this
process).

Targets (issue 12): pull and the first sync of 50,000 under 300 MB each (the race-morning issue's 400 MB
for the first sync before it); issue 21: diff and push under 250 MB (`diff --full` reads the whole race).
Prints figures; not a test.
Run: ``.venv/bin/python bench/bench_memory.py [N]``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import socket  # noqa: E402


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(seconds, peak MB, exit status) of ``timersync ARGS`` as a child process."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "converters", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if status:
        print(f"  ({' '.join(args[:2])} failed: {err.strip()[:200]})")
    return time.perf_counter() - t, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def serve(n: int, env: dict[str, str], *options: str) -> tuple[subprocess.Popen, int]:
    """The bundled server with ``n`` runners (seed 7) as its own process on a free loopback port, once it
    is listening: (the process, its port). The caller terminates it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "converters", "serve", "--port", str(port), "--participants",
                             str(n), "--seed", "7", *options], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None and "RaceEntry-compatible server" in proc.stdout.readline()
    return proc, port


def main(n: int = 50_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ, TIMERSYNC_HOME=str(folder / "state"), PYTHONPATH=str(ROOT))
        base = [sys.executable, "-m", "converters"]
        server_proc, port = serve(n, env)
        url = f"http://127.0.0.1:{port}/rest"
        server = type("Server", (), {"url": url, "race_id": 2026})
        try:
            subprocess.run(base + ["login", "--api-url", url, "--email", "timer@example.com", "--password",
                                   "rehearse-2026"], env=env, check=True, capture_output=True)
            floor = measure(["--version"], env)
            print(f"python + timersync imported (the floor): {floor[1]:6.0f} MB")
            out = folder / "runscore.csv"
            rows = [
                ("pull 50,000 -> CSV", ["pull", str(server.race_id), "-p", "runscore", "-o", str(out)]),
                ("diff FILE (no edits)", ["diff", str(out)]),
                ("diff FILE --full", ["diff", str(out), "--full"]),
                ("first sync -> XLSX", ["sync", str(server.race_id), "-p", "raceresult", "-o",
                                        str(folder / "sync.xlsx")]),
                ("no-change sync", ["sync", str(folder / "sync.xlsx")]),
            ]
            for label, args in rows:
                secs, peak, code = measure(args, env)
                target = ("   target < 300 MB" if label.startswith(("first sync", "pull")) else
                          "   target < 250 MB" if label.startswith("diff") else "")
                print(f"{label:24s} {secs:6.2f} s  peak {peak:6.0f} MB{target}")
            with open(out, encoding="utf-8-sig", newline="") as fh:
                table = list(csv.reader(fh))
            city = table[0].index("City")
            for r in table[1:101]:
                r[city] = "Bench City"
            with open(out, "w", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh, lineterminator="\r\n").writerows(table)
            secs, peak, code = measure(["push", str(out), "--yes"], env)
            print(f"{'push FILE (100 edits)':24s} {secs:6.2f} s  peak {peak:6.0f} MB   target < 250 MB")
        finally:
            server_proc.terminate()
            server_proc.wait(timeout=30)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
