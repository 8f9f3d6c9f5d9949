"""The GET endpoints: races, the participant feeds (participants, removed_participants) with their
timestamp, paging and paging quirks, teams and team types, each answer built as RaceEntry shapes it
(and in loose typing or with extra fields when the options say so)."""

from __future__ import annotations

import datetime as _dt

import orjson

from .bodies import int_param
from .loose import loose_docs, loose_participant, loose_race, with_fields
from .protocol import ERR_BAD_REQUEST, MAX_RESULTS_PER_PAGE, ApiError
from .state import Server


def races(srv: Server, query: dict) -> bytes:
    """GET races: every race, or those whose next date is between start_date and end_date."""
    start, end = _date_param(query, "start_date"), _date_param(query, "end_date")
    sql, args = "SELECT doc FROM races WHERE 1=1", []
    if start:
        sql += " AND next_date >= ?"
        args.append(start)
    if end:
        sql += " AND next_date <= ?"
        args.append(end)
    with srv.store.lock:
        docs = [r[0] for r in srv.store.db.execute(sql + " ORDER BY race_id", args)]
    if not srv.options.race_events:   # the document's example lists no events: "events": []
        docs = [orjson.dumps({**orjson.loads(d), "events": []}) for d in docs]
    if srv.options.typing == "loose":
        docs = [loose_race(d) for d in docs]
    return b'{"races":[' + b",".join(b'{"race":' + d + b"}" for d in docs) + b"]}"


def _date_param(query: dict, name: str) -> str | None:
    v = query.get(name)
    if not v:
        return None
    try:
        return _dt.date.fromisoformat(v).isoformat()
    except ValueError:
        raise ApiError(ERR_BAD_REQUEST, f"Invalid {name}: expected YYYY-MM-DD") from None


def participants(srv: Server, race_id: int, query: dict) -> bytes:
    """GET participants: the live registrations modified after the timestamp, grouped by event."""
    return feed(srv, race_id, query, deleted=False)


def removed_participants(srv: Server, race_id: int, query: dict) -> bytes:
    """GET removed_participants: the deleted registrations, grouped by event."""
    return feed(srv, race_id, query, deleted=True)


def paging_quirks(srv: Server, after: int | None, page: int | None, rpp: int | None
                  ) -> tuple[int | None, int | None, int | None]:
    """(after, page, results_per_page) as a quirky server takes them: ``truncate_to`` ignores paging
    and answers the first N rows; ``page_cap`` makes pages of at most N rows (no paging asked: the
    first N), without saying so."""
    o = srv.options
    if o.truncate_to:
        return None, None, o.truncate_to
    if o.page_cap:   # (page_cap pages, as paging does)
        return after, page, min(rpp or o.page_cap, o.page_cap)
    return after, page, rpp


def paging(srv: Server, query: dict) -> tuple[int | None, int | None, int | None]:
    """(after_registration_id, page, results_per_page) asked, as the server takes them: nothing unless
    paging is on (the document shows none), checked against the limits, then the paging quirks."""
    after = page = rpp = None
    if srv.options.paging or srv.options.page_cap:   # (else the document's: no paging)
        after = int_param(query, "after_registration_id")
        page, rpp = int_param(query, "page"), int_param(query, "results_per_page")
    if (page is not None and page < 1) or (rpp is not None and not 1 <= rpp <= MAX_RESULTS_PER_PAGE):
        raise ApiError(ERR_BAD_REQUEST,
                       f"page must be >= 1 and results_per_page between 1 and {MAX_RESULTS_PER_PAGE}")
    return paging_quirks(srv, after, page, rpp)


def feed_where(srv: Server, race_id: int, query: dict, deleted: bool) -> tuple[str, list, list]:
    """The feed's SQL condition, its arguments and its [LIMIT, OFFSET] ([] for everything)."""
    ts = int_param(query, "modified_after_timestamp", lambda v: int(float(v)))
    if ts is None:
        ts = srv.clock.now()   # documented: "If a timestamp is not provided, the current time will be used."
    after, page, rpp = paging(srv, query)
    # documented: modified *after* the timestamp
    since = ">=" if srv.options.since_inclusive else ">"   # (quirk inclusive-since)
    where, args = f"race_id=? AND deleted=? AND last_modified{since}?", [race_id, 1 if deleted else 0, ts]
    if after is not None:   # RunSignup's paging by id: only larger ids (page is then ignored)
        where += " AND registration_id>?"
        args.append(after)
    limit: list = []
    if rpp is not None or (page is not None and after is None):
        rpp = rpp or MAX_RESULTS_PER_PAGE
        limit = [rpp, 0 if after is not None else ((page or 1) - 1) * rpp]
    return where, args, limit


