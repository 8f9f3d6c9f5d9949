"""The plan folder: a plan's exact request bodies (each checked against its schema), its summary and
``preview.html``, written by ``diff -o``, the drop folder and every push; and a push's ``receipt.csv``
(per file row: the runner, what was done, the registration id RaceEntry gave or why it refused).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..model import schemas
from ..atomic import write_text
from ..compare.payloads import plan_requests
from ..compare.plans import Plan
from ..compare.values import who_of
from ..jsonio import save_file
from .preview import render


def write_plan(plan: Plan, folder: str | Path, summary: dict[str, Any], text: str,
               title: str = "timersync plan", where: Any = None) -> list[Path]:
    """Write the plan's exact request bodies (each validated against its schema), the summary and
    ``preview.html`` (the plan as a page to open, naming the server and race ``where`` says: a
    converters.plan.preview.Where).

    Participants joining a team the plan creates carry ``"team_id": "new team: NAME"``: the id exists only
    once the team is created; push puts it in. More than 250 deletes are split into
    ``delete_participants-1.json``, ``-2.json``, ... (RaceEntry's per-request cap)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bodies = plan_requests(plan)
    written = []
    for key, name, schema in (("teams", "teams", "teams.request"),
                              ("participants", "participants", "participants.request"),
                              ("switch_participant_events", "switch_participant_events", "switch.request")):
        if key in bodies:
            schemas.validate(schema, bodies[key], f"{name}.json")
            save_file(folder / f"{name}.json", bodies[key])
            written.append(folder / f"{name}.json")
    deletes = bodies.get("delete_participants") or []
    for i, body in enumerate(deletes, 1):
        schemas.validate("delete.request", body, "delete_participants.json")
        path = folder / (f"delete_participants-{i}.json" if len(deletes) > 1 else "delete_participants.json")
        save_file(path, body)
        written.append(path)
    save_file(folder / "summary.json", summary)
    write_text(folder / "summary.txt", text + "\n")

    write_text(folder / "preview.html", render(plan, title, where))
    return written + [folder / "summary.json", folder / "summary.txt", folder / "preview.html"]


def row_names(plan: Plan) -> dict[int, str]:
    """The runner on each file row the plan sends (adds by the file's name, the others as RaceEntry
    names them), for receipts and refusals."""
    names: dict[Any, str] = {a.row: who_of(a.participant) for a in plan.adds}
    for item in (*plan.modifies, *plan.switches):
        names.setdefault(item.row, who_of(item.current))
    return names


def write_receipt(folder: str | Path, result: Any) -> Path:
    """``receipt.csv`` after a push: per file row, the runner, what was done and the registration id
    RaceEntry gave (or the reason it refused)."""
    plan = result.plan
    names = row_names(plan)
    modified = {m.row: m.registration_id for m in plan.modifies}
    rows: list[list[Any]] = [[row, names.get(row, ""), "added", rid, ""] for row, rid in result.added]
    failed = {(e.row, e.what) for e in result.errors}
    rows += [[row, names.get(row, ""), "modified", rid, ""] for row, rid in modified.items()
             if (row, "modify") not in failed]
    by_old = {s.registration_id: s for s in plan.switches}
    rows += [[by_old[old].row if old in by_old else "", names.get(by_old[old].row, "") if old in by_old else "",
              "switched", new, f"was {old}" if new != old else ""] for old, new in result.switched]
    rows += [["", "", "deleted", rid, ""] for rid in result.deleted]
    rows += [[e.row if e.row is not None else "", names.get(e.row, ""), f"refused ({e.what})",
              e.registration_id or "", e.message] for e in result.errors]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["file row", "runner", "what", "registration id", "note"])
    writer.writerows(sorted(rows, key=lambda r: (r[0] == "", r[0] if isinstance(r[0], int) else 0)))
    path = Path(folder) / "receipt.csv"
    write_text(path, buf.getvalue(), encoding="utf-8-sig")  # a BOM: Excel opens it as UTF-8
    return path
