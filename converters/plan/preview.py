"""preview.html: a plan as one self-contained page a timer decides from (no network, no external assets).

At the top, where the changes would go: the server (a red PRODUCTION banner for anything but the demo or a
server on this computer), the race, its date and how many runners it has. Then the summary (the same lines
as the terminal), then one entry per runner: file row, registration id, name, and per field the value
RaceEntry holds now (marked "now") and the one the push would send; events, teams and team types by name
with their ids beside them. Coloured by kind (add, modify, switch, delete, conflict, not pushable, invalid,
new team) and filterable by kind. A table on a wide screen, one card per runner on a phone (400 px): no
sideways scrolling, nothing cut off (tests/test_preview.py looks at both in Chromium).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..model.answers import parse_team_types, parse_teams
from ..client.transport import DEMO_URL
from ..errors import TimersyncError
from ..compare.plans import Plan
from ..model.races import race_events
from ..state import LOOPBACK, server_key
from ..compare.summary import summary_lines
from ..compare.values import who_of

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


@dataclass
class Where:
    """Where a plan would go, for the page's heading and for names: the server's URL, the race (a races
    answer's race, with its events), its teams and team types (converters.model Team / TeamType)."""

    server: str | None = None
    race: Any = None
    teams: list[Any] = field(default_factory=list)
    team_types: list[Any] = field(default_factory=list)

    @classmethod
    def of_planned(cls, planned: Any) -> "Where":
        """From a plan just made (converters.plan.planning.Planned): its server and the race as read."""
        rs = planned.rs
        return cls(planned.target.url, rs.race, list(rs.teams or []), list(rs.team_types or []))

    @classmethod
    def of_binding(cls, server: str | None, bound: Any) -> "Where":
        """From a file's binding (its race.json): for a plan made without reading RaceEntry again."""
        ctx = (getattr(bound, "context", None) or {}) if bound is not None else {}
        teams = parse_teams(ctx["teams"]) if ctx.get("teams") is not None else []
        types = parse_team_types(ctx["team_types"]) if ctx.get("team_types") is not None else []
        return cls(server, ctx.get("race"), teams, types)

    def server_line(self) -> tuple[str, bool]:
        """(the server in words, whether it is production: neither the demo nor this computer)."""
        from urllib.parse import urlsplit

        if not self.server:
            return "server not known", False
        if server_key(self.server) == server_key(DEMO_URL):
            return f"RaceEntry's demo server ({self.server})", False
        if (urlsplit(self.server).hostname or "").lower() in LOOPBACK:
            return f"a rehearsal server on this computer ({self.server})", False
        return f"PRODUCTION: the live registrations at {self.server}", True

    def events(self) -> dict[int, str]:
        try:
            return race_events(self.race)
        except TimersyncError:  # a race answer of another shape: ids without names
            return {}

    def race_words(self, race_id: Any) -> str:
        race = self.race
        if isinstance(race, dict) and isinstance(race.get("race"), dict):
            race = race["race"]
        if isinstance(race, list):
            race = next((r for r in race if isinstance(r, dict)), None)
        name = race.get("name") if isinstance(race, dict) else None
        date = (race.get("next_date") or race.get("race_date")) if isinstance(race, dict) else None
        said = f"{name} (race {race_id})" if name else f"race {race_id}"
        return f"{said}, {date}" if date else said


class _Names:
    """Ids as people know them: "Half Marathon (67)", "Track Pack (team 12)"."""

    def __init__(self, where: Where):
        self.events = where.events()
        self.teams = {str(t.team_id): t.team_name for t in where.teams if t.team_id is not None}
        self.types = {str(t.team_type_id): t.team_type for t in where.team_types}

    def event(self, eid: Any) -> str:
        if eid in (None, ""):
            return "(blank)"
        try:
            name = self.events.get(int(eid))
        except (TypeError, ValueError):
            name = None
        return f"{name} ({eid})" if name else f"event {eid}"

    def team(self, tid: Any) -> str:
        if tid in (None, ""):
            return "(blank)"
        name = self.teams.get(str(tid))
        return f"{name} (team {tid})" if name else str(tid)

    def team_type(self, tid: Any) -> str:
        name = self.types.get(str(tid))
        return f"{name} ({tid})" if name else f"team type {tid}"

    def value(self, f: str, v: Any) -> str:
        if f in ("event_id", "event"):
            return self.event(v)
        if f == "team_id":
            return self.team(v)
        return _show(v)


def _show(v: Any) -> str:
    return "(blank)" if v in (None, "") else str(v)


def entries(plan: Plan, where: Where | None = None) -> list[dict[str, Any]]:
    """One entry per runner and kind: kind, row, registration id, who, and (field, now, new) changes:
    ``now`` is what RaceEntry holds now ("" for nothing), ``new`` what the push would make it; ``sent`` is
    False where RaceEntry's value stays (a conflict it wins, not pushable, cannot tell): ``new`` says why."""
    names = _Names(where or Where())
    out: list[dict[str, Any]] = []

    def add(kind: str, row: Any, rid: Any, who: str, changes: list[tuple[str, str, str]], sent: bool = True) -> None:
        out.append({"kind": kind, "row": row, "rid": rid or "", "who": who, "changes": changes, "sent": sent})

    for t in plan.teams:
        add("new team", ", ".join(map(str, t.rows[:5])), "", t.name,
            [("team type", "", names.team_type(t.team_type_id))])
    for a in plan.adds:
        p = a.participant
        fields = [(f.replace("_id", ""), "", names.value(f, getattr(p, f)))
                  for f in ("first_name", "last_name", "event_id", "dob", "email") if getattr(p, f) not in (None, "")]
        if a.new_team:
            fields.append(("team", "", f"{a.new_team} (new)"))
        elif p.team_id or p.team_name:
            fields.append(("team", "", names.team(p.team_id) if p.team_id else _show(p.team_name)))
        add("add", a.row, "", who_of(p), fields)
    for m in plan.modifies:
        add("modify", m.row, m.registration_id, who_of(m.current),
            [(c.field, names.value(c.field, c.old), names.value(c.field, c.new)) for c in m.changes])
    for s in plan.switches:
        add("switch", s.row, s.registration_id, who_of(s.current),
            [("event", names.event(s.old_event_id), names.event(s.new_event_id))])
    for d in plan.deletes:
        add("delete", "", d.registration_id, who_of(d.participant),
            [("registration", f"registered in {names.event(d.participant.event_id)}", "deleted")])
    for c in plan.conflicts:
        if c.field == "(registration)":
            change = ("registration", _show(c.raceentry),
                      f"{c.file} in the file ({c.resolution})" if c.resolution == "file wins"
                      else f"stays (file: {c.file}; {c.resolution})")
        elif c.resolution == "file wins":
            change = (c.field, names.value(c.field, c.raceentry),
                      f"{names.value(c.field, c.file)} (the file's; was {names.value(c.field, c.base)}: file wins)")
        else:
            # RaceEntry's value is the current one and stays: shown as now, never struck through, no arrow;
            # the file's value beside it
            change = (c.field, names.value(c.field, c.raceentry),
                      f"stays (file: {names.value(c.field, c.file)}, was {names.value(c.field, c.base)}; "
                      f"{c.resolution})")
        add("conflict", c.row or "", c.registration_id, c.who, [change], sent=c.resolution == "file wins")
    for u in plan.unpushable:
        add("not pushable", u.row, u.registration_id, u.who,
            [(u.field, names.value(u.field, u.raceentry), f"stays (file: {names.value(u.field, u.file)}; {u.reason})")],
            sent=False)
    for i in plan.invalid:
        add("invalid", i.row, i.registration_id, "", [("row", "", i.message)])
    for c in plan.undecided:
        add("cannot tell", c.row or "", c.registration_id, c.who,
            [(c.field, names.value(c.field, c.raceentry),
              f"stays (file: {names.value(c.field, c.file)}; {c.resolution})")],
            sent=False)
    return out


def render(plan: Plan, title: str, where: Where | None = None) -> str:
    """The page, as text (UTF-8)."""
    where = where or Where()
    items = entries(plan, where)
    counts = {k: sum(1 for e in items if e["kind"] == k) for k in KINDS}
    esc = html.escape
    server, production = where.server_line()
    race = where.race_words(plan.race_id)
    buttons = "".join(
        f'<label class="k" style="--c:{colour}"><input type="checkbox" checked data-kind="{esc(kind)}"> '
        f'{esc(label)} <b>{counts[kind]}</b></label>'
        for kind, (label, colour) in KINDS.items() if counts[kind])
    rows = []
    for e in items:
        colour = KINDS[e["kind"]][1]
        then = ' <span class="to">&rarr;</span> ' if e["sent"] else " "
        changes = "".join(
            f'<div class="ch"><span class="f">{esc(f)}</span> '
            + (f'<span class="lbl">now:</span> <span class="now" title="what RaceEntry holds now">{esc(now)}</span>'
               f'{then}' if now else "")
            + f'<span class="{"new" if e["sent"] else "kept"}">{esc(new)}</span></div>' for f, now, new in e["changes"])
        rows.append(f'<tr data-kind="{esc(e["kind"])}"><td data-h="kind"><span class="tag" style="background:{colour}">'
                    f'{esc(e["kind"])}</span></td><td data-h="row">{esc(str(e["row"]))}</td>'
                    f'<td data-h="reg id">{esc(str(e["rid"]))}</td><td data-h="runner" class="who">{esc(e["who"])}</td>'
                    f'<td data-h="now &rarr; new" class="changes">{changes}</td></tr>')
    summary = "\n".join(esc(line) for line in summary_lines(plan))
    empty = "" if items else '<p class="none">No changes to push.</p>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>
* {{ box-sizing: border-box; }}
body {{ font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1em; color: #1f2328;
        overflow-wrap: anywhere; }}
h1 {{ font-size: 1.3em; margin: 0 0 .4em; }}
#where {{ margin: 0 0 .8em; padding: .6em .8em; border-radius: 6px; background: #eef6ee; }}
#where.production {{ background: #b42318; color: #fff; font-weight: 600; }}
#where p {{ margin: .1em 0; }}
pre.summary {{ background: #f6f8fa; padding: .8em 1em; border-radius: 6px; white-space: pre-wrap;
               overflow-wrap: anywhere; font-size: .9em; }}
.k {{ display: inline-block; margin: 0 .6em .6em 0; padding: .25em .6em; border-radius: 1em;
      border: 2px solid var(--c); color: var(--c); cursor: pointer; user-select: none; }}
table {{ border-collapse: collapse; width: 100%; table-layout: auto; }}
th, td {{ text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid #d0d7de; }}
th {{ background: #f6f8fa; position: sticky; top: 0; white-space: nowrap; }}
td[data-h="row"], td[data-h="reg id"] {{ overflow-wrap: normal; }}
.now {{ font-weight: 600; }} .kept {{ color: #57606a; }}
.tag {{ color: #fff; border-radius: 4px; padding: .1em .45em; font-size: .85em; white-space: nowrap; }}
.f, .lbl {{ color: #57606a; }} .lbl {{ font-size: .85em; }}
.new {{ font-weight: 600; }} .none {{ font-size: 1.2em; color: #1a7f37; }}
.legend {{ color: #57606a; font-size: .9em; margin: 0 0 .6em; }}
tr.hidden {{ display: none; }}
@media (max-width: 640px) {{
  body {{ margin: .5em; }}
  thead {{ display: none; }}
  table, tbody, tr, td {{ display: block; width: 100%; }}
  tr {{ border: 1px solid #d0d7de; border-radius: 6px; margin: 0 0 .6em; padding: .3em 0; }}
  tr.hidden {{ display: none; }}
  td {{ border: 0; padding: .15em .6em; }}
  td:empty {{ display: none; }}
  td[data-h="row"]::before, td[data-h="reg id"]::before {{ content: attr(data-h) ": "; color: #57606a; }}
  td.who {{ font-weight: 600; }}
}}
</style></head>
<body>
<h1>{esc(title)}</h1>
<div id="where" class="{'production' if production else ''}"><p id="server">{esc(server)}</p>
<p id="race">{esc(race)}{f", {plan.current_count:,} runners in RaceEntry now" if plan.current_count else ""}</p></div>
<pre class="summary">{summary}</pre>
<p class="legend">Each change: what RaceEntry holds now &rarr; what the push would send.</p>
<div id="filters">{buttons}</div>
{empty}
<table id="plan"><thead><tr><th>kind</th><th>row</th><th>reg id</th><th>runner</th><th>now &rarr; new</th></tr>
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
