"""preview.html: a plan as one self-contained page a timer can open (no network, no external assets).

The summary first (the same lines as the terminal), then one row per runner: file row, registration id,
name, and per field the old value -> the new one, coloured by kind (add, modify, switch, delete, conflict,
not pushable, invalid, new team) and filterable by kind with the buttons at the top.
"""

from __future__ import annotations

import html
from typing import Any

from .diff import Plan, summary_lines, who_of

KINDS = {  # kind -> (label, colour)
    "new team": ("new team", "#5b4b8a"),
    "add": ("add", "#1a7f37"),
    "modify": ("modify", "#0b5cad"),
    "switch": ("switch", "#8a5b00"),
    "delete": ("delete", "#b42318"),
    "conflict": ("conflict", "#c4320a"),
    "not pushable": ("not pushable", "#6b6b6b"),
    "invalid": ("invalid", "#9f1239"),
    "cannot tell": ("cannot tell", "#7a5c00"),
}


def _show(v: Any) -> str:
    return "(blank)" if v in (None, "") else str(v)


def entries(plan: Plan) -> list[dict[str, Any]]:
    """One entry per runner and kind: kind, row, registration id, who, and (field, old, new) changes."""
    out: list[dict[str, Any]] = []

    def add(kind: str, row: Any, rid: Any, who: str, changes: list[tuple[str, str, str]]) -> None:
        out.append({"kind": kind, "row": row, "rid": rid or "", "who": who, "changes": changes})

    for t in plan.teams:
        add("new team", ", ".join(map(str, t.rows[:5])), "", t.name, [("team type", "", str(t.team_type_id))])
    for a in plan.adds:
        p = a.participant
        fields = [(f, "", _show(getattr(p, f))) for f in ("first_name", "last_name", "event_id", "dob", "email")
                  if getattr(p, f) not in (None, "")]
        if a.new_team:
            fields.append(("team", "", f"{a.new_team} (new)"))
        add("add", a.row, "", who_of(p), fields)
    for m in plan.modifies:
        add("modify", m.row, m.registration_id, who_of(m.current),
            [(c.field, _show(c.old), _show(c.new)) for c in m.changes])
    for s in plan.switches:
        add("switch", s.row, s.registration_id, who_of(s.current),
            [("event", _show(s.old_event_id), _show(s.new_event_id))])
    for d in plan.deletes:
        add("delete", "", d.registration_id, who_of(d.participant), [("registration", "present", "deleted")])
    for c in plan.conflicts:
        if c.field == "(registration)":
            change = ("registration", f"{c.file} in the file", f"{c.raceentry}: {c.resolution}")
        else:
            change = (c.field, f"base {_show(c.base)}, RaceEntry {_show(c.raceentry)}",
                      f"file {_show(c.file)}: {c.resolution}")
        add("conflict", c.row or "", c.registration_id, c.who, [change])
    for u in plan.unpushable:
        add("not pushable", u.row, u.registration_id, u.who, [(u.field, _show(u.raceentry), f"{_show(u.file)} "
                                                                                            f"({u.reason})")])
    for i in plan.invalid:
        add("invalid", i.row, i.registration_id, "", [("row", "", i.message)])
    for c in plan.undecided:
        add("cannot tell", c.row or "", c.registration_id, c.who,
            [(c.field, f"RaceEntry {_show(c.raceentry)}", f"file {_show(c.file)}: {c.resolution}")])
    return out


def render(plan: Plan, title: str) -> str:
    """The page, as text (UTF-8)."""
    items = entries(plan)
    counts = {k: sum(1 for e in items if e["kind"] == k) for k in KINDS}
    esc = html.escape
    buttons = "".join(
        f'<label class="k" style="--c:{colour}"><input type="checkbox" checked data-kind="{esc(kind)}"> '
        f'{esc(label)} <b>{counts[kind]}</b></label>'
        for kind, (label, colour) in KINDS.items() if counts[kind])
    rows = []
    for e in items:
        colour = KINDS[e["kind"]][1]
        changes = "".join(
            f'<div class="ch"><span class="f">{esc(f)}</span> '
            + (f'<span class="old">{esc(old)}</span> &rarr; ' if old else "")
            + f'<span class="new">{esc(new)}</span></div>' for f, old, new in e["changes"])
        rows.append(f'<tr data-kind="{esc(e["kind"])}"><td><span class="tag" style="background:{colour}">'
                    f'{esc(e["kind"])}</span></td><td>{esc(str(e["row"]))}</td><td>{esc(str(e["rid"]))}</td>'
                    f'<td>{esc(e["who"])}</td><td>{changes}</td></tr>')
    summary = "\n".join(esc(line) for line in summary_lines(plan))
    empty = "" if items else '<p class="none">No changes to push.</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>
body {{ font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1f2328; }}
h1 {{ font-size: 1.3em; margin: 0 0 .5em; }}
pre.summary {{ background: #f6f8fa; padding: .8em 1em; border-radius: 6px; white-space: pre-wrap; }}
.k {{ display: inline-block; margin: 0 .6em .6em 0; padding: .25em .6em; border-radius: 1em;
      border: 2px solid var(--c); color: var(--c); cursor: pointer; user-select: none; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid #d0d7de; }}
th {{ background: #f6f8fa; position: sticky; top: 0; }}
.tag {{ color: #fff; border-radius: 4px; padding: .1em .45em; font-size: .85em; white-space: nowrap; }}
.f {{ color: #57606a; }} .old {{ text-decoration: line-through; color: #9a6700; }}
.new {{ font-weight: 600; }} .none {{ font-size: 1.2em; color: #1a7f37; }}
tr.hidden {{ display: none; }}
</style></head>
<body>
<h1>{esc(title)}</h1>
<pre class="summary">{summary}</pre>
<div id="filters">{buttons}</div>
{empty}
<table id="plan"><thead><tr><th>kind</th><th>row</th><th>reg id</th><th>runner</th><th>old &rarr; new</th></tr>
</thead><tbody>
{''.join(rows)}
</tbody></table>
<script>
document.querySelectorAll('#filters input').forEach(function (box) {{
  box.addEventListener('change', function () {{
    document.querySelectorAll('#plan tbody tr[data-kind="' + box.dataset.kind + '"]').forEach(function (tr) {{
      tr.classList.toggle('hidden', !box.checked);
    }});
  }});
}});
</script>
</body></html>
"""
