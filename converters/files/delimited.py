"""Reading delimited text files (CSV, tab-delimited TXT): the delimiter, the rows, the .txt cell form,
and the checks that refuse a file cut short or with a quote never closed. The bytes are decoded by
:func:`converters.files.charsets.decode`; writing is :mod:`converters.files.delimited_write`'s.
"""

from __future__ import annotations

import csv
import io
import os
from typing import Iterable

from .charsets import decode
from ..errors import CutShort, InputError


def sniff_delimiter(first_line: str, preferred: str) -> str:
    """The delimiter of a header line: the preferred one unless tab or semicolon clearly wins
    (Excel in many European locales saves "CSV" with semicolons)."""
    counts = {d: first_line.count(d) for d in (preferred, "\t", ";", ",")}
    best = max(counts, key=lambda d: (counts[d], d == preferred))
    return best if counts[best] > counts[preferred] else preferred


def lines(text: str) -> Iterable[str]:
    """The lines of ``text`` with their endings, as ``io.StringIO(text, newline="")`` gives them to the csv
    module, without the copy of the whole text StringIO makes (four bytes a character: 26 MB for a
    50,000-row file). Text with a CR that is not part of a CRLF is split by StringIO itself."""
    if text.count("\r") != text.count("\r\n"):
        yield from io.StringIO(text, newline="")
        return
    find, start, size = text.find, 0, len(text)
    while start < size:
        end = find("\n", start) + 1 or size
        yield text[start:end]
        start = end


def read_rows(path: str | os.PathLike, delimiter: str, encoding: str | None = None) -> list[list[str]]:
    """All rows of a delimited file as lists of strings (header included)."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InputError("the file is empty; expected a header row and participants", file=file)
    text, _ = decode(data, file, encoding)
    first = text[: text.find("\n")] if "\n" in text else text
    delim = sniff_delimiter(first, delimiter)
    if delimiter == delim == "\t":
        rows = tab_records(text)
        check_rows(rows, text, file)
        return rows
    try:
        rows = list(csv.reader(lines(text), delimiter=delim, strict=False))
    except csv.Error as exc:
        raise InputError(f"cannot parse as delimited text ({exc})", file=file) from None
    if len(rows) < text.count("\n") - text.count("\n\n") and '"' in text:
        _check_quotes(text, delim, file)  # cells hold line breaks: legitimately, or an unclosed quote
    check_rows(rows, text, file)
    return rows


# The tab-delimited kind (.txt) is line-oriented, as timing programs' text imports read it: one record a
# line, cells split at tabs, never quoted. Values hold no tab or line break (written as a space) and a
# quote is written as it is. The one exception keeps what spreadsheets write readable: a cell in their
# quoted form, wrapped in quotes with every quote inside doubled and at least one doubled quote
# ('"Bob ""Speedy"""', as Excel and LibreOffice save 'Bob "Speedy"'), is read as what it quotes; so a value
# that itself has that form (never a name) is written quoted, and every value reads back as written.


def _quoted_form(cell: str) -> bool:
    inner = cell[1:-1]
    return (len(cell) >= 4 and cell[0] == cell[-1] == '"' and '""' in inner
            and '"' not in inner.replace('""', ""))


def tab_cell(value: str) -> str:
    """A value (holding no tab or line break) as a .txt cell: as it is, or quoted when it has the quoted form."""
    return '"' + value.replace('"', '""') + '"' if value[:1] == '"' and _quoted_form(value) else value


def tab_records(text: str) -> list[list[str]]:
    """The records of a tab-delimited text: one a line (CR, LF or CRLF ends it), cells split at tabs,
    a cell in the quoted form unquoted."""
    rows = list(csv.reader(lines(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    if '""' in text:
        for row in rows:
            for i, cell in enumerate(row):
                if cell[:1] == '"' and _quoted_form(cell):
                    row[i] = cell[1:-1].replace('""', '"')
    return rows


def _check_quotes(text: str, delim: str, file: str) -> None:
    """Raise for a quote opened and never closed (the cell swallowed the rows after it) or closed in the
    middle of a cell, naming the line the row starts on. Parsed strictly: a cell that really holds a line
    break passes."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        why = "is never closed" if "end of data" in str(exc) else "is closed in the middle of a cell"
        raise InputError(f"line {start}: a quote in this row {why}, so cells run together; fix the quote (or "
                         f"remove it)", file=file) from None


def check_rows(rows: list[list[str]], text: str, file: str) -> None:
    """Raise CutShort for a file that looks cut short: a row with fewer cells than the header (blank rows
    aside), or a last line without the line ending the other lines have (an interrupted copy, a writer
    that paused). Such a file is never planned: its missing cells would read as blanks and wipe fields."""
    if not rows:
        return
    width = len(rows[0])
    for i, row in enumerate(rows[1:], 2):
        if len(row) < width and any(cell.strip() for cell in row):
            # the physical line the record starts on, for the message (cells may hold line breaks)
            line = i + sum(cell.count("\n") for r in rows[:i - 1] for cell in r)
            other = next((d for d in (";", ",", "\t") if d not in "".join(rows[0][:1]) and
                          sum(c.count(d) for c in row) >= width - 1 and len(row) <= 2), None)
            if other is not None:
                shown = {"\t": "tabs", ";": "';'", ",": "','"}[other]
                raise InputError(f"line {line} separates its cells with {shown}, unlike the header: save the whole "
                                 f"file with one delimiter", file=file)
            raise CutShort(f"the file looks cut short (row {i} has {len(row)} of {width} columns); copy it "
                           f"again, or give the row its missing cells", file=file)
    stripped = text.rstrip("\x00")
    if len(rows) > 1 and not stripped.endswith(("\n", "\r")):
        raise CutShort(f"the file looks cut short (its last line, row {len(rows)}, has no line ending); copy "
                       f"it again, or, if it is complete, end it with a line break", file=file)
