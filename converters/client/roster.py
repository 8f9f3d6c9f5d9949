"""The roster of one race: its participants as last read from RaceEntry, kept as the exact bytes it sent
(SQLite in the state folder, ``sync/race-<id>-<server_slug(base_url)>.sqlite``), and the one way a read of
what changed is folded into what was known (:func:`merge`): sync's rounds, diff/push's incremental read
and push's read-back all use it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import orjson

from .. import state
from ..model.answers import Answer, participant_from_json
from ..errors import TimersyncError
from ..model import Participant

OVERLAP = 60  # seconds re-read before each watermark (inclusive, whole-second timestamps)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS participants (
    registration_id TEXT PRIMARY KEY, event_id INTEGER, last_modified INTEGER, doc BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, registration_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('add', 'change', 'remove')), last_modified INTEGER,
    old BLOB, new BLOB, full INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS ix_changes_rid ON changes (registration_id);
"""


def roster_path(race_id: int, base_url: str) -> Path:
    """Where sync keeps its SQLite copy of race ``race_id`` on the server ``base_url``."""
    return state.subdir("sync") / f"race-{race_id}-{state.server_slug(base_url)}.sqlite"


class Roster:
    """The SQLite roster of one race at one RaceEntry base URL."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise TimersyncError(f"{self.path}: the sync roster cannot be opened ({exc}); move it aside and "
                                 f"run again with --full") from None

    def close(self) -> None:
        self.db.close()

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else default

    def set(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, orjson.dumps(value)))

    def load(self) -> dict[str, "Row"]:
        return {rid: Row(doc, event_id, lm or 0) for rid, event_id, lm, doc in self.db.execute(
            "SELECT registration_id, event_id, last_modified, doc FROM participants")}

    def version(self) -> int:
        return self.db.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]

    def changes_since(self, version: int) -> dict[str, tuple[bytes | None, bytes | None]]:
        """registration_id -> (row before the first change after ``version``, row after the last), as
        each row's JSON bytes."""
        out: dict[str, tuple[bytes | None, bytes | None]] = {}
        for rid, old, new in self.db.execute(
                "SELECT registration_id, old, new FROM changes WHERE id > ? ORDER BY id", (version,)):
            first = out[rid][0] if rid in out else (old or None)
            out[rid] = (first, new or None)
        return out

    def seed(self, rows: dict[str, "Row"]) -> None:
        """Start an empty roster from rows already known (a pulled file's base): no change is recorded."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO participants (registration_id, event_id, last_modified, doc) "
                "VALUES (?, ?, ?, ?)", ((rid, r.event_id, r.lm, memoryview(r.doc)) for rid, r in rows.items()))

    def commit(self, upserts: Sequence[tuple[str, "Row", "Row | None"]], removals: Sequence[tuple[str, "Row"]],
               meta: dict[str, Any], full: bool) -> None:
        """Apply one round in one transaction: (rid, new, old) upserts, (rid, old) removals, meta keys.
        Rows are stored as the exact bytes RaceEntry sent (memoryviews: nothing copied on the way)."""
        now = time.time()
        with self.db:
            # Generators, not lists: a first sync of 50,000 would otherwise hold every row twice.
            self.db.executemany(
                "INSERT OR REPLACE INTO participants (registration_id, event_id, last_modified, doc) "
                "VALUES (?, ?, ?, ?)",
                ((rid, new.event_id, new.lm, memoryview(new.doc)) for rid, new, _ in upserts))
            self.db.executemany("DELETE FROM participants WHERE registration_id=?", ((rid,) for rid, _ in removals))
            self.db.executemany(
                "INSERT INTO changes (time, registration_id, kind, last_modified, old, new, full) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((now, rid, "change" if old is not None else "add", new.lm,
                  memoryview(old.doc) if old is not None else None, memoryview(new.doc), int(full))
                 for rid, new, old in upserts))
            self.db.executemany(
                "INSERT INTO changes (time, registration_id, kind, last_modified, old, new, full) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                ((now, rid, "remove", old.lm, memoryview(old.doc), None, int(full)) for rid, old in removals))
            for key, value in meta.items():
                self.set(key, value)


@dataclass(slots=True)
class Row:
    """One registration in the roster: its JSON exactly as RaceEntry sent it (bytes or a slice of the
    answer), its event (the group's, when the row has none) and last_modified; ``p``, its record, once
    decoded (a fresh read decodes it; a row read back from the roster is decoded when a file needs it)."""

    doc: Any
    event_id: int | None
    lm: int
    p: Participant | None = None

    def same(self, other: "Row") -> bool:
        """The same registration: the same bytes, or the same values as the typed pass reads them (every
        canonical field and every extra one): a server that orders keys differently between reads, or
        whose typing switches (ids as text, dob as MM/DD/YYYY, flags as Y/N), changed nothing."""
        if self.doc is None or other.doc is None:  # a row known only as a record (a state planned from)
            return (self.lm == other.lm and self.p is not None and other.p is not None
                    and self.values() == other.values())
        if memoryview(self.doc) == memoryview(other.doc):
            return True
        return self.lm == other.lm and self.values() == other.values()

    def record(self) -> Participant:
        """The row's record: decoded from its JSON the first time (a row read back from the roster) and
        kept on the row."""
        if self.p is None:
            self.p = participant_from_json(self.doc, "registration", self.event_id)
        return self.p

    def values(self) -> tuple:
        """What the row says, typing aside: its record's fields (not how RaceEntry typed them) and
        extra fields."""
        p = self.record()
        return tuple(getattr(p, f) for f in _VALUE_FIELDS) + (dict(p.extra),)


_VALUE_FIELDS = tuple(f for f in Participant.__struct_fields__ if f not in ("extra", "types"))


def rows_of(answer: Answer) -> list[Row]:
    """The roster rows of an answer the client decoded (typed, checked)."""
    return [Row(raw, p.event_id, p.last_modified or 0, p) for p, raw in zip(answer.participants, answer.rows)]


@dataclass
class Merged:
    """What one read changes in the rows held: this read's rows by id (de-duplicated, the newest
    ``last_modified`` kept), the (id, new row, row held or None) that are a change, and the ids gone."""

    incoming: dict[str, Row]
    upserts: list[tuple[str, Row, Row | None]]
    gone: set[str]

    def records(self, held: dict[str, Row]) -> list[Participant]:
        """The records after this read: those ``held`` (in their order) as changed, less the ones gone,
        then the new ones."""
        upserted = {rid: r for rid, r, _ in self.upserts}
        out = [(upserted.pop(rid) if rid in upserted else r).p for rid, r in held.items() if rid not in self.gone]
        return out + [r.p for r in upserted.values()]


def merge(held: dict[str, Row], rows: Iterable[Row], removed: Iterable[Row], full: bool = False) -> Merged:
    """Apply one read of the participants feed (``rows``) and the removed feed (``removed``) to the rows
    ``held`` (not changed here, except as said below): the one way sync's rounds, diff/push's incremental
    read and push's read-back fold what RaceEntry says changed into what was known.

    Rows re-read from the overlap are de-duplicated by registration id (newest ``last_modified`` wins) and
    are a change only when their content differs from the row held. The removed feed is authoritative,
    unless the participants feed shows the row modified after its removal (an id that came back). A
    ``full`` read also removes every row held that it lacks; a row it re-reads unchanged takes this
    read's bytes and record, so the previous read's buffer can go."""
    incoming: dict[str, Row] = {}
    for r in rows:
        rid = str(r.p.registration_id)
        have = incoming.get(rid)
        if have is None or r.lm >= have.lm:
            incoming[rid] = r
    upserts: list[tuple[str, Row, Row | None]] = []
    for rid, r in incoming.items():
        old = held.get(rid)
        if old is not None and (r.lm < old.lm or old.same(r)):
            if full and r.lm == old.lm:
                old.doc, old.p = r.doc, r.p
            continue  # re-read from the overlap, or an older copy: not a change
        upserts.append((rid, r, old))
    gone: set[str] = set()
    for r in removed:
        rid = str(r.p.registration_id)
        if rid in held or rid in incoming:
            if rid in incoming and incoming[rid].lm > r.lm:
                continue
            gone.add(rid)
    if full:
        gone.update(rid for rid in held if rid not in incoming)
    return Merged(incoming, [u for u in upserts if u[0] not in gone], gone)
