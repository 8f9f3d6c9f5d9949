"""The rehearsal server's SQLite store: the schema, the seeded race it starts from, the id counters,
the cache of built answers, and the lookups every endpoint shares (a race's events, teams, team types,
a live registration). One connection, one lock."""

from __future__ import annotations

import datetime as _dt
import sqlite3
import threading

import orjson

from .protocol import ERR_RACE, ApiError, RowError
from .seed import generate_race

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS races (race_id INTEGER PRIMARY KEY, next_date TEXT, doc BLOB);
CREATE TABLE IF NOT EXISTS events (event_id INTEGER PRIMARY KEY, race_id INTEGER, race_date TEXT);
CREATE TABLE IF NOT EXISTS team_types (team_type_id INTEGER PRIMARY KEY, race_id INTEGER, doc BLOB);
CREATE TABLE IF NOT EXISTS teams (team_id INTEGER PRIMARY KEY, race_id INTEGER, team_type_id INTEGER,
                                  doc BLOB);
CREATE TABLE IF NOT EXISTS participants (
    registration_id INTEGER PRIMARY KEY, race_id INTEGER NOT NULL, event_id INTEGER NOT NULL,
    user_id INTEGER, last_modified INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, doc BLOB NOT NULL);
"""
# created after the bulk seed insert (faster than maintaining them row by row)
INDEXES = """
CREATE INDEX IF NOT EXISTS ix_part_mod ON participants (race_id, deleted, last_modified);
CREATE INDEX IF NOT EXISTS ix_part_event ON participants (race_id, event_id);
"""


class Store:
    """SQLite store. One connection, one lock around every DB access (WAL journal). The lookups below
    take no lock unless they say so: their callers hold it."""

    def __init__(self, path: str, participants: int, seed: int) -> None:
        self.path = path
        self.lock = threading.RLock()
        # built feed responses, keyed by query; cleared on every write (see writes.apply_rows)
        self.cache: dict[tuple, bytes] = {}
        self.generation = 0   # bumped on every write
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA mmap_size=1073741824")
        self.db.execute("PRAGMA cache_size=-131072")
        with self.lock:
            self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='seeded'").fetchone()
            if row is None:
                self._seed(participants, seed)
            self.db.executescript(INDEXES)
            self.main_race_id = int(self.meta("main_race_id"))

    def meta(self, key: str) -> str | None:
        """A value of the meta table (the id counters, the seed), or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _seed(self, participants: int, seed: int) -> None:
        data = generate_race(participants, seed)
        db = self.db
        db.execute("BEGIN")
        try:
            for race in data["races"]:
                nd = _dt.datetime.strptime(race["next_date"], "%m/%d/%Y").date().isoformat()
                db.execute("INSERT INTO races VALUES (?,?,?)", (race["race_id"], nd, orjson.dumps(race)))
                db.executemany("INSERT INTO events VALUES (?,?,?)",
                               [(e["event_id"], race["race_id"], nd) for e in race["events"]])
            db.executemany("INSERT INTO team_types VALUES (?,?,?)",
                           [(t["team_type"]["team_type_id"], t["race_id"], orjson.dumps(t["team_type"]))
                            for t in data["team_types"]])
            db.executemany("INSERT INTO teams VALUES (?,?,?,?)",
                           [(t["team"]["team_id"], t["race_id"], t["team"]["team_type_id"],
                             orjson.dumps(t["team"])) for t in data["teams"]])
            ev_race = dict(db.execute("SELECT event_id, race_id FROM events").fetchall())
            removed = set(data["removed_registration_ids"])
            dumps = orjson.dumps
            db.executemany(
                "INSERT INTO participants VALUES (?,?,?,?,?,?,?)",
                [(p["registration_id"], ev_race[p["event_id"]], p["event_id"], p["user"]["user_id"],
                  p["last_modified"], 1 if p["registration_id"] in removed else 0, dumps(p))
                 for p in data["participants"]])
            ps = data["participants"]
            db.executemany("INSERT INTO meta VALUES (?,?)", [
                ("main_race_id", str(data["main_race_id"])),
                ("next_registration_id", str(max([p["registration_id"] for p in ps], default=1000) + 1)),
                ("next_user_id", str(max([p["user"]["user_id"] for p in ps], default=5000) + 1)),
                ("next_team_id", str(max([t["team"]["team_id"] for t in data["teams"]], default=0) + 1)),
                ("seed", str(seed)), ("participants", str(participants)), ("seeded", "1")])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def next_id(self, key: str) -> int:
        """The next value of the counter ``key`` (next_registration_id, next_user_id, next_team_id)."""
        value = int(self.meta(key))
        self.db.execute("UPDATE meta SET value=? WHERE key=?", (str(value + 1), key))
        return value

    def invalidate(self) -> None:
        """After a write: answers built before are stale."""
        with self.lock:
            self.generation += 1
            self.cache.clear()

    def close(self) -> None:
        """Close the connection (quietly: the server may be stopping twice)."""
        with self.lock:
            try:
                self.db.close()
            except Exception:
                pass

    # lookups ---------------------------------------------------------------------------------------
    def require_race(self, race_id: int) -> None:
        """ApiError 104 unless ``race_id`` is a race (takes the lock)."""
        with self.lock:
            if self.db.execute("SELECT 1 FROM races WHERE race_id=?", (race_id,)).fetchone() is None:
                raise ApiError(ERR_RACE, "Race not found")

    def event_ids(self, race_id: int) -> list[int]:
        """The race's event ids, in order."""
        return [r[0] for r in self.db.execute(
            "SELECT event_id FROM events WHERE race_id=? ORDER BY event_id", (race_id,))]

    def race_date(self, race_id: int) -> _dt.date:
        """The race's next date (ages are counted on it)."""
        row = self.db.execute("SELECT next_date FROM races WHERE race_id=?", (race_id,)).fetchone()
        return _dt.date.fromisoformat(row[0])

    def race_timezone(self, race_id: int) -> str:
        """The race's timezone (America/Denver when it names none)."""
        return orjson.loads(self.db.execute("SELECT doc FROM races WHERE race_id=?",
                                            (race_id,)).fetchone()[0]).get("timezone") or "America/Denver"

    def team_types(self, race_id: int) -> dict[int, dict]:
        """The race's team types by id."""
        return {r[0]: orjson.loads(r[1]) for r in self.db.execute(
            "SELECT team_type_id, doc FROM team_types WHERE race_id=?", (race_id,))}

    def teams(self, race_id: int) -> dict[int, dict]:
        """The race's teams by id."""
        return {r[0]: orjson.loads(r[1]) for r in self.db.execute(
            "SELECT team_id, doc FROM teams WHERE race_id=?", (race_id,))}

    def team_members(self, race_id: int, team_id: int) -> list[dict]:
        """The live participants on a team (their documents)."""
        docs = self.db.execute("SELECT doc FROM participants WHERE race_id=? AND deleted=0 AND instr(doc, ?) > 0",
                               (race_id, b'"team_id":%d,' % team_id)).fetchall()
        return [p for p in map(orjson.loads, (d[0] for d in docs)) if p.get("team_id") == team_id]

    def live_participant(self, race_id: int, reg: int) -> dict:
        """A registration of the race that is not deleted; RowError otherwise."""
        r = self.db.execute("SELECT doc FROM participants WHERE registration_id=? AND "
                            "race_id=? AND deleted=0", (reg, race_id)).fetchone()
        if r is None:
            raise RowError(f"not a registration of race {race_id} (unknown or deleted)")
        return orjson.loads(r[0])
