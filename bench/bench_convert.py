"""Benchmark: 50,000 participants JSON -> CSV, JSON -> XLSX, XLSX -> JSON with timersync, side by side
with the obvious pandas pipeline (json_normalize + to_csv / to_excel / read_excel with openpyxl).

Targets: JSON->CSV < 1.5 s, JSON->XLSX < 5 s, XLSX->JSON < 2.5 s, each >= 3x faster than pandas.
Not a test: `python bench/bench_convert.py [N]` prints figures.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from converters import jsonio  # noqa: E402
from converters.plan.convert import convert_path  # noqa: E402


def make_data(n: int) -> tuple[list, dict]:
    try:
        from converters.rehearsal.seed import generate_race
    except ImportError:  # pragma: no cover - seed generator not present
        raise SystemExit("converters.rehearsal.seed.generate_race is needed to build the benchmark race")
    data = generate_race(participants=n, seed=7)
    main_id = data["main_race_id"]
    race = next(r for r in data["races"] if r["race_id"] == main_id)
    ids = [e["event_id"] for e in race["events"]]
    groups = {eid: [] for eid in ids}
    for p in data["participants"]:
        if p["event_id"] in groups:
            groups[p["event_id"]].append(p)
    response = [{"event": {"event_id": eid, "participants": []}, "participants": rows} for eid, rows in groups.items()]
    return response, {"race": race}


def csv_floor(n: int) -> float:
    """The csv module writing n x 25 short cells: how fast this machine is, to read the figures by."""
    import csv
    import io

    rows = [[f"v{i}-{j}" for j in range(25)] for i in range(n)]
    t0 = time.perf_counter()
    csv.writer(io.StringIO()).writerows(rows)
    return time.perf_counter() - t0


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    import pandas as pd

    response, race = make_data(n)
    count = sum(len(g["participants"]) for g in response)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        jsonio.save_file(d / "p.json", response)
        jsonio.save_file(d / "race.json", race)
        src, race_file = d / "p.json", d / "race.json"

        def pandas_frame(path=src):
            data = jsonio.load_file(path)
            rows = [p for g in data for p in g["participants"]]
            return pd.json_normalize(rows)

        # Warm both pipelines on a small file first (imports, the schema validator, the profile, pandas'
        # and openpyxl's lazy imports), so the timed runs compare steady-state work on equal terms. The
        # first 50,000-row conversion of a fresh process is reported apart ("cold"). Neither side gets
        # the cyclic GC paused by this script: convert_path pauses it itself, pandas runs as it comes.
        small = d / "small.json"
        jsonio.save_file(small, make_data(200)[0])
        cold = timed(lambda: convert_path(src, d / "cold.csv", "raceresult", race=race_file))
        convert_path(small, d / "w.xlsx", "raceresult", race=race_file)
        convert_path(d / "w.xlsx", d / "w.json", "raceresult", race=race_file)
        pandas_frame(small).to_csv(d / "w-pd.csv", index=False)
        pandas_frame(small).to_excel(d / "w-pd.xlsx", index=False, engine="openpyxl")
        pd.read_excel(d / "w-pd.xlsx", engine="openpyxl", dtype=str).to_dict("records")

        results = []
        ours = timed(lambda: convert_path(src, d / "o.csv", "raceresult", race=race_file))
        theirs = timed(lambda: pandas_frame().to_csv(d / "pd.csv", index=False))
        results.append(("JSON -> CSV  (raceresult)", ours, theirs, 1.5))
        ours = timed(lambda: convert_path(src, d / "o.xlsx", "raceresult", race=race_file))
        frame = pandas_frame()
        cols = len(frame.columns)
        theirs = timed(lambda: pandas_frame().to_excel(d / "pd.xlsx", index=False, engine="openpyxl"))
        results.append(("JSON -> XLSX (raceresult)", ours, theirs, 5.0))
        ours = timed(lambda: convert_path(d / "o.xlsx", d / "back.json", "raceresult", race=race_file))

        def pandas_back():
            df = pd.read_excel(d / "o.xlsx", engine="openpyxl", dtype=str)
            jsonio.save_file(d / "pd.json", df.to_dict("records"))
        theirs = timed(pandas_back)
        results.append(("XLSX -> JSON (raceresult)", ours, theirs, 2.5))
        ours = timed(lambda: convert_path(src, d / "all.xlsx", "raceentry", race=race_file))
        results.append(("JSON -> XLSX (raceentry, 48 columns)", ours, None, None))
        ours = timed(lambda: convert_path(d / "all.xlsx", d / "all.json", "raceentry", race=race_file))
        results.append(("XLSX -> JSON (raceentry, 48 columns)", ours, None, None))

        # Where the time goes: the model's JSON side (shared with every command) vs the file layer.
        from converters.model import schemas
        from converters.plan.convert import gc_paused, read_file, write_file
        from converters.model.answers import parse_participants, participants_response

        phases = []
        with gc_paused():  # as convert_path runs them
            t = time.perf_counter()
            data = jsonio.load_file(src)
            phases.append(("JSON load (orjson)", time.perf_counter() - t))
            phases.append(("schema validate", timed(lambda: schemas.validate("participants.response", data))))
            t = time.perf_counter()
            ps = parse_participants(data)
            phases.append(("answers.parse_participants", time.perf_counter() - t))
        phases.append(("rows + CSV write (file layer)", timed(lambda: write_file(d / "x.csv", ps, "raceresult", race))))
        phases.append(("rows + XLSX write (file layer)", timed(lambda: write_file(d / "x.xlsx", ps, "raceresult", race))))
        got = []
        phases.append(("XLSX read -> participants (file layer)",
                       timed(lambda: got.append(read_file(d / "x.xlsx", "raceresult", race)))))
        resp = []
        with gc_paused():
            phases.append(("answers.participants_response",
                           timed(lambda: resp.append(participants_response(got[0].participants)))))
            phases.append(("JSON save (orjson, indented)", timed(lambda: jsonio.save_file(d / "y.json", resp[0]))))

    print(f"{count} participants (pandas frame: {cols} columns)")
    print(f"{'step':40} {'timersync':>10} {'pandas':>10} {'speedup':>8}  target")
    for name, ours, theirs, target in results:
        speed = f"{theirs / ours:7.1f}x" if theirs else "       -"
        pd_txt = f"{theirs:9.2f}s" if theirs else "         -"
        tgt = f"< {target} s, {'ok' if ours < target else 'MISSED'}" if target else ""
        print(f"{name:40} {ours:9.2f}s {pd_txt} {speed}  {tgt}")
    print(f"{'JSON -> CSV, first call in the process':40} {cold:9.2f}s  (cold: imports, schema, profile)")
    print(f"\nthis machine's floor (the issue measured 0.15 s on its machine): csv module, {count:,} x 25 cells "
          f"{csv_floor(count):.2f} s")
    print("\nphases (raceresult):")
    for name, secs in phases:
        print(f"  {name:40} {secs:6.2f}s")


if __name__ == "__main__":
    main()
