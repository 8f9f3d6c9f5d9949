"""Benchmark: recording a 50,000-runner version, and find_origin over 10 recorded versions of the race.

The versions differ by desk fixes (50 runners renamed in each); the file is a copy of the 4th newest with
1% of its rows edited by the timer, so no version equals every row and all 10 bases are decoded (the worst
case); a copy of the newest, unedited, stops at the first. Prints figures; not a test.
Run: ``.venv/bin/python bench/bench_versions.py [N]``.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VERSIONS = 10


def main(n: int = 50_000, profile: str = "runscore") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TIMERSYNC_HOME"] = str(Path(tmp) / "state")
        from converters.plan import versions  # noqa: E402
        from converters.plan.convert import write_file  # noqa: E402
        from converters.model.answers import as_answer, parse_participants, participants_response  # noqa: E402
        from converters.plan.planning import read_input  # noqa: E402
        from converters.rehearsal.seed import generate_race  # noqa: E402

        t = time.perf_counter()
        data = generate_race(n, seed=7)
        race = next(r for r in data["races"] if r["race_id"] == data["main_race_id"])
        events = [e["event_id"] for e in race["events"]]
        removed = set(data["removed_registration_ids"])
        current = parse_participants([p for p in data["participants"] if p["event_id"] in events
                                      and p["registration_id"] not in removed])
        del data
        print(f"generated {len(current)} participants in {time.perf_counter() - t:.1f} s")

        server, race_id = "http://127.0.0.1:1/rest", race["race_id"]
        rng = random.Random(1)
        people = list(current)
        made: list[list] = []
        record_s = []
        start = time.time() - VERSIONS * 600
        for v in range(VERSIONS):
            if v:
                for i in rng.sample(range(len(people)), 50):  # the desk's fixes since the last version
                    people[i] = people[i].copy(last_name=f"{people[i].last_name}-fix{v}")
            made.append(list(people))
            answer = as_answer(participants_response(people, events))  # typed, as pull binds it
            t = time.perf_counter()
            versions.record(server, race_id, file_name="runscore.csv", profile=profile, base=answer,
                            written_at=start + v * 600)
            record_s.append(time.perf_counter() - t)
        print(f"record one version   {min(record_s):6.2f} s   (best of {VERSIONS}: hash, gzip, entry, prune; added to "
              f"every pull, sync write and drop folder output)")

        folder = Path(tmp)
        copy = folder / "copy of runscore.csv"
        old = [p.copy() for p in made[VERSIONS - 4]]
        for i in rng.sample(range(len(old)), len(old) // 100):  # the timer's edits in the copy
            old[i] = old[i].copy(city="Bench City")
        write_file(copy, old, profile, race=race)
        t = time.perf_counter()
        got = read_input(copy, profile, race)
        print(f"read the copy        {time.perf_counter() - t:6.2f} s   ({len(got.participants)} rows)")
        for label in ("worst (10 decoded)", "again"):
            t = time.perf_counter()
            origin = versions.find_origin(server, race_id, got.participants, got.present, profile)
            took = time.perf_counter() - t
            print(f"find_origin          {took:6.2f} s   {label}: {origin.describe()}")
        assert origin is not None and origin.written_at == start + (VERSIONS - 4) * 600, origin
        t = time.perf_counter()
        base = origin.participants()
        print(f"origin.participants  {time.perf_counter() - t:6.2f} s   (the 4th newest base, {len(base)} rows)")

        latest = folder / "latest.csv"
        write_file(latest, made[-1], profile, race=race)
        got = read_input(latest, profile, race)
        t = time.perf_counter()
        origin = versions.find_origin(server, race_id, got.participants, got.present, profile)
        print(f"find_origin          {time.perf_counter() - t:6.2f} s   a copy of the newest (stops at it): "
              f"{origin.describe()}")
        assert origin.written_at == start + (VERSIONS - 1) * 600


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
