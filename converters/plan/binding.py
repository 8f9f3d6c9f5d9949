"""The file binding: what timersync remembers about a timing file, so the next diff or push of it is
measured against the right past.

``pull`` (and ``sync``, and the drop folder) bind the file they write; ``push`` keeps the binding current.
It lives in a hidden folder beside the file, so a timing program's import dialog never shows it::

    runscore.csv
    .timersync/runscore.csv/binding.json   server, race id, profile, when pulled, the push ledger
    .timersync/runscore.csv/base.json.gz   the base: RaceEntry's participants as the file last agreed
                                           with them (the answer as pulled, advanced by every push)
    .timersync/runscore.csv/race.json      the race context: race, teams, team types (offline work)

The **ledger** lists every row a push confirmed: the file row, the registration id it has in RaceEntry
and the values sent. Rows a push added have no registration id in the file until the next pull; the
ledger ties them to their id, so a second push never adds them again, whatever RaceEntry changed since.
After every confirmed batch the base advances for the rows in it: a value RaceEntry gives a runner
afterwards (a team, a corrected name) is a change on RaceEntry's side, never an edit to revert.

The base is gzip-compressed (a 50,000-runner answer is 55 MB as JSON; the binding a few MB). Side files
of earlier versions (``<file>.snapshot.json``, ``<file>.race.json``) are still read when no binding exists.
"""

from __future__ import annotations

import gzip
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .. import dates
from ..atomic import atomic_writer, write_bytes
from .bases import GZIP_LEVEL, json_pieces, load_base_file
from ..errors import InputError, PlanError
from ..jsonio import dumps, load_file
from ..model import CANONICAL_FIELDS, Participant
from ..files.profiles import profile_ref, same_profile

FOLDER = ".timersync"
VERSION = 1


def binding_dir(file: str | Path) -> Path:
    """The folder where timersync keeps what it knows about ``file`` (``.timersync/<name>/``)."""
    file = Path(file)
    return file.parent / FOLDER / file.name


def legacy_snapshot_path(file: str | Path) -> Path:
    """Where an older timersync kept the file's snapshot (read, never written)."""
    file = Path(file)
    return file.with_name(f"{file.name}.snapshot.json")


def legacy_context_path(file: str | Path) -> Path:
    """Where an older timersync kept the file's race (read, never written)."""
    file = Path(file)
    return file.with_name(f"{file.name}.race.json")


@dataclass
class Binding:
    """A file's binding. ``base_raw`` (the participants answer) loads on first use."""

    file: Path
    server: str | None = None
    race_id: int | None = None
    profile: str | None = None  # a built-in profile's name, or the absolute path of the user's .toml
    pulled_at: float | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] | None = None
    legacy: bool = False  # read from the side files of an earlier version
    _base_raw: Any = None
    _base_loaded: bool = False

    @property
    def folder(self) -> Path:
        return binding_dir(self.file)

    @property
    def base_path(self) -> Path:
        return legacy_snapshot_path(self.file) if self.legacy else self.folder / "base.json.gz"

    @property
    def has_base(self) -> bool:
        return self._base_loaded and self._base_raw is not None or self.base_path.is_file()

    def base_raw(self) -> Any:
        """The base as a participants answer (its JSON bytes, or the Answer it was bound with), or None."""
        if not self._base_loaded:
            self._base_loaded = True
            path = self.base_path
            if path.is_file():
                self._base_raw = load_base_file(path)
        return self._base_raw

    def release_base(self) -> None:
        """Let go of the base's bytes once decoded (55 MB for 50,000 runners): base_raw() reads the saved
        base again. A base set but not saved yet is kept."""
        if self._base_loaded and self.base_path.is_file():
            self._base_raw, self._base_loaded = None, False

    def set_base_raw(self, data: Any) -> None:
        self._base_raw, self._base_loaded = data, True

    def ledger_by_id(self) -> dict[str, dict[str, Any]]:
        return {str(e["registration_id"]): e for e in self.ledger if e.get("registration_id")}

    def meta(self) -> dict[str, Any]:
        return {"version": VERSION, "file": self.file.name, "server": self.server, "race_id": self.race_id,
                "profile": self.profile, "pulled_at": self.pulled_at, "ledger": self.ledger}

    # ------------------------------------------------------------------------------------ writing
    def save(self, base: bool = True, context: bool = True) -> None:
        """Write the binding (atomically, each part): the base first, the metadata last, so a binding
        is never newer than its base."""
        folder = self.folder
        if not folder.parent.is_dir():
            folder.parent.mkdir(parents=True, exist_ok=True)
            _hide(folder.parent)
        folder.mkdir(parents=True, exist_ok=True)
        if base and self._base_loaded and self._base_raw is not None:
            with atomic_writer(folder / "base.json.gz", "wb") as fh:
                with gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as gz:
                    for piece in json_pieces(self._base_raw):
                        gz.write(piece)
        if context and self.context is not None:
            write_bytes(folder / "race.json", dumps(self.context, pretty=False))
        write_bytes(folder / "binding.json", dumps(self.meta()))
        self.legacy = False


