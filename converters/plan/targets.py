"""Which file, bound how: a file's target (:class:`Target`: its binding, and the race, profile and server
settled from the command line and the binding), the race context it was written with, and its base (the
participants answer it was written from, advanced by every push its ledger records).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import binding as binding_mod
from .binding import Binding
from ..client import resolve_base_url
from ..errors import PlanError
from ..jsonio import load_file
from ..model.answers import Answer, as_answer
from ..model import Participant


@dataclass
class Target:
    """Which file, bound how: the binding (or None) and the race, profile and server settled with it."""

    file: Path
    bind_as: Path  # the path whose binding is used (the drop folder binds a dropped file to out/<name>)
    binding: Binding | None
    race_id: int
    profile: str
    server: str | None

    @property
    def url(self) -> str:
        """The server to talk to: the one settled for the file, else the last login's (else the demo)."""
        return self.server or resolve_base_url(None, None)


def target(file: str | Path, *, race_id: int | None = None, profile: str | None = None,
           server: str | None = None, bind_as: str | Path | None = None) -> Target:
    """Settle race id, profile and server from the command line and the file's binding."""
    file = Path(file)
    bind_path = Path(bind_as) if bind_as else file
    b = binding_mod.load(bind_path)
    rid, prof, srv = binding_mod.settle(b, race_id=race_id, profile=profile, server=server, file=file.name)
    return Target(file, bind_path, b, rid, prof, srv)


def settle(file: str | Path, settled: Target | None, **how: Any) -> Target:
    """The file's target: as the caller ``settled`` it, with its binding read again (it may have grown
    since), else settled here (:func:`target`)."""
    if settled is not None:
        return dataclasses.replace(settled, binding=binding_mod.load(settled.bind_as))
    return target(file, **how)


def load_context(race_id: int, path: str | Path) -> dict[str, Any]:
    """``--race``: a context written by pull, a races response or one race object. Raises PlanError for
    another race's context."""
    path = Path(path)
    data = load_file(path)
    if isinstance(data, dict) and "race" in data and "race_id" in data:
        ctx = data
    else:
        race = data.get("race") if isinstance(data, dict) and isinstance(data.get("race"), dict) else data
        if isinstance(data, dict) and isinstance(data.get("races"), list):
            race = next((r.get("race") for r in data["races"] if str((r.get("race") or {}).get("race_id"))
                         == str(race_id)), None)
        ctx = {"race_id": race.get("race_id") if isinstance(race, dict) else None, "race": race, "teams": None,
               "team_types": None}
    check_context(ctx, race_id, path)
    return ctx


def check_context(ctx: dict[str, Any] | None, race_id: int, where: Any) -> None:
    """PlanError when ``ctx`` (read from ``where``) is the context of another race than ``race_id``."""
    if ctx and ctx.get("race_id") is not None and str(ctx["race_id"]) != str(race_id):
        raise PlanError(f"{where} is the context of race {ctx['race_id']}, not race {race_id}: the file was "
                        f"pulled from another race; check RACE_ID")


def load_base(path: str | Path) -> list[Participant]:
    """The participants of a saved base (``base.json.gz``, a snapshot or any saved participants answer)."""
    return _participants_of(binding_mod.load_base_file(path), str(path))


def base_of(b: Binding) -> tuple[list[Participant], list[Participant]] | None:
    """The binding's base: (as the file was written, advanced by every confirmed push in its ledger)."""
    raw = b.base_raw()
    if raw is None:
        return None
    written = _participants_of(raw, str(b.base_path))
    del raw
    b.release_base()  # decoded without its bytes: the 55 MB of a 50,000-runner base can go
    return written, binding_mod.apply_ledger(written, b.ledger)


def _participants_of(data: Any, where: str) -> list[Participant]:
    """A saved participants answer (bytes, or an Answer just read), decoded and checked in one typed
    pass, as participants. Bytes are decoded afresh on every call, so no caller shares another's
    participants; a base is only compared, never written back from its records, so they are decoded
    without their extra fields and the 55 MB of a 50,000-runner base are not kept."""
    if isinstance(data, Answer):
        return data.participants
    return as_answer(data, where, keep_bytes=False).participants
