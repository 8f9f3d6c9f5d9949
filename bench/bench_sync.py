"""Sync and drop-folder figures.

    .venv/bin/python bench/bench_sync.py [--participants 50000] [--files 500]

1. A sync round with no changes on a 50,000-participant race: requests, bytes, time, and no file write.
2. A round with 100 changes: rewrites the 50,000-row CSV (target: under 1 s).
3. 500 files dropped into the watcher's in/ at once: all processed exactly once.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--participants", type=int, default=50_000)
    ap.add_argument("--files", type=int, default=500)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    os.environ["TIMERSYNC_HOME"] = str(tmp / "state")

    from converters.client import RaceEntryClient
    from converters.model.answers import parse_participants
    from converters.compare.bodies import participant_payload, participants_request
    from converters.rehearsal import start_background
    from converters.raceday.sync import Syncer
    from converters.raceday.sync_outputs import SyncOutput

    t = time.perf_counter()
    server = start_background(participants=args.participants, seed=1, test_controls=True)
    print(f"server with {args.participants} participants ready in {time.perf_counter() - t:.1f} s")
    client = RaceEntryClient(server.url)
    client.login(server.email, server.password)
    received = [0]
    client.session.hooks["response"].append(lambda r, *a, **k: received.__setitem__(0, received[0] + len(r.content)))
    out = tmp / "runscore.csv"
    syncer = Syncer(client, server.race_id, [SyncOutput("runscore", out)])

    t = time.perf_counter()
    r = syncer.run()
    print(f"first (full) sync: {r.total} participants, {received[0] / 1e6:.1f} MB, "
          f"{time.perf_counter() - t:.2f} s  [{r.status_line()}]")

    # 1. no change
    requests.delete(f"{server.root}/_control/requests", timeout=10)
    before = out.stat()
    received[0] = 0
    t = time.perf_counter()
    r = syncer.run()
    dt = time.perf_counter() - t
    log = requests.get(f"{server.root}/_control/requests", timeout=10).json()["requests"]
    after = out.stat()
    unchanged = (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    print(f"no-change round: {len(log)} requests ({', '.join(sorted(x['path'].rsplit('/', 1)[-1] for x in log))}), "
          f"{received[0]} bytes received, {dt * 1000:.0f} ms, file untouched: {unchanged}  [{r.status_line()}]")

    # 2. 100 changes
    people = parse_participants(client.participants(server.race_id, 0))[:100]
    rows = [participant_payload(p.copy(city=f"Town {i}"), ["city"]) for i, p in enumerate(people)]
    client.post_participants(server.race_id, participants_request(rows))
    received[0] = 0
    t = time.perf_counter()
    r = syncer.run()
    dt = time.perf_counter() - t
    print(f"100-change round: ~{r.changed}, rewrote {out.name} ({out.stat().st_size / 1e6:.1f} MB, {r.total} rows) "
          f"in {dt:.2f} s (target < 1 s), {received[0] / 1e3:.0f} kB received  [{r.status_line()}]")
    t = time.perf_counter()
    r = syncer.run()
    print(f"next round (overlap re-reads the 100): {time.perf_counter() - t:.2f} s  [{r.status_line()}]")
    syncer.close()
    server.stop()

    # 3. the drop folder
    from converters.raceday.inbox import JOURNAL
    from converters.raceday.watch import Watcher
    from converters.raceday.watch_config import load_config

    server = start_background(participants=200, seed=2)
    client = RaceEntryClient(server.url)
    client.login(server.email, server.password)
    data = client.participants(server.race_id, 0)
    folder = tmp / "drop"
    (folder / "in").mkdir(parents=True)
    (folder / "timersync.toml").write_text(
        f'race_id = {server.race_id}\napi_url = "{server.url}"\n'
        '[[outputs]]\nprofile = "runscore"\nfile = "runscore.csv"\n')
    watcher = Watcher(load_config(folder), client=client)
    watcher.start_checks()
    small = []
    for g in data:  # a few participants per file
        small.append({"event": g["event"], "participants": (g.get("participants") or [])[:3]})
    good = orjson.dumps(small)
    bad_every = 10
    for i in range(args.files):
        # A bad file is whole but wrong (a cut-short one would be waited for: incomplete_timeout).
        body = b'{"broken": true}' if i % bad_every == 0 else good
        (folder / "in" / f"drop-{i:04d}.json").write_bytes(body)
    t = time.perf_counter()
    summary = watcher.run_once()
    dt = time.perf_counter() - t
    done = len(list((folder / "done").iterdir()))
    failed = len([p for p in (folder / "failed").iterdir() if not p.name.endswith(".error.txt")])
    journal = len((folder / JOURNAL).read_bytes().splitlines())
    print(f"drop folder: {args.files} files -> {summary.count('done')} processed, {summary.count('failed')} failed "
          f"(bad on purpose: {(args.files + bad_every - 1) // bad_every}), in {dt:.1f} s "
          f"(includes the {watcher.config.settle:.0f} s settle wait); done/ {done}, failed/ {failed}, "
          f"journal lines {journal}, left in in/ {len(list((folder / 'in').iterdir()))}")
    again = Watcher(load_config(folder), client=client).run_once()
    print(f"restart: {len(again.outcomes)} files processed again (expected 0)")
    server.stop()


if __name__ == "__main__":
    main()
