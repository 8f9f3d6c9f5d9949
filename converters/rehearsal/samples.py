"""The sample race files (``samples/race/``): a throwaway rehearsal server read endpoint by endpoint, as
a client would, each answer written as JSON. ``python -m converters.rehearsal.samples DIR`` writes them.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request

from ..atomic import write_text
from .app import start_background


def write_samples(outdir: str, participants: int = 300, seed: int = 1) -> list[str]:
    """Start a throwaway server (seed ``seed``), read every GET endpoint as a client would, and write
    races.json, participants.json (modified_after_timestamp=0), removed_participants.json, teams.json and
    team_types.json into ``outdir``. Returns the written paths."""
    os.makedirs(outdir, exist_ok=True)
    h = start_background(None, participants=participants, seed=seed)
    try:
        body = urllib.parse.urlencode({"email": h.email, "password": h.password}).encode()
        with urllib.request.urlopen(h.url + "/login", data=body) as resp:
            login = json.loads(resp.read())
        auth = {"tmp_key": login["tmp_key"], "tmp_secret": login["tmp_secret"]}
        rid = h.race_id
        targets = {
            "races.json": ("/races", {}),
            "participants.json": (f"/race/{rid}/participants", {"modified_after_timestamp": 0}),
            "removed_participants.json": (f"/race/{rid}/removed_participants", {"modified_after_timestamp": 0}),
            "teams.json": (f"/race/{rid}/teams", {}),
            "team_types.json": (f"/race/{rid}/teams/team_types", {}),
        }
        written = []
        for name, (path, params) in targets.items():
            qs = urllib.parse.urlencode({**auth, **params})
            with urllib.request.urlopen(f"{h.url}{path}?{qs}") as resp:
                data = json.loads(resp.read())
            dest = os.path.join(outdir, name)
            write_text(dest, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            written.append(dest)
        return written
    finally:
        h.stop()


def _main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m converters.rehearsal.samples", description=__doc__.splitlines()[0])
    ap.add_argument("outdir", metavar="DIR", help="the folder to write the sample race JSON files into")
    ap.add_argument("--participants", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    for p in write_samples(args.outdir, args.participants, args.seed):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
