"""Every version of a timing file that timersync wrote, so a file, or any copy of it, is compared with the
version it was made from and never with a newer one.

A timing file gets copied: renamed, e-mailed, dropped into a drop folder's ``in/``. Diffing a copy against
the latest version of its race makes RaceEntry's changes since the copy was made look like the timer's
edits, and a push would revert them (the desk fixes runner X at 14:30; a copy made at 14:20 still holds
X's old value). So every file written through :func:`converters.plan.binding.bind` (pull, sync, the drop
folder's outputs) is recorded here, and :func:`find_origin` finds the version a file was most likely made
from by its unchanged rows.

In the state folder, one folder per server and race::

    versions/<server>-race-<id>/<sha256>.json.gz   a base (the participants answer written), stored once
                                                   however many files or rewrites it was written to
    versions/<server>-race-<id>/v-<id>.json        one entry per version: file name, profile, when written,
                                                   row count and the base's hash

At most :data:`KEEP` versions per race are kept, none older than :data:`MAX_AGE_DAYS` days (but the newest
one always). Every write is atomic; recording never breaks the write it records (a failure is logged).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import operator
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import orjson

from .. import state
from ..model import wire
from ..model.answers import Answer, as_answer, participant_from_json
from ..atomic import atomic_writer, write_bytes
from .bases import GZIP_LEVEL, json_pieces, load_base_file
from ..compare.values import COMPARED_FIELDS, UNPUSHABLE_FIELDS, norm
from ..model import as_int
from ..files.profiles import profile_ref, same_profile

LOG = logging.getLogger("timersync.versions")

KEEP = 30  # versions kept per race
MAX_AGE_DAYS = 30  # versions older than this are dropped (the newest one is always kept)
GRACE = 60.0  # seconds a base no entry names is kept (a record in another process may be about to name it)
MIN_SHARE = 0.5  # a version is a file's origin only if at least this share of the file's rows equal its rows


# ------------------------------------------------------------------------------------------- where

def _server_key(server: str | None) -> str | None:
    """The folder-name form of a server (None: no server known): one per server, whatever the spelling
    of its URL (state.server_slug), as the push journal and lock are keyed."""
    return state.server_slug(server) if server else None


def _race_dir(server: str | None, race_id: Any, create: bool = True) -> Path:
    key = _server_key(server)
    name = f"{key}-race-{int(race_id)}" if key else f"race-{int(race_id)}"
    if not create:
        return state.home() / "versions" / name
    folder = state.subdir("versions") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ----------------------------------------------------------------------------------------- recording

def record(server: str | None, race_id: int, *, file_name: str, profile: Any, base: Any,
           written_at: float | None = None) -> str | None:
    """Record that ``file_name`` was written with ``profile`` from ``base`` (a participants answer: its
    JSON bytes, a typed :class:`~converters.model.answers.Answer` or the grouped list of dicts, as
    :func:`converters.plan.binding.bind` gets it). Returns the version's id, or None when it could not be
    recorded: a failure (a full disk, an unwritable state folder, a base of another shape) is logged as a
    warning and never raised, so the write being recorded goes on.

    An identical rewrite (the same base, file name and profile) is not stored again: its entry is moved
    to the new time."""
    try:
        return _record(server, race_id, file_name, profile, base, time.time() if written_at is None else written_at)
    except Exception as exc:  # noqa: BLE001 - recording is a safety net; it must never break a pull
        LOG.warning("could not record the version of %s written for race %s (%s: %s); a copy of it will be "
                    "compared with the file's latest version", file_name, race_id, type(exc).__name__, exc)
        return None


def _record(server: str | None, race_id: int, file_name: str, profile: Any, base: Any, written_at: float) -> str:
    folder = _race_dir(server, race_id)
    digest = hashlib.sha256()
    for piece in json_pieces(base):  # a first pass to hash: an identical base is never compressed again
        digest.update(piece)
    sha = digest.hexdigest()
    blob = folder / f"{sha}.json.gz"
    if blob.is_file():
        os.utime(blob)  # fresh again: a prune running now in another process leaves it alone
    else:
        with atomic_writer(blob, "wb") as fh:
            with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
                for piece in json_pieces(base):
                    gz.write(piece)
    ref = profile_ref(profile)
    entries = _entries(folder)
    same = next((e for e in entries if e["sha256"] == sha and e.get("file") == file_name
                 and e.get("profile") == ref), None)
    if same is not None:
        entry = dict(same, written_at=max(float(same["written_at"]), written_at))
    else:
        entry = {"id": f"{int(written_at * 1000):013d}-{secrets.token_hex(3)}", "file": file_name, "profile": ref,
                 "written_at": written_at, "rows": _row_count(base), "sha256": sha,
                 "server": server, "race_id": int(race_id)}
    write_bytes(folder / f"v-{entry['id']}.json", orjson.dumps(entry))
    entries = [e for e in entries if e["id"] != entry["id"]] + [entry]
    _prune(folder, entries, time.time())
    return entry["id"]


def _row_count(base: Any) -> int | None:
    if isinstance(base, Answer):
        return len(base.participants)
    if isinstance(base, list):
        return sum(len(g.get("participants") or (g.get("event") or {}).get("participants") or [])
                   for g in base if isinstance(g, dict))
    if isinstance(base, (bytes, bytearray, memoryview)):
        from ..model import wire

        try:
            return sum(len(g.participants) for g in wire.GROUPS_DECODER.decode(base))
        except Exception:  # noqa: BLE001 - not RaceEntry's shape: the count is only for people
            return None
    return None


def _entries(folder: Path) -> list[dict[str, Any]]:
    """The race's version entries, newest first (an unreadable entry is left out)."""
    out = []
    try:
        names = [p for p in folder.iterdir() if p.name.startswith("v-") and p.suffix == ".json"]
    except OSError:
        return []
    for path in names:
        try:
            e = orjson.loads(path.read_bytes())
            if isinstance(e, dict) and e.get("id") and e.get("sha256") and e.get("written_at") is not None:
                e["written_at"] = float(e["written_at"])
                out.append(e)
        except (OSError, ValueError, TypeError, orjson.JSONDecodeError):
            continue
    out.sort(key=lambda e: (e["written_at"], e["id"]), reverse=True)
    return out


