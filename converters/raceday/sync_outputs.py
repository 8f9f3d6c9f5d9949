"""The files a sync keeps current: whether a round must rewrite one (something it shows changed), the
edits the timer made in it since timersync last wrote it, and the write itself: the file, or, when the
timer edited it, its ``<stem>.incoming.<ext>`` twin (``--overwrite-edits`` keeps the timer's as ``.bak``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..plan import binding, planning
from ..atomic import file_sha256, write_bytes
from ..plan.binding import bind
from ..errors import InputError, PlanError
from ..model.answers import Answer, parse_teams, participant_from_json
from ..model import Participant
from ..client.roster import Roster
from .sync_report import OutputResult
from ..files.writer import write_file

LOG = logging.getLogger("timersync.sync")


@dataclass
class SyncOutput:
    """One file kept in sync: a profile (name or loaded Profile) and a path (.csv/.txt/.xlsx)."""

    profile: Any
    path: Path


@dataclass
class Content:
    """What a round writes: the roster's participants, the race context and the answer bound as base."""

    participants: list[Participant]
    race: Any
    teams: Any  # parsed teams, or None
    teams_raw: Any
    team_types: Any
    response: Answer


def visible_fields(profile: Any) -> tuple[str, ...]:
    """The participant fields a profile's file shows (canonical names or extra API keys)."""
    names: list[str] = []
    for col in getattr(profile, "columns", ()):
        sources = col.template_fields if getattr(col, "kind", "") == "template" else (col.source,)
        for s in sources:
            if s not in names:
                names.append(s)
    return tuple(names)


def incoming_path_for(output: str | os.PathLike) -> Path:
    """Where fresh data goes while the timer's edited file is kept: ``<stem>.incoming<suffix>``."""
    out = Path(output)
    return out.with_name(f"{out.stem}.incoming{out.suffix}")


