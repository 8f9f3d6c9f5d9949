"""Warnings a person can read: the writers report per cell ("row 67, 'First Name': '=SUM(A1)' written as
"'=SUM(A1)" ..."); a race of 50,000 can make thousands of those. :func:`group` turns them into one line per
kind that says what was done, whether the timer must act, the first few rows and how many more:

    7,512 values start with =, +, - or @ (First Name, Last Name): written with a leading ' so a
      spreadsheet does not run them as formulas (RunScore shows the '); nothing to do; rows 3, 17, 46
      and 7,509 more

A warning that is not about a row, or the only one of its kind, is kept as it was written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHOW = 3  # rows named per kind

_ROW = re.compile(r"(?P<prefix>[^\s:]+: )?row (?P<row>\d+), (?:column )?(?P<col>'(?:[^'\\]|\\.)*'|\"[^\"]*\"): "
                  r"(?P<rest>.*)\Z", re.S)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")

# kind -> (pattern of the text after the column, the grouped line's words: {n} {cols} {1}.. from the pattern)
_KINDS: list[tuple[str, re.Pattern[str], str]] = [
    ("formula", re.compile(r".* written as .* \(else a formula(?:; (?P<p>.+) shows the ')?\)\Z", re.S),
     "{n} values start with =, +, - or @ ({cols}): written with a leading ' so a spreadsheet does not run "
     "them as formulas{shows}; nothing to do"),
    ("date", re.compile(r".* is not a YYYY-MM-DD date; written unchanged\Z", re.S),
     "{n} dates ({cols}) are not dates RaceEntry should send: written unchanged; you must act: correct them "
     "in RaceEntry"),
    ("map", re.compile(r".* has no value in the profile's map; written unchanged\Z", re.S),
     "{n} values ({cols}) have no value in the profile's map: written unchanged; you must act if the timing "
     "program refuses them: add them to the profile's map"),
    ("width", re.compile(r".* is longer than the (?P<w>\d+) characters (?P<p>.+) holds; it may be cut short "
                         r"there\Z", re.S),
     "{n} values ({cols}) are longer than the {w} characters {p} holds: it may cut them short; check them "
     "there"),
    ("tab", re.compile(r"a tab inside .* written as a space\Z", re.S),
     "{n} values ({cols}) held a tab: written with a space instead; nothing to do"),
    ("charset", re.compile(r".* written as .* \((?P<enc>\S+) cannot hold it\)\Z", re.S),
     "{n} values ({cols}) have letters {enc} cannot hold: written with the nearest plain letters "
     "(Dvořák as Dvorak); nothing to do"),
]


@dataclass
class _Group:
    words: str
    prefix: str
    first: str  # the first warning as written: kept alone when it is the only one
    values: dict[str, str]
    rows: list[int] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)


def group(warnings: list[str]) -> list[str]:
    """One line per kind of row warning (in the order each kind first appears), the rest as they are."""
    out: list[str | _Group] = []
    groups: dict[tuple[str, ...], _Group] = {}
    for w in warnings:
        m = _ROW.match(w)
        if m is None:
            out.append(w)
            continue
        rest, prefix = m["rest"], m["prefix"] or ""
        for kind, pattern, words in _KINDS:
            k = pattern.match(rest)
            if k is not None:
                values = {name: v for name, v in k.groupdict().items() if v}
                key: tuple[str, ...] = (prefix, kind, *sorted(values.items()))  # type: ignore[arg-type]
                break
        else:  # a kind not known here: the same words but for the values
            words, values = "", {}
            key = (prefix, "other", _QUOTED.sub("…", rest))
        g = groups.get(key)
        if g is None:
            g = groups[key] = _Group(words, prefix, w, values)
            out.append(g)
        g.rows.append(int(m["row"]))
        col = m["col"][1:-1]
        if col not in g.cols:
            g.cols.append(col)
    return [item if isinstance(item, str) else _line(item) for item in out]


def _line(g: _Group) -> str:
    n = len(g.rows)
    if n == 1:
        return g.first
    rows = sorted(set(g.rows))
    shown = ", ".join(map(str, rows[:SHOW]))
    if len(rows) > SHOW + 1:
        where = f"rows {shown} and {len(rows) - SHOW:,} more"
    else:
        where = ("rows " + ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}") if len(rows) > 1 else f"row {rows[0]}"
    if not g.words:
        return f"{g.first} (and the same in {n - 1:,} more row{'s' if n > 2 else ''}: {where})"
    program = g.values.get("p")
    shows = f" ({program} shows the ')" if program else ""
    words = g.words.format(n=f"{n:,}", cols=", ".join(g.cols), shows=shows, **g.values)
    return f"{g.prefix}{words}; {where}"
