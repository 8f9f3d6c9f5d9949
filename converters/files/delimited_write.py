"""Writing delimited text files (CSV, tab-delimited TXT) atomically, through
:func:`converters.atomic.write_bytes`: tab-delimited cells in the .txt form, CSV as csv.writer
(QUOTE_MINIMAL) writes it but mostly with C-level joins, and values the target encoding cannot hold
transliterated (:func:`converters.files.charsets.to_cp1252`) and each one reported, never silently ``?``.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import unicodedata
from typing import Sequence

from ..atomic import write_bytes
from .charsets import to_cp1252
from .delimited import tab_cell


_TAB_BREAK = re.compile(r"\r\n|[\t\r\n]")


def _tab_cells(header: Sequence[str], rows: Sequence[Sequence[str | None]]
               ) -> tuple[list[str], Sequence[Sequence[str | None]], str | None]:
    """Header and rows as .txt cells (:func:`tab_cell`), tabs and line breaks inside values as a space, and
    the one warning that says how many values held one (None when none did)."""
    cells = [tab_cell(_TAB_BREAK.sub(" ", h)) for h in header]
    try:
        joined = "".join(map("".join, rows))  # C-level; rows of text (the writers' empty cells are "")
    except TypeError:
        joined = "".join(v for row in rows for v in row if v)
    if not any(ch in joined for ch in '\t\r\n"'):
        return cells, rows, None
    fixed: list[Sequence[str | None]] = []
    first = None
    count = 0
    for r, row in enumerate(rows, start=2):
        line = "".join(v or "" for v in row)
        if "\t" not in line and "\r" not in line and "\n" not in line and '"' not in line:
            fixed.append(row)
            continue
        new = list(row)
        for i, v in enumerate(row):
            if not v:
                continue
            if "\t" in v or "\r" in v or "\n" in v:
                count += 1
                first = first or (r, header[i])
                v = _untab(_TAB_BREAK.sub(" ", v), v)
            new[i] = tab_cell(v)
        fixed.append(new)
    note = None
    if count:
        what = "tabs or line breaks in values written as spaces" if count > 1 else \
            "tab or line break in a value written as a space"
        note = f"{count} {what} (first: row {first[0]}, {first[1]!r})"
    return cells, fixed, note


def _plain_body(rows: Sequence[Sequence[str | None]], delimiter: str, line_ending: str) -> str | None:
    """The rows exactly as csv.writer (QUOTE_MINIMAL) writes them, built with C-level joins: csv.writer
    itself runs only for the few rows holding a value it quotes. None when the fast way does not apply
    (ragged or one-cell rows, a None or non-text cell, an odd dialect): then csv.writer writes it all.

    A row needs quoting when a value holds the delimiter, a quote, CR, LF or a line-ending character.
    Joining puts exactly ``width - 1`` delimiters in each line and none of the others, so counting them
    in the joined text (one C call each) proves most files clean; otherwise the offending lines are found
    by the same count per line.
    """
    if (not rows or len(delimiter) != 1 or delimiter.isspace() or delimiter == '"' or not line_ending
            or delimiter in line_ending):
        return None
    columns = getattr(rows, "columns", None)  # a column-wise table (writer._RowView): every row is as wide
    lengths = {len(columns)} if columns is not None else set(map(len, rows))
    width = lengths.pop()
    if lengths or width < 2:  # csv.writer writes a lone empty cell as ""
        return None
    try:
        lines = list(map(delimiter.join, rows))
    except TypeError:  # None or a non-text cell: csv.writer's own conversion applies
        return None
    body = line_ending.join(lines)
    n = len(lines)
    bad: set[int] = set()
    if body.count(delimiter) != n * (width - 1):
        bad.update(i for i, c in enumerate(map(str.count, lines, itertools.repeat(delimiter))) if c != width - 1)
    for ch in set('"\r\n' + line_ending):
        if body.count(ch) != (n - 1) * line_ending.count(ch):
            bad.update(i for i, line in enumerate(lines) if ch in line)
    if bad:
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_MINIMAL)
        cut = -len(line_ending)
        for i in sorted(bad):
            buf.seek(0)
            buf.truncate()
            writer.writerow(rows[i])
            lines[i] = buf.getvalue()[:cut]
        body = line_ending.join(lines)
    return body + line_ending


def _untab(out: str, value: str) -> str:
    """``out`` (``value`` with its tabs and line breaks as spaces) without the formula guard ``'`` that
    only a leading tab or CR needed."""
    if out.startswith("'") and value.lstrip("'")[:1] in ("\t", "\r"):
        out = out[1:]
    return out


def write_rows(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[str | None]],
               delimiter: str, line_ending: str, encoding: str) -> list[str]:
    """Write header + rows atomically; returns warnings (values transliterated for the encoding)."""
    warnings: list[str] = []
    if delimiter == "\t":
        header, rows, note = _tab_cells(header, rows)
        if note:
            warnings.append(note)
    text = _text(header, rows, delimiter, line_ending)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        # Slow path, only when some value does not fit: transliterate per value and report each one.
        fixed_rows = []
        for r, row in enumerate(rows, start=2):
            new = list(row)
            for i, value in enumerate(row):
                if not value:
                    continue
                try:
                    value.encode(encoding)
                except UnicodeEncodeError:
                    new[i] = to_cp1252(value)
                    if new[i] != unicodedata.normalize("NFC", value):  # not only composed: something was lost
                        warnings.append(f"row {r}, column {header[i]!r}: {value!r} written as {new[i]!r} "
                                        f"({encoding} cannot hold it)")
            fixed_rows.append(new)
        text = _text([to_cp1252(h) for h in header], fixed_rows, delimiter, line_ending)
        data = text.encode(encoding, errors="replace")
    write_bytes(path, data)
    return warnings


def _text(header: Sequence[str], rows: Sequence[Sequence[str | None]], delimiter: str, line_ending: str) -> str:
    """Header and rows as text: tab-delimited cells (already made by :func:`_tab_cells`) joined as they
    are; any other delimiter as csv.writer (QUOTE_MINIMAL) writes them."""
    if delimiter == "\t":
        try:
            lines = list(map("\t".join, itertools.chain([header], rows)))
        except TypeError:  # a None cell
            lines = ["\t".join(v or "" for v in row) for row in itertools.chain([header], rows)]
        return line_ending.join(lines) + line_ending
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    body = _plain_body(rows, delimiter, line_ending)
    if body is None:
        writer.writerows(rows)
        return buf.getvalue()
    return buf.getvalue() + body
