"""Spreadsheet damage: a file's value that is what a spreadsheet's defaults (or a code page) make of
RaceEntry's or the base's value, not an edit: a two-digit year, day and month swapped, leading zeros
dropped, a number in a locale's spelling, TRUE/FALSE, text as a date, characters lost."""

from __future__ import annotations

import re
from typing import Any

from .. import dates
from .values import clean_text

_SCIENTIFIC = re.compile(r"[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+\Z")
_DAY_MONTH = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_PLAIN_NUMBER = re.compile(r"[0-9]+([.,][0-9]+)?\Z")
# A number as a spreadsheet's locale shows it: grouping by thousands ("1.234,5", "1,234.5", "1 234,5",
# "1'234.5"), a decimal comma ("1234,5"), or in scientific form with either mark ("1,00E+05", "1.23457E+11").
_GROUPED = re.compile(r"[0-9]{1,3}(?P<g>[.,\u00a0\u202f' ])[0-9]{3}((?P=g)[0-9]{3})*([.,][0-9]+)?\Z")
_DECIMAL = re.compile(r"[0-9]+[.,][0-9]+\Z")
_SCIENTIFIC_ANY = re.compile(r"(?P<m>[0-9]+([.,](?P<f>[0-9]+))?)[eE](?P<e>[+-]?[0-9]+)\Z")
DAMAGE_KINDS = ("two-digit year", "day and month swapped", "lost leading zeros", "number as 1E5",
                "number in a locale's spelling", "long number rounded (1.23457E+11)", "TRUE/FALSE",
                "text as a date", "characters lost (\ufffd)", "formula guard")


def _decimal(text: str) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _number_damage(fv: str, ref: str) -> str | None:
    """The kind of damage when ``fv`` is a spreadsheet's spelling of the number ``ref`` is; else None."""
    sci = _SCIENTIFIC_ANY.match(fv)
    if _SCIENTIFIC.match(ref):  # "1E5" shown as 100000, 1.00E+05 or 1,00E+05
        shown = fv.replace(",", ".") if sci else fv if fv.replace(".", "", 1).isdigit() else None
        got, want = _decimal(shown) if shown else None, _decimal(ref)
        return "number as 1E5" if got is not None and want is not None and got == want else None
    if not _PLAIN_NUMBER.match(ref):
        return None
    want = _decimal(ref.replace(",", "."))
    if sci and ref.isdigit() and len(ref) > 11:  # a 12-digit chip shown as 1.23457E+11: rounded, not edited
        from decimal import ROUND_HALF_UP, Decimal

        got = _decimal(sci["m"].replace(",", ".") + "E" + sci["e"])
        digits = len(sci["m"].replace(",", "").replace(".", "").lstrip("0")) or 1
        drop = len(ref.lstrip("0")) - digits
        rounded = Decimal(int(ref)).scaleb(-drop).quantize(Decimal(1), ROUND_HALF_UP).scaleb(drop)
        return "long number rounded (1.23457E+11)" if drop > 0 and got == rounded else None
    if sci:
        got = _decimal(sci["m"].replace(",", ".") + "E" + sci["e"])
        return "number in a locale's spelling" if got is not None and got == want else None
    readings = []
    if _GROUPED.match(fv):
        group = _GROUPED.match(fv)["g"]
        decimal_mark = "," if group != "," else "."
        whole, _, part = fv.replace(group, "").partition(decimal_mark)
        readings.append(f"{whole}.{part}" if part else whole)
    elif _DECIMAL.match(fv):
        readings.append(fv.replace(",", "."))
    return "number in a locale's spelling" if any(_decimal(r) == want for r in readings) else None


def damage_of(file_value: str, ref: str | None) -> str | None:
    """The kind of damage when ``file_value`` is what a spreadsheet's defaults make of ``ref`` (both
    normalised): a two-digit year, a date read day first (day and month swapped), leading zeros dropped,
    a number in a locale's spelling ("1E5" as 100000 or 1,00E+05, 1234.5 as 1.234,5, a 12-digit chip as
    1.23457E+11), "True" as TRUE, "3/4" as a date (03/04/26, 4-Mar, 4. Mrz), characters a wrong character
    set turned into U+FFFD, the formula guard ``'`` an earlier version wrote into workbooks. None when it
    is not (a real edit, or the same)."""
    fv = file_value
    if not fv or not ref or fv == ref:
        return None
    if _ISO_DATE.match(ref):
        got = dates.readings(fv)
        day = (int(ref[5:7]), int(ref[8:10]))
        if any(yy == int(ref[2:4]) and {m, d} == set(day) for yy, m, d in got.short):
            return "two-digit year"
        if ref in got.dates or (dates.swapped(ref) or "-") in got.dates:
            return "day and month swapped"
        return None
    if ref.isdigit() and ref[0] == "0" and fv == (ref.lstrip("0") or "0"):
        return "lost leading zeros"
    number = _number_damage(fv, ref)
    if number:
        return number
    if ref.casefold() in ("true", "false") and fv == ref.upper():
        return "TRUE/FALSE"
    if fv == "'" + ref and ref[:1] in "=+-@":
        return "formula guard"
    dm = _DAY_MONTH.match(ref)
    if dm:  # "3/4" shown back as 03/04/26, 2026-03-04, 4-Mar, 04. Mrz, 4-mars ...
        got = dates.readings(fv)
        shown = dates.day_month(fv)
        parts = ({got.short[0][1], got.short[0][2]} if got.short else
                 {int(got.dates[0][5:7]), int(got.dates[0][8:10])} if got.dates else set(shown) if shown else None)
        if parts == {int(dm.group(1)), int(dm.group(2))}:
            return "text as a date"
    if "\ufffd" in fv and len(fv) == len(ref) and all(a == b or (a == "\ufffd" and not b.isascii())
                                                      for a, b in zip(fv, ref)):
        return "characters lost (\ufffd)"
    return None


def transliterated(value: str) -> str:
    """``value`` as timersync's writer puts it in a Windows-1252 file ("Łukasz" as "Lukasz")."""
    from ..files.charsets import to_cp1252

    return clean_text(to_cp1252(value))


def question_marked(value: str) -> str:
    """``value`` as a Windows-1252 save writes it: "?" for every character the code page cannot hold."""
    return clean_text(value.encode("cp1252", errors="replace").decode("cp1252"))
