"""Benchmark: fetch a 50,000-participant race from the bundled server on loopback and decode it (typed, one
pass) into the model; beside it, the old way (orjson dicts + schema pass + model) on the same bytes.

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

    from converters.model import schemas
    from converters.client import RaceEntryClient
    from converters.model.answers import decode_participants, parse_participants
    from converters.rehearsal import start_background

    t0 = time.perf_counter()
    server = start_background(participants=args.participants, seed=7)
    print(f"server seeded with {args.participants:,} participants in {time.perf_counter() - t0:.2f} s")
    try:
        client = RaceEntryClient(server.url)
        client.login(server.email, server.password)
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            answer = client.participants_answer(server.race_id, 0)  # what pull, diff and sync use
            t1 = time.perf_counter()
            best["fetch + typed decode to the model"] = min(best.get("fetch + typed decode to the model", 1e9),
                                                            t1 - t0)
        people = answer.participants
        raw = answer.to_bytes()
        t0 = time.perf_counter()
        data = orjson.loads(raw)
        parse_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        schemas.validate("participants.response", data)
        validate_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        parse_participants(data)
        model_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        decode_participants(raw)
        typed_only = time.perf_counter() - t0
        print(f"participants: {len(people):,} ({len(raw) / 1e6:.1f} MB of JSON)")
        print(f"typed decode alone (msgspec -> model, what the client does): {typed_only:.2f} s")
        print(f"the old way: orjson to dicts {parse_only:.2f} s + schema pass {validate_only:.2f} s + model "
              f"{model_only:.2f} s = {parse_only + validate_only + model_only:.2f} s")
        for key, value in best.items():
            print(f"{key}: {value:.2f} s (best of {args.repeat})")
        total = best["fetch + typed decode to the model"]
        print(f"target: total under 3 s -> {'OK' if total < 3 else 'MISSED'}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