def _hide(path: Path) -> None:
    """Windows shows dot-folders: mark .timersync hidden there, so import dialogs leave it out."""
    if os.name == "nt":  # pragma: no cover - Windows only
        import ctypes

        ctypes.windll.kernel32.SetFileAttributesW(str(path), 0x02)  # FILE_ATTRIBUTE_HIDDEN


def load(file: str | Path) -> Binding | None:
    """The binding of ``file``: the ``.timersync`` folder beside it, else an earlier version's side files,
    else None."""
    file = Path(file)
    meta_path = binding_dir(file) / "binding.json"
    if meta_path.is_file():
        meta = load_file(meta_path)
        if not isinstance(meta, dict):
            raise InputError("not what timersync keeps about a file; delete the folder and pull the file again",
                             file=str(meta_path))
        ctx_path = binding_dir(file) / "race.json"
        context = load_file(ctx_path) if ctx_path.is_file() else None
        return Binding(file, meta.get("server"), meta.get("race_id"), meta.get("profile"), meta.get("pulled_at"),
                       list(meta.get("ledger") or []), context if isinstance(context, dict) else None)
    snap, ctx_path = legacy_snapshot_path(file), legacy_context_path(file)
    if snap.is_file() or ctx_path.is_file():
        context = load_file(ctx_path) if ctx_path.is_file() else None
        context = context if isinstance(context, dict) and "race_id" in context else None
        return Binding(file, None, context.get("race_id") if context else None, None, None, [], context,
                       legacy=True)
    return None


def bind(file: str | Path, *, server: str | None, race_id: int, profile: Any, base: Any,
         race: Any = None, teams: Any = None, team_types: Any = None) -> Binding:
    """Bind ``file`` (just written from ``base``, a participants answer): a fresh base. Called after the
    file is written: a base newer than its file would make RaceEntry's later changes look like edits.

    The new base already holds what earlier pushes did, so the ledger starts again, except that the adds
    are carried over (marked ``carried``, never applied to the base again): an older copy of the file, one
    a timer dropped in a watch folder, may still hold those runners without their registration ids."""
    old = load(file)
    carried = [dict(e, carried=True) for e in (old.ledger if old is not None else []) if e.get("op") == "add"]
    b = Binding(Path(file), server, race_id, profile_ref(profile), time.time(), carried,
                {"race_id": race_id, "race": race, "teams": teams, "team_types": team_types})
    b.set_base_raw(base)
    b.save()
    # Every written version, so a copy of the file finds the one it was made from. Imported here, as the
    # comparison in resolve_rows: reading a binding (every file -> JSON conversion does) needs neither.
    from . import versions

    versions.record(server, race_id, file_name=b.file.name, profile=b.profile, base=base, written_at=b.pulled_at)
    return b


# ---------------------------------------------------------------------------------- agreeing with it

