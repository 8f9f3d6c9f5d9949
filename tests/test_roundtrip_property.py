"""Property tests: nasty strings survive CSV and XLSX through the raceentry profile; formula
neutralisation is a bijection."""

from __future__ import annotations

import re

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converters.plan.convert import TRIGGERS, neutralize, read_file, unneutralize, write_file
from converters.model import Participant
from converters.files.profiles import load_profile

# Surrogates cannot be encoded at all (RaceEntry's JSON cannot carry them either).
CHARS = st.characters(blacklist_categories=("Cs",))
NASTY = st.one_of(
    st.text(CHARS, max_size=12),
    st.text(st.sampled_from(list("=+-@'\t\r\n,;\"' 0_x7A")), max_size=8),
    st.sampled_from(["0050", "=1+2", "'=x", "''+y", "@SUM(A1)", "-", "+1 801 555 0100", "مرحبا", "שלום",
                     "🏃‍♀️", "a\r\nb", "  padded  ", "_x0041_", "\x00\x1f", "\u200f"]),
)
# A code (bib) that reads back as itself: "5.0" would be read as a spreadsheet's re-typed 5.
CODES = NASTY.filter(lambda s: not (s.replace(".", "", 1).lstrip("-").isdigit() and ".0" in s))
TEXT_FIELDS = ("first_name", "middle_name", "last_name", "email", "street", "city", "state", "team_name",
               "country_code", "registration_date")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def participant_lists(draw):
    n = draw(st.integers(min_value=1, max_value=4))
    out = []
    for i in range(n):
        p = Participant(registration_id=str(draw(st.integers(1, 10**12))), event_id=draw(st.integers(1, 999)))
        for f in TEXT_FIELDS:
            setattr(p, f, draw(NASTY))
        p.bib = draw(CODES)
        p.chip = draw(CODES)
        p.gender = draw(NASTY)
        p.extra["giveaway"] = draw(NASTY)
        p.extra["race_fee"] = draw(NASTY)
        out.append(p)
    return out


def _norm(v):
    return None if v in ("", None) else v


def _check(kind, ps):
    profile = load_profile("raceentry")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"p.{kind}"
        write_file(path, ps, profile)
        data = read_file(path, profile)
    # A row whose every cell is empty is skipped; registration_id is always set, so none is.
    assert len(data.participants) == len(ps)
    def sent(v):  # a tab or line break inside a value of a tab-delimited file is written as a space
        return re.sub(r"\r\n|[\t\r\n]", " ", v) if kind == "txt" and isinstance(v, str) else v

    for a, b in zip(ps, data.participants):
        for f in TEXT_FIELDS + ("registration_id", "event_id", "bib", "chip", "gender"):
            assert _norm(b.get(f)) == _norm(sent(a.get(f))), (kind, f, a.get(f), b.get(f))
        for key in ("giveaway", "race_fee"):
            assert _norm(b.extra.get(key)) == _norm(sent(a.extra.get(key))), (kind, key)


@SETTINGS
@given(participant_lists())
def test_nasty_strings_round_trip_csv(ps):
    _check("csv", ps)


@SETTINGS
@given(participant_lists())
def test_nasty_strings_round_trip_xlsx(ps):
    _check("xlsx", ps)


@SETTINGS
@given(participant_lists())
def test_nasty_strings_round_trip_txt(ps):
    _check("txt", ps)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("'=+-@\t\rab")), max_size=8) | st.text(CHARS, max_size=8))
def test_neutralize_is_a_bijection(value):
    out = neutralize(value)
    assert unneutralize(out) == value
    # Nothing a spreadsheet would run as a formula survives.
    assert out[:1] not in TRIGGERS
    # Values that need no protection are untouched.
    if not value.lstrip("'")[:1] in TRIGGERS or not value:
        assert out == value


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("'=+-@\tab")), max_size=6), st.text(st.sampled_from(list("'=+-@\tab")), max_size=6))
def test_neutralize_is_injective(a, b):
    if a != b:
        assert neutralize(a) != neutralize(b)


def _csv_writer_text(rows, delimiter, line_ending):
    import csv
    import io

    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator=line_ending, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue()


CELLS = st.one_of(NASTY, st.sampled_from(["", "a,b", 'say "hi"', "x;y", "t\tz", "l1\nl2", "cr\r", "plain"]))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5).flatmap(lambda w: st.lists(st.lists(CELLS, min_size=w, max_size=w), max_size=6)),
       st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(["\r\n", "\n", "\r"]))
def test_plain_csv_body_is_what_csv_writer_writes(rows, delimiter, line_ending):
    from converters.files.delimited_write import _plain_body

    body = _plain_body(rows, delimiter, line_ending)
    if body is not None:
        assert body == _csv_writer_text(rows, delimiter, line_ending)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=6), st.booleans())
def test_written_csv_is_what_csv_writer_writes(rows, with_none):
    from converters.files.delimited_write import write_rows

    if with_none:
        rows = [[None if v == "" else v for v in row] for row in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        write_rows(path, ["a", "b", "c"], rows, ",", "\r\n", "utf-8")
        assert path.read_bytes() == _csv_writer_text([["a", "b", "c"]] + rows, ",", "\r\n").encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(""), st.dates().map(lambda d: d.isoformat()),
                          st.sampled_from(["2000-02-30", "0999-01-01", "13.04.2000", "20000413", "x"])),
                max_size=8),
       st.sampled_from(["%d.%m.%Y", "%m/%d/%Y", "%Y-%m-%d", "%Y%m%d", "{%d}", "%d %b %Y", "%y"]))
def test_fast_date_cells_match_strftime(values, fmt):
    from converters.files.writer import _date_lookup, _date_out

    lookup = _date_lookup(set(values), fmt, "")
    if lookup is not None:
        for v in values:
            assert lookup[v] == (_date_out(v, fmt) if v else "")