def _prune(folder: Path, entries: list[dict[str, Any]], now: float) -> None:
    """Keep the newest :data:`KEEP` versions; of the older ones, one per file and quarter of an hour for
    the last day and one per file and day before, so a copy taken hours ago (a sync rewrites its file
    every few minutes on race day) still finds its origin: the oldest of each, since comparing a copy
    with a base older than its own can only make a change look like RaceEntry's (never sent), while a
    newer one could make RaceEntry's change look like the timer's (sent back). None older than
    :data:`MAX_AGE_DAYS` (the newest always). Then remove the bases no kept version names."""
    entries = sorted(entries, key=lambda e: (e["written_at"], e["id"]), reverse=True)
    oldest = now - MAX_AGE_DAYS * 86400
    kept: list[dict[str, Any]] = entries[:1]
    slots: dict[tuple, dict[str, Any]] = {}  # the oldest of each slot: an older base is the safe side
    for i, e in enumerate(entries[1:], 1):
        at = float(e["written_at"])
        if at < oldest:
            continue
        if i < KEEP:
            kept.append(e)
            continue
        slots[(e.get("file"), int(at // 900) if at >= now - 86400 else ("day", int(at // 86400)))] = e
    kept += slots.values()
    kept_ids = {e["id"] for e in kept}
    for e in entries:
        if e["id"] not in kept_ids:
            _remove(folder / f"v-{e['id']}.json")
    named = {e["sha256"] for e in kept}
    for path in folder.glob("*.json.gz"):
        if path.name[:-len(".json.gz")] in named:
            continue
        try:
            if now - path.stat().st_mtime >= GRACE:
                path.unlink()
        except OSError:
            pass


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------------------------------- finding

@dataclass
class Origin:
    """The recorded version a file was most likely made from."""

    id: str
    file_name: str
    profile: str | None
    written_at: float
    matched: int  # the file's rows (with a registration id) equal to the version's on every field compared
    compared: int  # the file's rows with a registration id
    rows: int | None  # the version's rows
    path: Path  # its base (gzip)
    _participants: list[Any] | None = field(default=None, repr=False)

    def participants(self) -> list[Any]:
        """The version's participants (its base, decoded). The first call hands over the records the search
        decoded; any later call decodes afresh, so no two callers share records."""
        got, self._participants = self._participants, None
        return got if got is not None else _decode(self.path)

    def describe(self) -> str:
        """For people: "the version of runscore.txt written 14:20 (found by its rows: 497 of 500 unchanged)"."""
        return (f"the version of {self.file_name} written {_when(self.written_at)} (found by its rows: "
                f"{self.matched:,} of {self.compared:,} unchanged)")


def _when(t: float) -> str:
    at = time.localtime(t)
    if time.strftime("%Y-%m-%d", at) == time.strftime("%Y-%m-%d", time.localtime()):
        return time.strftime("%H:%M", at)
    return time.strftime("%Y-%m-%d %H:%M", at)


def _decode(path: Path) -> list[Any]:
    return as_answer(load_base_file(path), str(path), keep_bytes=False).participants


def find_origin(server: str | None, race_id: int, participants: Sequence[Any], present: Iterable[str],
                profile: Any = None) -> Origin | None:
    """The recorded version of race ``race_id`` (on ``server``) that ``participants`` (a file's rows, read
    through its profile) were most likely made from, or None when none is clearly it.

    Rows are tied by registration id and compared on the fields the file carries (``present``: as
    :func:`converters.compare.values.norm` normalises them; the event as it is; the team by name). A version is a
    candidate when at least half the file's rows with an id equal its rows; versions written with
    ``profile`` come first (another profile's are looked at only when none of them is a candidate); among
    candidates the most equal rows win, and of equal counts the oldest. Bases are read newest first, one
    at a time, and the search stops at a version every row equals.

    Versions of a race share most of their rows byte for byte: a row is decoded and compared once, the
    first time its bytes are met; in the older versions only the rows that differ are."""

    folder = _race_dir(server, race_id, create=False)
    if not folder.is_dir():
        return None
    entries = _entries(folder)
    if not entries:
        return None
    compare = _Comparer(participants, set(present))
    if not compare.rows:
        return None
    ref = profile_ref(profile) if profile is not None else None
    if ref is not None:
        own = [e for e in entries if e.get("profile") and same_profile(ref, e["profile"])]
        groups = [own, [e for e in entries if e not in own]]
    else:
        groups = [entries]
    counted: dict[str, int] = {}  # base hash -> equal rows (a base written to several files is read once)
    need = max(1, math.ceil(len(compare.rows) * MIN_SHARE))
    for group in groups:
        best: tuple[dict[str, Any], int] | None = None
        best_records: list[Any] | None = None
        for e in group:  # newest first
            sha = e["sha256"]
            records = None
            if sha not in counted:
                path = folder / f"{sha}.json.gz"
                try:
                    # the first base read is kept decoded: it is the newest, the likeliest origin
                    n, records = compare.scan(load_base_file(path), str(path), keep=not counted)
                except Exception as exc:  # noqa: BLE001 - a damaged or vanished version is no origin
                    LOG.warning("version %s of race %s could not be read (%s); skipped", e["id"], race_id, exc)
                    n = -1
                counted[sha] = n
            n = counted[sha]
            # Of equal counts the older: a base older than the copy's own can only make a change look like
            # RaceEntry's (a conflict, never sent); a newer one could send RaceEntry's change back.
            if n >= need and (best is None or n >= best[1]):
                best, best_records = (e, n), records
            if n == len(compare.rows):
                break  # nothing older can have more
        if best is not None:
            e, n = best
            return Origin(e["id"], e.get("file") or "", e.get("profile"), e["written_at"], n, len(compare.rows),
                          e.get("rows"), folder / f"{e['sha256']}.json.gz", best_records)
    return None


class _Comparer:
    """A file's rows by registration id, with the values compared, to count a version's equal rows."""

    def __init__(self, participants: Sequence[Any], present: set[str]) -> None:
        self.fields = [f for f in (*COMPARED_FIELDS, *UNPUSHABLE_FIELDS) if f in present]
        self.event = "event_id" in present
        self.team = "team_name" if "team_name" in present else "team_id" if "team_id" in present else None
        attrs = self.fields + (["event_id"] if self.event else []) + ([self.team] if self.team else [])
        self.get = operator.attrgetter(*attrs) if len(attrs) > 1 else (
            (lambda p, a=attrs[0]: (getattr(p, a),)) if attrs else (lambda p: ()))
        self.rows: dict[str, tuple[Any, Any]] = {}
        for p in participants:
            rid = (p.registration_id or "").strip()
            if rid:
                self.rows[rid] = (p, self.get(p))
        self.seen: dict[int, bool] = {}  # a version's row (its event and exact bytes) -> equal to the file's row

    def scan(self, data: bytes, where: str, keep: bool = False) -> tuple[int, list[Any] | None]:
        """How many of the file's rows equal a version's (``data``, its answer's bytes); ``keep``: with the
        version's participants (as :func:`converters.model.answers.as_answer` decodes them without their bytes)."""
        rows, seen, get, equal = self.rows, self.seen, self.get, self.equal
        records: list[Any] | None = [] if keep else None
        n = 0
        decode_event = wire.EVENT_DECODER.decode
        for gi, group in enumerate(wire.GROUPS_DECODER.decode(data)):
            event = decode_event(group.event)
            event_id = as_int(event.event_id, f"{where}[{gi}].event.event_id")
            for raw in group.participants or event.participants or ():
                key = hash((event_id, bytes(raw)))
                hit = seen.get(key)
                if hit is None or keep:
                    p = participant_from_json(raw, where, event_id)
                    p.extra = {}  # not the row's bytes: they would keep the whole answer alive
                    if keep:
                        records.append(p)
                    if hit is None:
                        got = rows.get(p.registration_id) if p.registration_id is not None else None
                        hit = seen[key] = got is not None and (got[1] == get(p) or equal(got[0], p))
                n += hit
        return min(n, len(rows)), records

    def equal(self, p: Any, bp: Any) -> bool:
        """Equal on every compared field once normalised (the slow path, for rows whose raw values differ)."""
        for f in self.fields:
            a, b = getattr(p, f), getattr(bp, f)
            if a != b and norm(f, a) != norm(f, b):
                return False
        if self.event and p.event_id != bp.event_id:
            return False
        if self.team:
            a, b = getattr(p, self.team), getattr(bp, self.team)
            if a != b and norm("team_name", a) != norm("team_name", b):
                return False
        return True