def settle(binding: Binding | None, *, race_id: int | None, profile: str | None, server: str | None,
           file: str) -> tuple[int, str, str | None]:
    """(race id, profile, server) from the command line and the binding; a contradiction is an error."""
    def differ(a: Any, b: Any) -> bool:
        return a is not None and b is not None and str(a).rstrip("/") != str(b).rstrip("/")

    if binding is not None:
        if differ(race_id, binding.race_id):
            raise PlanError(f"{file} was pulled from race {binding.race_id}, not race {race_id}: drop RACE_ID "
                            f"(it is remembered) or check it")
        if profile is not None and binding.profile is not None and not same_profile(profile, binding.profile):
            raise PlanError(f"{file} was written with profile {binding.profile}, not {profile}: drop -p (it is "
                            f"remembered) or pull the file again with the profile you want")
        from ..state import server_key  # localhost is 127.0.0.1: one server, however it is spelt

        if server is not None and binding.server is not None and server_key(server) != server_key(binding.server):
            raise PlanError(f"{file} was pulled from {binding.server}, not {server}: drop --api-url/--demo/"
                            f"--production and TIMERSYNC_API_URL (the server is remembered) or check them")
        race_id = race_id if race_id is not None else binding.race_id
        profile = profile if profile is not None else binding.profile
        server = server if server is not None else binding.server
    if race_id is None:
        raise PlanError(f"{file}: which race? Give RACE_ID (timersync did not pull this file, or the "
                        f".timersync folder beside it is gone): timersync push RACE_ID {file} -p PROFILE")
    if profile is None:
        raise PlanError(f"{file}: which profile? Give -p PROFILE (runscore, raceresult, ...: `timersync profiles` "
                        f"lists them); timersync did not pull this file, so it does not know")
    return int(race_id), profile, server


# ------------------------------------------------------------------------------------- the push ledger

LEDGER_FIELDS = ("first_name", "last_name", "event_id", "dob", "email")


def ledger_entry(op: str, row: int, registration_id: str, values: dict[str, Any]) -> dict[str, Any]:
    """One ledger entry: what a push of ``row`` confirmed for ``registration_id`` (op, values, when)."""
    return {"op": op, "row": row, "registration_id": str(registration_id), "values": values, "at": time.time()}


_RUNNER_FIELDS = ("first_name", "last_name", "dob", "email", "phone", "gender", "street", "city", "zipcode",
                  "team_name", "bib", "chip")
_STRONG_FIELDS = ("dob", "email", "phone")


def _keys(p: Any, key: Callable[[Any, Any], tuple]) -> Iterator[tuple]:
    """``key(p)``, then, for a date of birth a spreadsheet left as text that can mean more than one day
    (``3/4/85``: a late entry typed, then pushed with its century), the key with each day it can be."""
    k = key(p, getattr)
    yield k
    text = p.dob
    if not text or dates.parse(text):
        return
    got = dates.readings(str(text))
    days = list(got.dates) + [f"{century + yy:04d}-{month:02d}-{day:02d}" for yy, month, day in got.short
                              for century in (1900, 2000)]
    for day in days:
        if dates.parse(day):
            yield k[:3] + (day,)


