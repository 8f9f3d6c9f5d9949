"""The client adapts to whatever RaceEntry really does: paging by page, by after_registration_id or not at
all; events missing from the races answer; a key refused with HTTP 401 or an error text."""

from __future__ import annotations

import pytest

from converters.client import RaceEntryClient
from converters.client.transport import _key_refused
from converters.plan.convert import with_events


def rows(ids):
    return [{"registration_id": i, "event_id": 16, "last_modified": 1, "user": {"first_name": f"R{i}",
                                                                              "last_name": "X"}} for i in ids]


class FakeRaceEntry:
    """Answers GET participants the way a server of one paging style would (100 rows, pages of 30, or of
    at most ``cap`` whatever was asked, without saying so)."""

    def __init__(self, style: str, cap: int | None = None):
        self.style, self.cap, self.calls = style, cap, []

    def __call__(self, path, params, what, schema):
        self.calls.append(dict(params))
        ids = list(range(1, 101))
        size = min(params["results_per_page"], self.cap or 10**9)
        if self.style == "page":
            page = params.get("page", 1)
            chosen = ids[(page - 1) * size: page * size]
        elif self.style == "after":  # ignores page
            after = params.get("after_registration_id", 0)
            chosen = [i for i in ids if i > after][:size]
        else:  # no paging: everything at once (up to the cap)
            chosen = ids[:self.cap]
        return [{"event": {"event_id": 16, "participants": []}, "participants": rows(chosen)}]


@pytest.mark.parametrize("style", ["page", "after", "none"])
def test_paging_works_every_way(style, monkeypatch):
    c = RaceEntryClient("http://127.0.0.1:9/rest")
    c.page_size = 30
    fake = FakeRaceEntry(style)
    monkeypatch.setattr(c, "get", fake)
    got = c.participants(2026, 0)
    assert sorted(r["registration_id"] for g in got for r in g["participants"]) == list(range(1, 101))
    # every style is read until an empty page or a page bringing nothing new (never "fewer than asked")
    # (a server that sent 100 rows when 30 were asked and repeats them ignores paging: two reads)
    assert len(fake.calls) == {"page": 5, "after": 6, "none": 2}[style]
    if style == "after":
        assert [c.get("after_registration_id") for c in fake.calls[2:]] == [30, 60, 90, 100]
    # the style found is remembered: the next read asks by id at once; a server found to ignore paging
    # is asked once (asking again can bring nothing more)
    fake.calls.clear()
    c.participants(2026, 0)
    assert len(fake.calls) == {"page": 5, "after": 5, "none": 1}[style]


@pytest.mark.parametrize("style", ["page", "after"])
def test_pages_capped_without_saying_so_are_all_read(style, monkeypatch):
    """A server that answers at most 25 rows whatever results_per_page asks: fewer rows than asked is not
    the end; an empty page is."""
    c = RaceEntryClient("http://127.0.0.1:9/rest")
    fake = FakeRaceEntry(style, cap=25)
    monkeypatch.setattr(c, "get", fake)
    got = c.participants(2026, 0)
    assert sorted(r["registration_id"] for g in got for r in g["participants"]) == list(range(1, 101))


def test_events_from_the_participants_answer():
    answer = [{"event": {"event_id": 16, "participants": []}, "participants": []},
              {"event": {"event_id": 67, "name": "Half", "participants": []}, "participants": []}]
    race, note = with_events({"race_id": 2026, "name": "R", "events": []}, answer)
    assert race["events"] == [{"event_id": 16, "name": "16"}, {"event_id": 67, "name": "Half"}]
    assert note == ("RaceEntry's races answer lists no events for race 2026: event ids 16, 67 are taken from its "
                    "participants answer (names where given, else the ids)")
    listed = {"race_id": 2026, "events": [{"event_id": 16, "name": "Marathon"}]}
    assert with_events(listed, answer) == (listed, None)


@pytest.mark.parametrize("msg,code,status,refused", [
    ("Expired", 102, 200, True),
    ("HTTP 401 Unauthorized", None, 401, True),
    ("Invalid tmp_key", None, 200, True),
    ("Your login has expired", 103, 200, True),
    ("Race not found", 104, 200, False),
    ("unknown registration_id 1010", None, 400, False),
])
def test_a_refused_key_is_recognised(msg, code, status, refused):
    assert _key_refused(msg, code, status) is refused
