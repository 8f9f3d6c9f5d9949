"""Reading participants page by page, whatever paging RaceEntry really does.

The document does not page; RunSignup, whose API RaceEntry copies, pages with ``results_per_page`` and
either ``page`` or ``after_registration_id``. A page with fewer rows than asked is never taken as the end (a
server may cap its pages below ``results_per_page`` without saying so): pages are asked for until one is
empty or brings nothing new, whatever the paging style. They are asked for by ``page`` (page 2 beside page
1); a server that answers page 2 with the rows of page 1 (it ignores ``page``) is asked
``after_registration_id`` = the largest id seen instead; one that repeats itself again ignores paging
altogether, and its one answer is everything (as is page 1 of a server that sent more rows than asked and
then repeated them: it ignores paging, so no third read). The style found is remembered by the client for
its later reads. Pages are merged into one answer, de-duplicated by registration id keeping the newest
``last_modified``.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from .. import progress as _progress
from ..errors import TimersyncError
from ..model.answers import Answer, as_answer
from ..model import Participant

PAGE_SIZE = 2500  # RunSignup's maximum results_per_page; RaceEntry mirrors RunSignup's API


class PagedSource(Protocol):
    """What a paged read needs of a client (:class:`converters.client.RaceEntryClient`): its GET, its
    reads side by side, the rows a page asks for, and the paging style found by its earlier reads ("page",
    "after", "none", or None before any read of more than one page). Each is read afresh at every page."""

    page_size: int
    paging_style: str | None

    def get(self, path: str, params: dict[str, Any] | None = None, what: str | None = None,
            schema: str | None = None) -> Any: ...

    def together(self, *calls: Callable[[], Any]) -> list[Any]: ...


class Merged:
    """The rows of every page read so far, one per registration id (the newest ``last_modified`` wins;
    a row moved to another event leaves the old one), in the order events and rows were first seen."""

    def __init__(self) -> None:
        self.events: dict[Any, Any] = {}  # event id -> the event object's bytes
        self.rows_by_event: dict[Any, dict[str, tuple[Participant, Any]]] = {}
        self.event_of: dict[str, Any] = {}
        self.largest = 0  # the largest numeric registration id seen: after_registration_id's value

    def add(self, answer: Answer) -> tuple[int, int]:
        """Fold in one page: (rows it held, rows with a registration id not seen before)."""
        events, rows_by_event, event_of, largest = self.events, self.rows_by_event, self.event_of, self.largest
        count = new = 0
        at = 0
        for eid, event, n in answer.groups:
            events.setdefault(eid, event)
            bucket = rows_by_event.setdefault(eid, {})
            for i in range(at, at + n):
                p = answer.participants[i]
                count += 1
                rid = str(p.registration_id)
                if rid.isdigit():
                    largest = max(largest, int(rid))
                old_eid = event_of.get(rid)
                if old_eid is None:
                    new += 1
                else:
                    old = rows_by_event[old_eid][rid][0]
                    if (p.last_modified or 0) < (old.last_modified or 0):
                        continue
                    del rows_by_event[old_eid][rid]
                bucket[rid] = (p, answer.rows[i])
                event_of[rid] = eid
            at += n
        self.largest = largest
        return count, new

    def same_as(self, only: Answer) -> bool:
        """True when nothing was merged beyond ``only`` (one page, no row twice)."""
        return len(self.event_of) == len(only.participants) and len(self.events) == len(only.groups)

    def answer(self, removed: bool) -> Answer:
        """Every row kept, grouped by event, as one answer."""
        groups, participants, rows = [], [], []
        for eid, event in self.events.items():
            bucket = self.rows_by_event[eid]
            groups.append((eid, event, len(bucket)))
            for p, raw in bucket.values():
                participants.append(p)
                rows.append(raw)
        return Answer(groups, participants, rows, removed)


class ParticipantsRead:
    """One read of ``path`` (participants or removed participants modified at or after ``since``), page by
    page in the style ``source`` found earlier, until a page is empty or brings nothing new."""

    def __init__(self, source: PagedSource, path: str, what: str, since: int, removed: bool,
                 progress: Callable[[int], None] | None = None):
        self.source, self.path, self.what = source, path, what
        self.since, self.removed, self.progress = since, removed, progress
        self.merged = Merged()
        self.page, self.pages = 1, 0
        # How pages after the first are asked for: by `page`, or by `after_registration_id` for a server
        # found (here or in an earlier read) to ignore `page`.
        self.style = "after" if source.paging_style in ("after", "none") else "page"
        self.found = self.style
        self.only: Answer | None = None  # the first page, while no other page added anything: kept as it came
        self.last: Any = None  # the last page's bytes, and its number of rows
        self.last_count = 0
        self.overfull = False
        self.answer: Any = None  # the last page decoded (a repeat is not decoded again)
        self.second: Any = None  # page 2, asked for beside page 1

    def run(self) -> Answer:
        """Read every page and return them merged (the first page as it came, when it was all)."""
        while True:
            count, new = self._take(self._fetch(self._params()))
            self._keep_first(count, new)
            self._report()
            if not self._goes_on(count, new):
                break
        if self.pages > 1:
            self.source.paging_style = self.found  # (one empty page says nothing about the server's paging)
        if self.only is not None and self.merged.same_as(self.only):
            return self.only  # one page, no row twice: the answer exactly as RaceEntry sent it
        return self.merged.answer(self.removed)

    def _params(self) -> dict[str, Any]:
        """The next page's query: by ``page`` (always for the first), else after the largest id seen."""
        params: dict[str, Any] = {"modified_after_timestamp": int(self.since),
                                  "results_per_page": self.source.page_size}
        if self.pages == 0 or self.style == "page":
            params["page"] = self.page
        else:
            params["after_registration_id"] = self.merged.largest
        return params

    def _fetch(self, params: dict[str, Any]) -> Any:
        """The next page: page 1 with page 2 beside it, then page 2 as already read (when it was), else
        one GET."""
        if self.pages == 0 and self.style == "page":  # page 2 is asked for beside page 1 (see _pages_1_and_2)
            data, self.second = self._pages_1_and_2(params)
        elif self.pages == 1 and self.style == "page" and self.second is not None:
            data, self.second = self.second, None
        else:
            data = self.source.get(self.path, params, self.what, "participants.response")
        return data

    def _pages_1_and_2(self, params: dict[str, Any]) -> tuple[Any, Any]:
        """Pages 1 and 2 of a paged read, asked for side by side: page 2 is read whenever page 1 holds
        anything (a short page is never the end), so over a venue's link it costs no round trip of its
        own. (page 1, page 2 or None): None when page 2 failed, to be asked again, in turn, only if
        needed (a server may refuse a page past the end; the read must not fail for a page it never
        needed)."""
        source, path, what = self.source, self.path, self.what

        def page_2() -> Any:
            try:
                return source.get(path, {**params, "page": 2}, what, "participants.response")
            except TimersyncError:
                return None

        return tuple(source.together(lambda: source.get(path, params, what, "participants.response"),
                                     page_2))  # type: ignore[return-value]

    def _take(self, data: Any) -> tuple[int, int]:
        """Decode a page and merge it: (its rows, rows new to this read). A page the same, byte for byte,
        as the one before (a server that ignores how it was asked, as one that follows the document does)
        holds the same rows, so nothing new, and is not decoded again."""
        repeat = isinstance(data, (bytes, bytearray)) and data == self.last
        self.last = data
        self.answer = self.answer if repeat else as_answer(data, self.what, self.removed)
        self.pages += 1
        count, new = (0, 0) if repeat else self.merged.add(self.answer)
        count = self.last_count = self.last_count if repeat else count
        return count, new

    def _keep_first(self, count: int, new: int) -> None:
        """Keep page 1 as it came while no later page adds a row."""
        if self.pages == 1:
            self.only = self.answer
            # More rows than asked for: the server ignores `results_per_page`, so a repeated page 2
            # means it ignores paging (a RunSignup-style server honours both), not worth a third read.
            self.overfull = count > self.source.page_size
        elif new:
            self.only = None

    def _report(self) -> None:
        read = len(self.merged.event_of)
        if self.progress:
            self.progress(read)
        _progress.say(f"{self.what}: {read:,} read")

    def _goes_on(self, count: int, new: int) -> bool:
        """Whether to ask for another page (and which): False at an empty page, at a server known to ignore
        paging, or at a page that repeats what was read in the style tried last."""
        if count == 0:
            self.found = self.style
            return False  # an empty page: the end, whatever the style
        if self.source.paging_style == "none":  # this server, read earlier, ignores paging: nothing more to ask
            self.found = "none"
            return False
        if new == 0:  # a page repeating what was read: the server ignores how it was asked
            if self.style == "page" and self.merged.largest and not self.overfull:
                self.style = "after"  # `page` was ignored: page RunSignup-style, by the last id seen
                return True
            self.found = "none"  # `after_registration_id` ignored too: its one answer is everything
            return False
        if self.style == "page":
            self.page += 1
        return True