class OutputFiles:
    """The output files of one Syncer, against its roster. Keeps, per file, the rows already rendered (so
    a round renders what changed) and the timer's edits found for a file's content."""

    def __init__(self, client: Any, race_id: int, roster: Roster, overwrite_edits: bool = False):
        self.client = client
        self.race_id = race_id
        self.roster = roster
        self.overwrite_edits = overwrite_edits
        # Per output: registration id -> the row of text cells already rendered (CSV/TXT only), so a round
        # with 100 changes renders 100 rows, not 50,000. Dropped when the profile or race context changes.
        self._row_cache: dict[str, tuple[Any, dict[str, tuple]]] = {}
        self._edit_cache: dict[tuple, list[tuple[str | None, str]]] = {}

    def forget_row(self, rid: str) -> None:
        """Registration ``rid`` changed or went: its rendered rows are stale in every file."""
        for _, cache in self._row_cache.values():
            cache.pop(rid, None)

    def update(self, out: SyncOutput, participants: Callable[[], list[Participant]],
               response: Callable[[Sequence[Participant]], Answer]) -> OutputResult:
        """Rewrite ``out`` when something it shows changed since its last write; when the timer edited it
        since, keep it and write the ``.incoming`` twin (unless ``overwrite_edits``)."""
        roster = self.roster
        key = f"output:{out.path.resolve()}"
        rec = roster.get(key) or {}
        version = roster.version()
        digest = roster.get("context_digest")
        res = OutputResult(out.path)
        exists = out.path.exists()
        pending = roster.changes_since(int(rec.get("version", 0))) if rec else {}
        if not self._needs_writing(out, rec, exists, digest, pending):
            if rec.get("version") != version:
                rec["version"] = version
                roster.set(key, rec)
                roster.db.commit()
            return res
        untouched = True
        edit_rids: list[tuple[str | None, str]] = []
        if exists:
            untouched = bool(rec) and _same_file(out.path, rec)
            if not untouched:
                edit_rids = self._timer_edits(out, rec)
                res.edits = [msg for _, msg in edit_rids]
                untouched = not res.edits
        content = self._content(participants(), response)
        if not untouched and not self.overwrite_edits:
            res.conflicts = [msg for rid, msg in edit_rids if rid in pending]
            return self._write_incoming(out, key, rec, res, content, version, digest)
        if exists and not untouched:
            # --overwrite-edits: the timer's version is kept as .bak, never just dropped.
            write_bytes(str(out.path) + ".bak", out.path.read_bytes())
        return self._write_output(out, key, res, content, version, digest)

    def _needs_writing(self, out: SyncOutput, rec: dict[str, Any], exists: bool, digest: Any,
                       pending: dict[str, tuple[bytes | None, bytes | None]]) -> bool:
        """A file is written when it is missing, was never written, has another profile or race context
        since, or a pending change shows in it."""
        return (not exists or not rec or rec.get("profile") != out.profile.name
                or rec.get("context_digest") != digest or self._visible(pending, visible_fields(out.profile)))

    def _content(self, participants: list[Participant],
                 response: Callable[[Sequence[Participant]], Answer]) -> Content:
        context = self.roster.get("context") or {}
        race, teams_raw = context.get("race"), context.get("teams")
        teams = parse_teams(teams_raw) if teams_raw is not None else None
        return Content(participants, race, teams, teams_raw, context.get("team_types"), response(participants))

    def _write_incoming(self, out: SyncOutput, key: str, rec: dict[str, Any], res: OutputResult,
                        content: Content, version: int, digest: Any) -> OutputResult:
        """The timer edited ``out``: keep it, write the fresh data to its ``.incoming`` twin (once per
        roster version, file content and race context)."""
        target = incoming_path_for(out.path)
        marker = {"version": version, "out_sha": rec.get("seen_sha"), "context_digest": digest}
        if rec.get("incoming") == marker and target.exists():
            res.incoming, res.wrote = True, None
            return res
        res.warnings = list(write_file(target, content.participants, out.profile, race=content.race,
                                       teams=content.teams))
        self._bind(target, out, content)
        res.incoming, res.wrote = True, target
        rec["incoming"] = marker
        self.roster.set(key, rec)
        self.roster.db.commit()
        LOG.warning("%s: the timer edited %d rows since the last sync; kept it, wrote %s",
                    out.path, len(res.edits), target)
        return res

    def _write_output(self, out: SyncOutput, key: str, res: OutputResult, content: Content, version: int,
                      digest: Any) -> OutputResult:
        """Write ``out`` itself and remember what was written (stat and hash: the next round's edit check)."""
        res.warnings = self._write(out, content.participants, content.race, content.teams, digest)
        self._bind(out.path, out, content)
        st = out.path.stat()
        rec = {"version": version, "profile": out.profile.name, "context_digest": digest,
               "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(out.path)}
        self.roster.set(key, rec)
        self.roster.db.commit()
        res.wrote = out.path
        return res

    def _bind(self, path: Path, out: SyncOutput, content: Content) -> None:
        bind(path, server=self.client.base_url, race_id=self.race_id, profile=out.profile, base=content.response,
             race=content.race, teams=content.teams_raw, team_types=content.team_types)

    def _write(self, out: SyncOutput, participants: list[Participant], race: Any, teams: Any,
               digest: Any) -> list[str]:
        """The writer's write_file, with this file's row cache: a round renders only the rows that changed
        since the last write (CSV/TXT)."""
        key = str(out.path)
        stamp = (out.profile.name, out.profile.text, digest)
        cached = self._row_cache.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, {})
            self._row_cache[key] = cached
        return list(write_file(out.path, participants, out.profile, race=race, teams=teams, cache=cached[1]))

    def _visible(self, pending: dict[str, tuple[bytes | None, bytes | None]], fields: Sequence[str]) -> bool:
        for rid, (old, new) in pending.items():
            if (old is None) != (new is None):
                return True
            if old is None or new is None:
                continue  # added and removed again between two writes
            if not fields:
                if old != new:
                    return True
                continue
            a, b = participant_from_json(old, f"registration {rid}"), participant_from_json(new, f"registration {rid}")
            if _projection(a, fields) != _projection(b, fields):
                return True
        return False

    def _timer_edits(self, out: SyncOutput, rec: dict[str, Any]) -> list[tuple[str | None, str]]:
        """(registration id, message) per row the timer changed in ``out`` since timersync last wrote it:
        the planning pipeline, offline, compares the file with its binding's base (what was last written,
        advanced by the file's pushes)."""
        meta = binding.binding_dir(out.path) / "binding.json"
        sha = file_sha256(out.path)
        rec["seen_sha"] = sha
        cache_key = (str(out.path), sha, meta.stat().st_mtime_ns if meta.exists() else None)
        if cache_key in self._edit_cache:
            return self._edit_cache[cache_key]
        b = binding.load(out.path)
        if rec.get("sha256") == sha:
            edits: list[tuple[str | None, str]] = []
        elif b is None or not b.has_base:
            edits = [(None, f"{out.path.name} was not written by timersync (it has no binding in .timersync/)")]
        else:
            try:
                planned = planning.make(out.path, race_id=self.race_id, profile=binding.profile_ref(out.profile),
                                        offline=True)
            except (InputError, PlanError) as exc:
                edits = [(None, f"{out.path.name} cannot be read back ({exc})")]
            else:
                edits = planning.edits_of(planned.plan)
        self._edit_cache[cache_key] = edits
        return edits


def _projection(p: Participant, fields: Sequence[str]) -> tuple:
    return tuple(p.get(f) for f in fields)


def _same_file(path: Path, rec: dict[str, Any]) -> bool:
    """True when ``path`` is byte for byte what timersync last wrote (stat first, then the hash)."""
    st = path.stat()
    if st.st_size != rec.get("size"):
        return False
    if st.st_mtime_ns == rec.get("mtime_ns"):
        return True
    return file_sha256(path) == rec.get("sha256")
