"""Delimited text files (CSV, tab-delimited TXT): encoding detection, reading and writing.

Reading tries, in order: the ``--encoding`` override, a byte-order mark (UTF-8, UTF-16), strict UTF-8,
then Windows-1252, which is what Windows spreadsheets save "CSV" as. Writing goes through
:func:`converters.atomic.atomic_writer`; a Windows-1252 target gets characters it cannot hold
transliterated (``anyascii``: Łukasz -> Lukasz) and each such value is reported, never silently ``?``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from typing import Sequence

from .atomic import write_bytes
from .errors import InputError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode(data: bytes, file: str, encoding: str | None = None) -> tuple[str, str]:
    """Bytes -> (text, encoding used)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}; try utf-8, utf-8-sig or cp1252", file=file) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid {encoding} (byte {exc.start}); try another --encoding", file=file) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                raise InputError(f"starts with a {name} byte-order mark but is not valid {name}; "
                                 f"pass --encoding", file=file) from None
            return undo_double_encoding(text), name
    try:
        return undo_double_encoding(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise InputError(f"neither UTF-8 nor Windows-1252 (byte {exc.start}); pass --encoding, e.g. "
                         f"--encoding latin-1", file=file) from None


def _undo_table() -> dict[int, str]:
    """Character -> the byte (as a latin-1 character) a Windows-1252 decoder made it from: the 27
    printable 0x80-0x9F characters (€ -> 0x80), and the five bytes Windows-1252 leaves undefined, which
    decoders turn into U+0081... (Python, latin-1) or U+F181... (LibreOffice)."""
    table: dict[int, str] = {}
    for b in range(0x80, 0xA0):
        try:
            table[ord(bytes([b]).decode("cp1252"))] = chr(b)
        except UnicodeDecodeError:
            table[0xF100 + b] = chr(b)
    return table


_UNDO = _undo_table()


MIN_MOJIBAKE = 3


def undo_double_encoding(text: str) -> str:
    """``text`` with UTF-8 that was read as Windows-1252 and saved again ("NÃºÃ±ez", a leading "ï»¿")
    turned back into what it said ("Núñez"); any other text unchanged.

    LibreOffice opens a CSV as Windows-1252 unless told otherwise (headless ``--convert-to`` always
    does), then saves UTF-8: every accented name comes back as mojibake, and the BOM as "ï»¿" glued to
    the first header. The test is strict and whole-file: every character must map back to one byte and
    those bytes must be valid UTF-8 with multi-byte sequences, which real Windows-1252 text ("Núñez" ->
    N 0xFA 0xF1 ez) practically never is."""
    if text.isascii():
        return text
    try:
        raw = text.encode("cp1252")  # C speed; fails fast on text that was never mis-decoded
    except UnicodeEncodeError as exc:
        if ord(text[exc.start]) not in _UNDO:
            return text  # "Łukasz", "王": real text
        try:
            raw = text.translate(_UNDO).encode("latin-1")
        except UnicodeEncodeError:
            return text
    try:
        fixed = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return text
    # A short run such as "Â\xa0" is also valid as itself: undo only with the mangled BOM LibreOffice
    # leaves ("ï»¿"), or with several mojibake characters, which real text does not chain by chance.
    if text.startswith("ï»¿") or sum(not c.isascii() for c in fixed) >= MIN_MOJIBAKE:
        return fixed
    return text


def sniff_delimiter(first_line: str, preferred: str) -> str:
    """The delimiter of a header line: the preferred one unless tab or semicolon clearly wins
    (Excel in many European locales saves "CSV" with semicolons)."""
    counts = {d: first_line.count(d) for d in (preferred, "\t", ";", ",")}
    best = max(counts, key=lambda d: (counts[d], d == preferred))
    return best if counts[best] > counts[preferred] else preferred


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
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=False))
    except csv.Error as exc:
        raise InputError(f"cannot parse as delimited text ({exc})", file=file) from None
    check_rows(rows, text, file)
    return rows


def check_rows(rows: list[list[str]], text: str, file: str) -> None:
    """Raise CutShort for a file that looks cut short: a row with fewer cells than the header (blank rows
    aside), or a last line without the line ending the other lines have (an interrupted copy, a writer
    that paused). Such a file is never planned: its missing cells would read as blanks and wipe fields."""
    from .errors import CutShort

    if not rows:
        return
    width = len(rows[0])
    for i, row in enumerate(rows[1:], 2):
        if len(row) < width and any(cell.strip() for cell in row):
            raise CutShort(f"the file looks cut short (row {i} has {len(row)} of {width} columns); copy it "
                           f"again, or give the row its missing cells", file=file)
    stripped = text.rstrip("\x00")
    if len(rows) > 1 and not stripped.endswith(("\n", "\r")):
        raise CutShort(f"the file looks cut short (its last line, row {len(rows)}, has no line ending); copy "
                       f"it again, or, if it is complete, end it with a line break", file=file)


def to_cp1252(value: str) -> str:
    """``value`` with every character Windows-1252 cannot hold transliterated (anyascii)."""
    from anyascii import anyascii

    out = []
    for ch in value:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            ascii_ = anyascii(ch)
            # anyascii spells emoji as ":person_running:"; in a name field that is noise, so drop them.
            out.append("" if len(ascii_) > 2 and ascii_[0] == ascii_[-1] == ":" else ascii_)
    text = "".join(out)
    return text.strip() if text != value and value == value.strip() else text


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
    lengths = set(map(len, rows))
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


def write_rows(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[str | None]],
               delimiter: str, line_ending: str, encoding: str) -> list[str]:
    """Write header + rows atomically; returns warnings (values transliterated for the encoding)."""
    warnings: list[str] = []
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    body = _plain_body(rows, delimiter, line_ending)
    if body is None:
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        text = buf.getvalue() + body
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
                    warnings.append(f"row {r}, column {header[i]!r}: {value!r} written as {new[i]!r} "
                                    f"({encoding} cannot hold it)")
            fixed_rows.append(new)
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_MINIMAL)
        writer.writerow([to_cp1252(h) for h in header])
        writer.writerows(fixed_rows)
        data = buf.getvalue().encode(encoding, errors="replace")
    write_bytes(path, data)
    return warnings