def resolve_rows(participants: Sequence[Any], rows: Sequence[int], ledger: Iterable[dict[str, Any]],
                 current: Iterable[Any] = ()) -> tuple[list[Any], list[tuple[int, str]]]:
    """Give the file's rows without a registration id the id an earlier push of this file got for them
    (or the runner a push matched them to), by the runner, never by the row's position: a sort, a filter,
    deleted rows or a corrected name leave the row tied to its registration.

    A row is its ledger entry when it still holds the values sent (names, event, dob). Else it is the
    entry whose runner agrees with the row's cells best, compared with the values sent and with
    RaceEntry's record of that registration (``current``, so a correction made in RaceEntry and copied
    into the file still counts): a date of birth, email or phone must agree, at least three cells in
    all, more than disagree, and no other entry may do as well. Returns the participants (copies where
    an id was filled in) and the (row, registration id) pairs filled."""
    from ..compare.identity import fold_name
    from ..compare.values import norm

    def key(values: Any, get: Any) -> tuple:
        return (fold_name(norm("first_name", get(values, "first_name"))),
                fold_name(norm("last_name", get(values, "last_name"))),
                str(get(values, "event_id") or ""), norm("dob", get(values, "dob")))

    explicit = {str(p.registration_id).strip() for p in participants if p.registration_id}
    adds = [e for e in ledger if e.get("op") == "add" and str(e.get("registration_id")) not in explicit]
    if not adds or all(p.registration_id for p in participants):
        return list(participants), []
    by_key: dict[tuple, list[dict[str, Any]]] = {}
    for e in adds:
        by_key.setdefault(key(e.get("values") or {}, dict.get), []).append(e)
    used: set[str] = set()
    out = list(participants)
    filled: list[tuple[int, str]] = []
    pending = []
    for i, (p, row) in enumerate(zip(participants, rows)):
        if p.registration_id:
            continue
        e = next((x for k in _keys(p, key) for x in by_key.get(k, ()) if x["registration_id"] not in used), None)
        if e is None:
            pending.append((i, p, row))
            continue
        used.add(e["registration_id"])
        out[i] = p.copy(registration_id=e["registration_id"])
        filled.append((row, e["registration_id"]))
    if not pending:
        return out, filled
    # Edited since the push (or sorted and edited): the entry whose runner agrees with the row best.
    live = {str(c.registration_id): c for c in current if c.registration_id}
    left = [e for e in adds if e["registration_id"] not in used]

    def refs(e: dict[str, Any]) -> list[dict[str, str]]:
        sent = {f: norm(f, (e.get("values") or {}).get(f)) for f in _RUNNER_FIELDS}
        sent["event_id"] = str((e.get("values") or {}).get("event_id") or "")
        out_ = [sent]
        c = live.get(str(e["registration_id"]))
        if c is not None:
            rec = {f: norm(f, getattr(c, f)) for f in _RUNNER_FIELDS}
            rec["event_id"] = str(c.event_id or "")
            out_.append(rec)
        return out_

    def score(cells: dict[str, str], ref: dict[str, str]) -> tuple[int, int, bool]:
        agree = disagree = 0
        strong = False
        for f, v in cells.items():
            r = ref.get(f, "")
            if not v or not r:
                continue
            if (fold_name(v) == fold_name(r)) if f in ("first_name", "last_name") else v == r:
                agree += 1
                strong = strong or f in _STRONG_FIELDS
            else:
                disagree += 1
        return agree, disagree, strong

    candidates: list[tuple[int, int, str, int]] = []  # (-agree, pending index, registration id, disagree)
    ref_of = {e["registration_id"]: refs(e) for e in left}
    for j, (i, p, row) in enumerate(pending):
        cells = {f: norm(f, getattr(p, f)) for f in _RUNNER_FIELDS}
        cells["event_id"] = str(p.event_id or "")
        scored = []
        for rid, rs in ref_of.items():
            best = max((score(cells, r) for r in rs), key=lambda s: (s[2], s[0] - s[1]))
            agree, disagree, strong = best
            if strong and agree >= 3 and agree > disagree:
                scored.append((agree - disagree, rid))
        scored.sort(reverse=True)
        if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
            candidates.append((-scored[0][0], j, scored[0][1], 0))
    for _, j, rid, _ in sorted(candidates):
        i, p, row = pending[j]
        if rid in used or out[i].registration_id:
            continue
        used.add(rid)
        out[i] = p.copy(registration_id=rid)
        filled.append((row, rid))
    return out, filled


def participant_values(p: Any) -> dict[str, Any]:
    """The canonical fields of ``p`` that hold a value (what a ledger keeps of a row)."""
    return {f: v for f in CANONICAL_FIELDS if f != "registration_id" and (v := getattr(p, f)) not in (None, "")}


def known_values(entry: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry's values, restricted to the model's fields."""
    return {k: v for k, v in (entry.get("values") or {}).items() if k in CANONICAL_FIELDS and k != "registration_id"}


def apply_ledger(base: list[Any], ledger: Iterable[dict[str, Any]]) -> list[Any]:
    """The base advanced by every confirmed push: adds appended, modified fields and switched events set,
    deletes removed. Applying the whole ledger in order is idempotent (a pull starts a new ledger)."""
    entries = list(ledger)
    if not entries:
        return base
    out = list(base)
    index = {str(p.registration_id): i for i, p in enumerate(out) if p.registration_id}
    gone: set[str] = set()
    for e in entries:
        rid = str(e.get("registration_id") or "")
        if not rid or e.get("carried"):
            continue
        values = known_values(e)
        op = e.get("op")
        if op == "delete":
            gone.add(rid)
            continue
        gone.discard(rid)
        if rid in index:
            out[index[rid]] = out[index[rid]].copy(**values)
        elif op == "add":  # also a runner a push matched to a live registration (``matched``)
            index[rid] = len(out)
            out.append(Participant(registration_id=rid, **values))
    return [p for p in out if str(p.registration_id) not in gone] if gone else out