def feed(srv: Server, race_id: int, query: dict, deleted: bool) -> bytes:
    """A participant feed: built from the rows the query selects, or the same query's answer kept in the
    store's cache (kept only when no write came between reading and building)."""
    store = srv.store
    where, args, limit = feed_where(srv, race_id, query, deleted)
    order = " ORDER BY registration_id" + (" LIMIT ? OFFSET ?" if limit else "")
    key = (where, *args, *limit)
    with store.lock:
        cached = store.cache.get(key)
        if cached is not None:
            return cached
        generation = store.generation
        events = store.event_ids(race_id)
        # Small result (incremental pull): use the last_modified index and sort. Large result (full
        # pull): walk the table in registration_id (rowid) order instead of sorting blobs.
        n = store.db.execute(f"SELECT count(*) FROM participants INDEXED BY ix_part_mod WHERE {where}",
                             args).fetchone()[0]
        src = "participants NOT INDEXED" if n > 5000 else "participants"
        rows = store.db.execute(f"SELECT event_id, doc FROM {src} WHERE {where}{order}",
                                args + limit).fetchall() if n else []
    body = feed_body(srv, events, rows, deleted)
    with store.lock:
        if generation == store.generation:
            if len(store.cache) >= 4:
                store.cache.clear()
            store.cache[key] = body
    return body


def feed_body(srv: Server, events: list[int], rows: list, deleted: bool) -> bytes:
    """The feed's JSON: one group per event (every event, in order), its rows as the options dress them."""
    groups: dict[int, list[bytes]] = {e: [] for e in events}
    extra = srv.options.extra_fields
    loose = srv.options.typing == "loose"
    for eid, doc in rows:
        doc = with_fields(doc, extra) if extra else doc
        groups.setdefault(eid, []).append(loose_participant(doc) if loose else doc)
    in_event = srv.options.rows_in_event
    out = [event_group(eid, docs, deleted, loose, in_event) for eid, docs in groups.items()]
    return b"[" + b",".join(out) + b"]"


def event_group(eid: int, docs: list[bytes], deleted: bool, loose: bool, in_event: bool) -> bytes:
    """One event's group of a feed: the rows in the sibling "participants" list (the document's), or
    inside the event object (quirk rows-in-event); the removed feed omits the list of an empty event."""
    if in_event and docs:   # the rows inside the event object, its sibling list empty
        rows_json = b"[" + b",".join(docs) + b"]"
        return (b'{"event":{"event_id":"%d","participants":%s},"participants":null}' if loose else
                b'{"event":{"event_id":%d,"participants":%s},"participants":[]}') % (eid, rows_json)
    head = b'{"event":{"event_id":%d,"participants":[]}' % eid
    if loose:
        head = b'{"event":{"event_id":"%d","participants":null}' % eid
        if not docs:
            return head + b',"participants":null}'
    if deleted and not docs:
        return head + b"}"   # removed feed: no "participants" key for an empty event (doc)
    return head + b',"participants":[' + b",".join(docs) + b"]}"


def teams(srv: Server, race_id: int, _query: dict) -> bytes:
    """GET teams: the race's teams."""
    with srv.store.lock:
        docs = [r[0] for r in srv.store.db.execute(
            "SELECT doc FROM teams WHERE race_id=? ORDER BY team_id", (race_id,))]
    if srv.options.typing == "loose":
        docs = loose_docs(docs, "team")
    return b"[" + b",".join(docs) + b"]"


def team_types(srv: Server, race_id: int, _query: dict) -> bytes:
    """GET teams/team_types: the race's team types."""
    with srv.store.lock:
        docs = [r[0] for r in srv.store.db.execute(
            "SELECT doc FROM team_types WHERE race_id=? ORDER BY team_type_id", (race_id,))]
    if srv.options.typing == "loose":
        docs = loose_docs(docs, "team_type")
    return b'{"race_team_types":[' + b",".join(docs) + b"]}"
