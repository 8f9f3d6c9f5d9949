"""Dates: the one reader of dates in timersync. ``convert``, ``diff``, ``push``, ``watch`` and ``sync``
(through :mod:`converters.files.reader`, :mod:`converters.compare.values` and :mod:`converters.compare.validate`), RaceEntry's
answers (:mod:`converters.model.wire`) and the workbook writer's date cells all read dates here.

A cell is read in its column's format first (the profile's ``date_format``). Another spelling is taken
only when it can mean one day: a four-digit year first (``1954-02-04``, ``1954/02/04``), a day over 12
(``21.02.1954`` in a month-first column), a month name in one of the languages spreadsheets ship
(``4-Feb-1954``, ``4. Februar 1954``, ``4 févr. 1954``). Anything else is left for the caller to judge
with :func:`readings`: both readings of ``04.02.1954`` in a month-first column, or the day of a
two-digit year (``03/04/85``) whose century is not written. What the caller makes of them (damage of a
known day, a late entry's century, an invalid row) is :mod:`converters.compare.damage`'s and
:mod:`converters.compare.validate`'s business.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable

_PARTS = {"%d": r"(?P<d>[0-9]{1,2})", "%m": r"(?P<m>[0-9]{1,2})", "%Y": r"(?P<y>[0-9]{4})"}
_ISO = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
# A date cell read back, or a spreadsheet's date with a time ("1990-05-05 00:00:00", "5/5/1990 0:00").
_TIME = re.compile(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?( ?[AaPp][Mm])?\Z")
_NUMERIC = re.compile(r"([0-9]{1,4})([/.\-])([0-9]{1,2})\2([0-9]{2}|[0-9]{4})\.?\Z")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})\Z")  # 19540204
_WORDS = re.compile(r"[^\W\d_]+|[0-9]+")

# Month names and the abbreviations spreadsheets show (en, de, fr, es, it, nl, pt), accents dropped.
_MONTH_NAMES = {
    1: "jan january januar janv janvier ene enero gen gennaio januari jaen jaenner janeiro",
    2: "feb february februar fev fevr fevrier febrero febbraio februari fevereiro",
    3: "mar march maerz marz mrz mars marzo mrt maart marco",
    4: "apr april avr avril abr abril aprile",
    5: "may mai mayo mag maggio mei maio",
    6: "jun june juni juin junio giu giugno junho",
    7: "jul july juli juil juillet julio lug luglio julho",
    8: "aug august aout ago agosto augustus",
    9: "sep sept september septembre septiembre setiembre set settembre setembro",
    10: "oct october okt oktober octobre octubre ott ottobre out outubro",
    11: "nov november novembre noviembre novembro",
    12: "dec december dez dezember decembre dic diciembre dicembre dezembro",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}


def _fold(word: str) -> str:
    text = unicodedata.normalize("NFKD", word.casefold().replace("ä", "ae"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def month_of(word: str) -> int | None:
    """The month a name or abbreviation stands for ("Mar", "März", "mrt", "févr."), else None."""
    return MONTHS.get(_fold(word).rstrip("."))


@dataclass(frozen=True)
class Readings:
    """What a cell can mean: ``dates`` the days it can be (ISO; one, or two when day and month can be
    read either way), ``short`` the (two-digit year, month, day) readings of a date whose century is not
    written. Empty when the cell is no date."""

    dates: tuple[str, ...] = ()
    short: tuple[tuple[int, int, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.dates or self.short)

    @property
    def one(self) -> str | None:
        """The day, when the cell can mean only one."""
        return self.dates[0] if len(self.dates) == 1 and not self.short else None


@functools.lru_cache(maxsize=32)
def format_regex(fmt: str, short_year: bool = False) -> re.Pattern[str] | None:
    """A matcher for a format made of %d %m %Y (once each) and separators (strptime is ~30x slower);
    ``short_year``: the same format with a two-digit year, as a spreadsheet shortens it. None for any
    other format."""
    if not all(p in fmt for p in _PARTS):
        return None
    out = ""
    for part in re.split(r"(%[a-zA-Z%])", fmt):
        if part.startswith("%") and len(part) == 2:
            if part not in _PARTS:
                return None
            out += r"(?P<y>[0-9]{2})" if part == "%Y" and short_year else _PARTS[part]
        else:
            out += re.escape(part)
    try:
        return re.compile(out + r"\Z")
    except re.error:  # a part used twice
        return None


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _day_month_ok(m: int, d: int) -> bool:
    return _iso(2000, m, d) is not None  # a leap year: 29 February is a day of some years


def in_format(text: str, fmt: str) -> str | None:
    """``text`` read in ``fmt`` exactly -> ISO; None when it is not a date in that format."""
    rx = format_regex(fmt)
    if rx is not None:
        m = rx.match(text)
        return _iso(int(m["y"]), int(m["m"]), int(m["d"])) if m else None
    try:
        return _dt.datetime.strptime(text, fmt).date().isoformat()
    except ValueError:
        return None


def tidy(value: Any) -> str:
    """A cell as date text: surrounding and inner runs of whitespace tidied, a time part dropped."""
    text = " ".join(str(value).split()) if value is not None else ""
    if ":" in text:
        text = _TIME.sub("", text).strip()
    return text


@functools.lru_cache(maxsize=65536)
def readings(text: str, fmt: str | None = None) -> Readings:
    """Every day ``text`` can be, read in ``fmt`` first (see the module's docstring)."""
    if len(text) == 10 and text[4] == "-" and (m := _ISO.match(text)):  # the canonical form, most of all
        iso = _iso(int(m[1]), int(m[2]), int(m[3]))
        return Readings((iso,)) if iso else Readings()
    text = tidy(text)
    if not text:
        return Readings()
    if fmt:
        iso = in_format(text, fmt)
        if iso:
            return Readings((iso,))
        rx = format_regex(fmt, short_year=True)
        m = rx.match(text) if rx else None
        if m and _day_month_ok(int(m["m"]), int(m["d"])):
            return Readings(short=((int(m["y"]), int(m["m"]), int(m["d"])),))
    if (m := _ISO.match(text)) or (m := _COMPACT.match(text)):
        iso = _iso(int(m[1]), int(m[2]), int(m[3]))
        return Readings((iso,)) if iso else Readings()
    if (m := _NUMERIC.match(text)):
        a, b, y = m[1], m[3], m[4]
        if len(a) == 4:  # a four-digit year first: year, month, day
            iso = _iso(int(a), int(b), int(y)) if len(y) <= 2 else None
            return Readings((iso,)) if iso else Readings()
        if len(a) > 2:
            return Readings()
        orders = list(dict.fromkeys(o for o in ((int(a), int(b)), (int(b), int(a))) if _day_month_ok(*o)))
        if len(y) == 2:
            return Readings(short=tuple((int(y), mo, d) for mo, d in orders))
        days = (_iso(int(y), mo, d) for mo, d in orders)
        return Readings(tuple(iso for iso in days if iso))
    return _named(text)


def _named(text: str) -> Readings:
    """A date with its month written as a word: "4-Feb-1954", "Feb 4, 1954", "4. Februar 1954"."""
    words = _WORDS.findall(text)
    names = [w for w in words if not w.isdigit()]
    if len(names) != 1 or not 2 <= len(words) - 1 <= 2:
        return Readings()
    month = month_of(names[0])
    numbers = [w for w in words if w.isdigit()]
    if month is None or len(numbers) != 2:
        return Readings()
    day, year = numbers
    if len(day) == 4 and len(year) <= 2:  # 1954-Feb-04
        day, year = year, day
    if len(day) > 2 or len(year) not in (2, 4):
        return Readings()
    if len(year) == 2:
        return Readings(short=((int(year), month, int(day)),)) if _day_month_ok(month, int(day)) else Readings()
    iso = _iso(int(year), month, int(day))
    return Readings((iso,)) if iso else Readings()


def parse(value: Any, fmt: str | None = None) -> str | None:
    """A date (a date cell, or text read as :func:`readings` does) -> ``YYYY-MM-DD``; None when it is
    no date, or not one day (two readings, or a two-digit year)."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-" and value[:4].isdigit():
        try:  # ISO, as RaceEntry and nearly every file row write it: read in any format, checked in C
            _dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    return readings(value if isinstance(value, str) else str(value), fmt).one


@functools.lru_cache(maxsize=32)
def _date_reader(fmt: str) -> tuple[re.Pattern[str], Callable[[Iterable[str]], dict[str, str]]] | None:
    """For a format of %d %m %Y (once each) and literal text: a matcher for a joined column of such
    dates written at fixed width (05.05.1990), and a compiled ``{text: iso}`` builder (slices)."""
    parts = re.split(r"(%.)", fmt)
    if sorted(p for p in parts if "%" in p) != ["%Y", "%d", "%m"]:
        return None
    pattern, pos, where = "", 0, {}
    for part in parts:
        if part in ("%Y", "%m", "%d"):
            size = 4 if part == "%Y" else 2
            where[part] = f"v[{pos}:{pos + size}]"
            pattern += f"[0-9]{{{size}}}"
            pos += size
        else:
            pattern += re.escape(part)
            pos += len(part)
    src = f"def build(vs):\n    return {{v: {where['%Y']} + '-' + {where['%m']} + '-' + {where['%d']} for v in vs}}\n"
    namespace: dict[str, Any] = {}
    exec(src, namespace)  # noqa: S102 - slices at positions computed above
    return re.compile(f"(?:{pattern}\n)*\\Z"), namespace["build"]


def column(values: list[str], fmt: str) -> list[str | None] | None:
    """A date column read in one pass over its distinct values, when every cell is empty or a valid
    fixed-width date in ``fmt``; None otherwise (then the careful per-cell path runs)."""
    reader = _date_reader(fmt)
    if reader is None:
        return None
    rx, build = reader
    uniq = set(values)
    uniq.discard("")
    if not uniq or not rx.match("\n".join(uniq) + "\n"):
        return None
    lookup: dict[str, str | None] = build(uniq)
    try:
        list(map(_dt.date.fromisoformat, lookup.values()))  # day and month ranges, year 0
    except ValueError:
        return None
    lookup[""] = None
    return list(map(lookup.__getitem__, values))


def day_month(text: str) -> tuple[int, int] | None:
    """(day, month) of what a spreadsheet shows for a date without a year: "4-Mar", "Mar-4", "04. Mrz",
    "4 mars"; None when it is not that."""
    words = _WORDS.findall(text)
    if len(words) != 2:
        return None
    first, second = words
    if first.isdigit() and not second.isdigit():
        day, month = int(first), month_of(second)
    elif second.isdigit() and not first.isdigit():
        day, month = int(second), month_of(first)
    else:
        return None
    return (day, month) if month and _day_month_ok(month, day) else None


def swapped(iso: str) -> str | None:
    """The day ``iso`` is with day and month swapped (04-02 for 02-04); None when that is no other day."""
    m = _ISO.match(iso or "")
    if not m or m[2] == m[3]:
        return None
    return _iso(int(m[1]), int(m[3]), int(m[2]))


def age_on(dob: str, day: str) -> int:
    """Whole years from ``dob`` to ``day`` (both ISO)."""
    return int(day[:4]) - int(dob[:4]) - ((day[5:7], day[8:10]) < (dob[5:7], dob[8:10]))


def centuries(short: tuple[tuple[int, int, int], ...], race_day: str) -> list[str]:
    """The days two-digit-year readings can be that give an age from 0 to 100 on ``race_day``."""
    out = []
    for yy, month, day in short:
        for century in (1800, 1900, 2000):
            iso = _iso(century + yy, month, day)
            if iso and iso <= race_day and age_on(iso, race_day) <= 100:
                out.append(iso)
    return list(dict.fromkeys(out))


def hint(fmt: str | None) -> str:
    """A format as people write it: %m/%d/%Y -> MM/DD/YYYY."""
    fmt = fmt or "%Y-%m-%d"
    return fmt.replace("%d", "DD").replace("%m", "MM").replace("%Y", "YYYY").replace("%y", "YY")


def race_day(race: Any) -> str | None:
    """The race's day (its next date, else its last) as ISO, from a race object; None when it has none."""
    if not isinstance(race, dict):
        return None
    for key in ("next_date", "last_date"):
        day = parse(race.get(key), "%m/%d/%Y")
        if day:
            return day
    return None
