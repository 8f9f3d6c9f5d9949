"""Benchmark: fetch, validate and parse a 50,000-participant race from the bundled server on loopback.

Target (issue 2): under 3 s on a 2-core machine; JSON parsing alone (the floor) about 0.5 s.
Run: python bench/bench_pull.py [--participants 50000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import orjson


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--participants", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ["TIMERSYNC_HOME"] = tempfile.mkdtemp(prefix="timersync-bench-")

    from converters import schemas
    from converters.client import RaceEntryClient
    from converters.model import parse_participants
    from converters.server import start_background

    t0 = time.perf_counter()
    server = start_background(participants=args.participants, seed=7)
    print(f"server seeded with {args.participants:,} participants in {time.perf_counter() - t0:.2f} s")
    try:
        client = RaceEntryClient(server.url)
        client.login(server.email, server.password)
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            data = client.participants(server.race_id, 0)
            t1 = time.perf_counter()
            people = parse_participants(data)
            t2 = time.perf_counter()
            for key, value in (("fetch+validate", t1 - t0), ("parse to model", t2 - t1), ("total", t2 - t0)):
                best[key] = min(best.get(key, 1e9), value)
        raw = orjson.dumps(data)
        t0 = time.perf_counter()
        orjson.loads(raw)
        parse_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        schemas.validate("participants.response", data)
        validate_only = time.perf_counter() - t0
        print(f"participants parsed: {len(people):,} ({len(raw) / 1e6:.1f} MB of JSON)")
        print(f"JSON parse alone (orjson, the floor): {parse_only:.2f} s")
        print(f"schema validation alone (jsonschema-rs): {validate_only:.2f} s")
        for key, value in best.items():
            print(f"{key:>16}: {value:.2f} s (best of {args.repeat})")
        print(f"target: total under 3 s -> {'OK' if best['total'] < 3 else 'MISSED'}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
