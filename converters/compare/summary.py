"""A plan for a person: a few lines of totals, notes and what cannot go, then a table of every item,
then whether anything is to be pushed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .plans import Plan, blocked
from ..progress import table
from .values import rows_text, who_of


def summary_rows(plan: Plan) -> list[list[Any]]:
    """One line per planned item: kind, file row, registration id, the runner, details."""
    def show(v: Any) -> str:
        return "(blank)" if v in (None, "") else str(v)

    rows: list[list[Any]] = []
    for t in plan.teams:
        rows.append(["new team", rows_text(t.rows, 3), "", t.name, f"team type {plan.team_type(t.team_type_id)}"])
    for a in plan.adds:
        rows.append(["add", a.row, "", who_of(a.participant), f"event {plan.event(a.participant.event_id)}"
                     + (f", new team {a.new_team}" if a.new_team else "")])
    for m in plan.modifies:
        rows.append(["modify", m.row, m.registration_id, who_of(m.current),
                     "; ".join(f"{c.field}: {show(c.old)} -> {show(c.new)}" for c in m.changes)])
    for s in plan.switches:
        rows.append(["switch", s.row, s.registration_id, who_of(s.current),
                     f"event {plan.event(s.old_event_id)} -> {plan.event(s.new_event_id)}"])
    for d in plan.deletes:
        rows.append(["delete", "", d.registration_id, who_of(d.participant), f"event {plan.event(d.participant.event_id)}"])
    for u in plan.unpushable:
        rows.append(["not pushable", u.row, u.registration_id or "", u.who,
                     f"{u.field}: {show(u.raceentry)} -> {show(u.file)}: {u.reason}"])
    for c in plan.conflicts:
        if c.field == "(registration)":  # the runner is gone from RaceEntry (or was never there)
            hint = " (--prefer file adds them again)" if c.resolution == "not pushed" else ""
            detail = f"{c.file} in the file, {c.raceentry}: {c.resolution}{hint}"
        else:
            detail = (f"{c.field}: pulled {show(c.base)}, file {show(c.file)}, RaceEntry {show(c.raceentry)}: "
                      f"{c.resolution}")
        rows.append(["CONFLICT", c.row or "", c.registration_id or "", c.who, detail])
    for c in plan.undecided:
        rows.append(["cannot tell", c.row or "", c.registration_id or "", c.who,
                     f"{c.field}: file {show(c.file)}, RaceEntry {show(c.raceentry)}: {c.resolution}"])
    for i in plan.invalid:
        rows.append(["INVALID", i.row, i.registration_id or "", i.who, i.message])
    return rows


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 add``, ``2 adds``, ``1 switch``, ``0 switches``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary_lines(plan: Plan) -> list[str]:
    """The plan in a few lines: totals by kind, modifies by field, what cannot go, and the notes."""
    c = plan.counts()
    import textwrap

    lines = [line for note in (plan.read_note, plan.base_note) if note
             for line in textwrap.wrap(note, 80, subsequent_indent="  ")]
    lines += [f"{'Three-way' if plan.three_way else 'Two-way'} diff of {plural(plan.file_rows, 'file row')} with "
             f"{plural(plan.current_count, 'RaceEntry participant')} of race {plan.race_id}:",
             f"  {plural(c['teams'], 'team')} to create, {plural(c['adds'], 'add')}, "
             f"{plural(c['modifies'], 'modify', 'modifies')}, {plural(c['switches'], 'switch', 'switches')}, "
             f"{plural(c['deletes'], 'delete')}"]
    if plan.modifies:
        by_field: Counter = Counter()
        case_only: Counter = Counter()
        for m in plan.modifies:
            for ch in m.changes:
                by_field[ch.field] += 1
                if isinstance(ch.old, str) and isinstance(ch.new, str) and ch.old != ch.new and (
                        ch.old.casefold() == ch.new.casefold()):
                    case_only[ch.field] += 1
        parts = []
        for f, n in by_field.most_common():
            note = (" (all capitalisation only)" if case_only[f] == n else
                    f" ({case_only[f]} capitalisation only)" if case_only[f] else "")
            parts.append(f"{f} {n}{note}")
        lines.append(f"  modifies by field: {', '.join(parts)}")
    if c["unpushable"] or c["conflicts"] or c["invalid"]:
        lines.append(f"  {plural(c['unpushable'], 'change')} RaceEntry's API cannot take, "
                     f"{plural(c['conflicts'], 'conflict')}, {plural(c['invalid'], 'invalid row')}")
    if plan.suspect:
        lines.append(f"  REFUSED: {plan.suspect}; nothing will be sent (undo the sort, or pull the file again)")
    if plan.undecided:
        lines.append(f"  {plural(len(plan.undecided), 'difference')} nobody can tell the author of: listed, "
                     f"not sent")
    if plan.bound:
        lines.append(f"  {plural(len(plan.bound), 'row')} without an id "
                     f"{'is a runner' if len(plan.bound) == 1 else 'are runners'} a push added (not added again)")
    if plan.matched:
        lines.append(f"  {plural(len(plan.matched), 'row')} without an id {'is' if len(plan.matched) == 1 else 'are'} "
                     f"a runner RaceEntry has (name, dob): not added")
    if plan.not_in_file:
        # Without a base, --delete deletes nothing (a runner missing may have registered since): no hint to it.
        how = ("a file with no base deletes nothing" if plan.adds_only else
               f"use --delete to delete {'it' if len(plan.not_in_file) == 1 else 'them'}")
        lines.append(f"  {plural(len(plan.not_in_file), 'RaceEntry participant')} "
                     f"{'is' if len(plan.not_in_file) == 1 else 'are'} not in the file ({how})")
    if plan.stale:
        lines.append(f"  {plural(plan.stale, 'field')} changed only in RaceEntry since the file was pulled "
                     f"(not pushed back; pull to refresh the file)")
    if plan.damaged:
        kinds = ", ".join(f"{k} {n}" for k, n in plan.damaged.most_common())
        lines += textwrap.wrap(f"{plural(sum(plan.damaged.values()), 'cell')} a spreadsheet changed, recognised "
                               f"and not sent ({kinds})", 80, initial_indent="  ", subsequent_indent="    ")
    for note in plan.notes[:10]:
        lines += textwrap.wrap(f"note: {note}", 80, initial_indent="  ", subsequent_indent="    ")
    if len(plan.notes) > 10:
        lines.append(f"  ... and {len(plan.notes) - 10} more notes")
    return lines


def summary_text(plan: Plan, width: int | None = None, skip_invalid: bool = False) -> str:
    """The plan for a person: the summary first, then a table of every item (fitted to ``width``
    columns, the terminal's by default), then whether anything is to be pushed: nothing while rows are
    invalid (push refuses them, unless ``skip_invalid``)."""
    lines = summary_lines(plan)
    rows = summary_rows(plan)
    if rows:
        lines += ["", table(rows, ["kind", "row", "reg_id", "who", "details"], width, caps=(12, 6, 8, 22))]
    if blocked(plan, skip_invalid):
        import textwrap

        n = len(plan.invalid)
        lines += textwrap.wrap(f"Nothing will be pushed until {plural(n, 'invalid row')} {'is' if n == 1 else 'are'} "
                               f"fixed" + ("." if plan.is_empty() else " (or push --skip-invalid)."), 80)
    else:
        lines.append("No changes to push." if plan.is_empty() else "")
    return "\n".join(lines).rstrip("\n")
