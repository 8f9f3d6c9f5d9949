"""The push journal: one file per batch sent (or about to be) in ``<state>/journal/<server>-race-<id>/``,
written atomically before the request goes out, so a lost answer or a killed run never sends a batch
twice. It also answers what earlier pushes from this machine landed: adds, deletes, switched ids.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .. import state
from ..compare.bodies import result_ids
from ..errors import TimersyncError
from ..jsonio import load_file, save_file


class Journal:
    """One file per batch in ``<state>/journal/race-<id>/``, written atomically."""

    def __init__(self, race_id: int, folder: Path | None = None, server: str | None = None):
        self.race_id = race_id
        # Per server and race: a rehearsal server's race 2026 is not RaceEntry's race 2026. One server is
        # one folder however its URL is spelt (state.server_key): localhost is 127.0.0.1.
        name = f"{state.server_slug(server)}-race-{race_id}" if server else f"race-{race_id}"
        self.folder = folder or state.subdir("journal") / name
        if folder is None and server and not self.folder.exists():
            legacy = state.subdir("journal") / f"{state.slug(server)}-race-{race_id}"
            if legacy.is_dir():  # kept under the URL as typed by an earlier version: its batches go on
                legacy.rename(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def entries(self) -> list[tuple[Path, dict[str, Any]]]:
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = load_file(path)
            except TimersyncError:
                continue  # an unreadable entry: atomic writes make this an interrupted rename at worst
            if isinstance(data, dict):
                out.append((path, data))
        return out

    def pending(self) -> list[tuple[Path, dict[str, Any]]]:
        return [(p, e) for p, e in self.entries() if e.get("status") in ("sending", "lost")]

    def begin(self, kind: str, items: list[dict[str, Any]], body: Any) -> Path:
        last = max((int(p.name.split("-")[0]) for p in self.folder.glob("*.json") if p.name[:6].isdigit()),
                   default=0)
        path = self.folder / f"{last + 1:06d}-{kind}.json"
        self.write(path, {"kind": kind, "race_id": self.race_id, "status": "sending", "journaled_at": time.time(),
                          "items": items, "body": body})
        return path

    def write(self, path: Path, entry: dict[str, Any]) -> None:
        save_file(path, entry, pretty=False)

    def finish(self, path: Path, status: str, **fields: Any) -> None:
        entry = load_file(path)
        entry.update(fields, status=status, finished_at=time.time())
        self.write(path, entry)

    def confirmed_adds(self) -> list[dict[str, Any]]:
        """Every add any push of this race confirmed (or a read-back found), as ledger entries: the values
        sent and the registration id RaceEntry gave. A copy of a pushed file (one dropped in a watch
        folder, one e-mailed back) has its own binding, or none; these tie its rows to their ids all the
        same. An add removed again (``undo-add``) is left out."""
        entries = self.entries()
        undone = self.landed_ids("delete", entries)
        return [dict(item["ledger"], registration_id=rid, foreign=True) for _, item, rid in self.adds(entries)
                if item.get("ledger") and rid not in undone]

    def _ids(self, e: dict[str, Any]) -> list[Any]:
        """Per item of a finished batch, the id it landed under (None: not landed, or not known)."""
        status = e.get("status")
        if status == "reconciled":
            ids = e.get("new_ids") or []
            return [i if ok else None for i, ok in zip(ids, e.get("landed") or [])]
        if status in ("done", "lost") and isinstance(e.get("ids"), list):
            return e["ids"]  # the answer's ids checked against the rows by identity
        if status in ("done", "lost") and isinstance(e.get("answer"), dict):
            try:
                return result_ids(e["answer"])
            except TimersyncError:
                return []
        return []

    def adds(self, entries: list[tuple[Path, dict[str, Any]]] | None = None) -> list[tuple[Path, dict[str, Any], str]]:
        """(batch, journal item, registration id) of every add a push from this machine landed."""
        out = []
        for path, e in self.entries() if entries is None else entries:
            if e.get("kind") != "participants":
                continue
            for item, rid in zip(e.get("items") or [], self._ids(e)):
                if item.get("op") == "add" and isinstance(rid, str) and rid:
                    out.append((path, item, rid))
        return out

    def landed_ids(self, kind: str, entries: list[tuple[Path, dict[str, Any]]] | None = None) -> set[str]:
        """The registration ids of every ``kind`` item (a delete, say) that landed."""
        out: set[str] = set()
        for _, e in self.entries() if entries is None else entries:
            if e.get("kind") != kind:
                continue
            for item, rid in zip(e.get("items") or [], self._ids(e)):
                if rid and not isinstance(rid, dict) and item.get("registration_id"):
                    out.add(str(item["registration_id"]))
        return out

    def renamed(self) -> dict[str, str]:
        """old -> new registration ids of every switch that landed (RaceEntry may give a new id)."""
        out: dict[str, str] = {}
        for _, e in self.entries():
            if e.get("kind") != "switch":
                continue
            # The ids as settled (read back, or checked runner by runner), never the answer's order alone.
            for item, new in zip(e.get("items") or [], self._ids(e)):
                if isinstance(new, str) and new and new != str(item["registration_id"]):
                    out[str(item["registration_id"])] = new
        # follow chains (switched twice)
        for old in list(out):
            seen = {old}
            while out[old] in out and out[old] not in seen:
                seen.add(out[old])
                out[old] = out[out[old]]
        return out
