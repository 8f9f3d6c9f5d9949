"""Benchmark: a race day over a venue's link. The bundled server (its own process) sits behind a throttling
proxy (a small threaded TCP proxy in this process: a bandwidth cap per direction, a delay per exchange,
bytes counted); each step runs as the CLI, as a timer runs it, through the proxy:

  pull, first sync, a no-change sync round, a push of 3 edited names, a push of 500 adds.

Prints, per step, the bytes from RaceEntry (down), to RaceEntry (up) and the seconds end to end.
Targets (issue 21): a push of 3 edits under 1 MB from RaceEntry and under 3 s end to end; a no-change
round under 0.5 s (the round itself, in a running `sync --every`; the process start is shown beside it).
``--no-gzip`` turns the server's compression off, to measure the bytes both ways.

Run: ``.venv/bin/python bench/bench_link.py [--runners N] [--mbps 2] [--latency-ms 100] [--no-gzip]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_memory import serve  # noqa: E402


class Pipe:
    """One direction of the link: a bandwidth cap (bytes per second, shared by every connection) and
    a byte count."""

    def __init__(self, rate: float):
        self.rate = rate
        self.bytes = 0
        self.free_at = 0.0
        self.lock = threading.Lock()

    def take(self, n: int) -> None:
        with self.lock:
            self.bytes += n
            now = time.monotonic()
            start = max(now, self.free_at)
            self.free_at = start + n / self.rate
            wait = self.free_at - now
        if wait > 0:
            time.sleep(wait)


class Proxy:
    """A threaded TCP proxy from a free loopback port to ``upstream``: every chunk is paced by its
    direction's :class:`Pipe`, and the first chunk of each turn (a request, or its answer) waits half of
    ``latency`` (one way)."""

    def __init__(self, upstream: tuple[str, int], rate: float, latency: float):
        self.upstream, self.latency = upstream, latency
        self.down, self.up = Pipe(rate), Pipe(rate)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def counts(self) -> tuple[int, int]:
        return self.down.bytes, self.up.bytes

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            turn = {"last": None}
            for src, dst, pipe, name in ((client, server, self.up, "up"), (server, client, self.down, "down")):
                threading.Thread(target=self._pump, args=(src, dst, pipe, name, turn), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pipe: Pipe, name: str, turn: dict) -> None:
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                if turn["last"] != name:  # a new turn of the exchange: one way of the round trip
                    turn["last"] = name
                    time.sleep(self.latency / 2)
                pipe.take(len(chunk))
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


ROUND = """
import sys, time
from converters.client import RaceEntryClient
from converters.raceday.sync import Syncer
from converters.raceday.sync_outputs import SyncOutput
url, race, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = Syncer(RaceEntryClient(url), race, [SyncOutput("raceresult", path)])
s.run()  # the roster loads (a running `sync --every` holds it)
t = time.perf_counter()
r = s.run()
print(f"{time.perf_counter() - t:.3f} {r.status_line()}")
"""


def step(proxy: Proxy, label: str, argv: list[str], env: dict[str, str]) -> tuple[int, int, float, str]:
    d0, u0 = proxy.counts()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t
    d1, u1 = proxy.counts()
    if proc.returncode:
        print(f"  ({label} exited {proc.returncode}: {proc.stderr.strip()[-200:]})")
    return d1 - d0, u1 - u0, secs, proc.stdout


def mb(n: int) -> str:
    return f"{n / 1e6:8.2f} MB" if n >= 100_000 else f"{n / 1e3:8.1f} KB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runners", type=int, default=50_000)
    ap.add_argument("--mbps", type=float, default=2.0, help="megabytes per second, each way (default 2)")
    ap.add_argument("--latency-ms", type=float, default=100.0, help="round trip (default 100)")
    ap.add_argument("--no-gzip", action="store_true", help="the server answers uncompressed")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = dict(os.environ, TIMERSYNC_HOME=str(folder / "state"), PYTHONPATH=str(ROOT))
        server, port = serve(opts.runners, env, "--test-controls")
        try:
            requests.post(f"http://127.0.0.1:{port}/_control/options", json={"gzip": not opts.no_gzip}, timeout=30)
            proxy = Proxy(("127.0.0.1", port), opts.mbps * 1e6, opts.latency_ms / 1000)
            url = f"http://127.0.0.1:{proxy.port}/rest"
            cli = ["-m", "converters"]
            subprocess.run([sys.executable, *cli, "login", "--api-url", url, "--email", "timer@example.com",
                            "--password", "rehearse-2026"], env=env, check=True, capture_output=True)
            print(f"{opts.runners:,} runners; link {opts.mbps:g} MB/s each way, {opts.latency_ms:g} ms round "
                  f"trip; gzip {'off' if opts.no_gzip else 'on'}")
            print(f"{'step':24s} {'from RaceEntry':>14s} {'to RaceEntry':>13s} {'seconds':>8s}  target")
            out, synced = folder / "runscore.csv", folder / "sync.xlsx"
            rows = []

            def show(label: str, got: tuple[int, int, float, str], target: str = "") -> None:
                down, up, secs, _ = got
                rows.append((label, down, up, secs))
                print(f"{label:24s} {mb(down):>14s} {mb(up):>13s} {secs:8.2f}  {target}".rstrip())

            show("pull -> CSV", step(proxy, "pull", [*cli, "pull", "2026", "-p", "runscore", "-o", str(out)], env))
            show("first sync -> XLSX", step(proxy, "sync", [*cli, "sync", "2026", "-p", "raceresult", "-o",
                                                             str(synced)], env))
            show("no-change sync", step(proxy, "sync", [*cli, "sync", str(synced)], env))
            got = step(proxy, "round", ["-c", ROUND, url, "2026", str(synced)], env)
            round_s = float(got[3].split()[0]) if got[3] else float("nan")
            # The round alone, as in a running `sync --every` (the process above also starts Python).
            print(f"{'  one round in --every':24s} {mb(got[0] // 2):>14s} {mb(got[1] // 2):>13s} "
                  f"{round_s:8.2f}  < 0.5 s")
            with open(out, encoding="utf-8-sig", newline="") as fh:
                table = list(csv.reader(fh))
            first = table[0].index("First Name")
            for r in table[1:4]:
                r[first] = r[first] + "x"
            with open(out, "w", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh, lineterminator="\r\n").writerows(table)
            got = step(proxy, "push", [*cli, "push", str(out), "--yes"], env)
            show("push of 3 edits", got, "< 1 MB, < 3 s")
            print(f"  {got[3].splitlines()[0][:76] if got[3] else '?'}")
            head = table[0]
            add = [[""] * len(head) for _ in range(500)]
            for i, r in enumerate(add):
                r[head.index("First Name")], r[head.index("Last Name")] = f"Link{i}", "Benchadd"
                r[head.index("Event ID")] = table[1][head.index("Event ID")]
                r[head.index("Date of Birth")] = f"01/{1 + i % 28:02d}/19{60 + i % 40}"
            with open(out, "a", encoding="utf-8-sig", newline="") as fh:
                csv.writer(fh, lineterminator="\r\n").writerows(add)
            show("push of 500 adds", step(proxy, "push", [*cli, "push", str(out), "--yes"], env))
            push3 = rows[3]
            ok = push3[1] < 1e6 and push3[3] < 3 and round_s < 0.5
            print(f"targets: push of 3 edits {mb(push3[1]).strip()}, {push3[3]:.2f} s; no-change round "
                  f"{round_s:.2f} s: {'met' if ok else 'MISSED'}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
