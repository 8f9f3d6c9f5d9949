"""Pull: fetch a race's participants (and teams) and write them in a profile's layout, keeping the
fetched JSON beside the file as the base for a later diff."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import binding
from ..client import readcheck
from .. import progress as _progress
from ..model.answers import parse_teams
from ..atomic import write_bytes, write_pieces
from .binding import load as load_binding
from ..client import RaceEntryClient
from ..errors import InputError, PlanError, ProfileError, TimersyncError
from ..model.races import with_events
from .racestate import race_context, together
from ..files.records import kind_of
from ..client.roster import roster_path
from .targets import base_of
from ..files.writer import write_file

LOG = logging.getLogger("timersync.pull")


@dataclass
class PullResult:
    """What `pull` wrote: the file, its binding folder, how many participants and teams, the warnings."""
    output: Path
    binding: Path  # the .timersync/<file> folder
    participants: int
    teams: int
    warnings: list[str] = field(default_factory=list)
    backup: Path | None = None  # the previous version of the output, when one was replaced


@dataclass
class Fetched:
    """One read of a race from RaceEntry: what a pulled file and its snapshot are made from."""

    race_id: int
    race: dict[str, Any]
    data: Any  # the participants answer (answers.Answer: typed, with each row's exact bytes)
    teams_raw: Any
    team_types: Any
    notes: list[str] = field(default_factory=list)  # what the read had to make up for (no events listed)

    @property
    def participants(self) -> list[Any]:
        return self.data.participants


def fetch(client: RaceEntryClient, race_id: int, progress: Callable[[int], None] | None = None) -> Fetched:
    """Read race ``race_id``: the race (with its events), every participant, teams and team types (None
    when RaceEntry does not give them: :func:`converters.plan.racestate.optional_team_types`), the reads
    that do not wait for each other side by side (as :mod:`converters.plan.racestate` reads a race)."""
    (race, teams, types), data = together(client, lambda: race_context(client, race_id),
                                          lambda: client.participants_answer(race_id, 0, progress=progress))
    race, note = with_events(race, data, race_id)
    return Fetched(race_id, race, data, teams, types, [note] if note else [])


def pull(client: RaceEntryClient, race_id: int, profile: Any, output: str | Path,
         snapshot: str | Path | None = None, progress: Callable[[int], None] | None = None,
         fetched: Fetched | None = None, force: bool = False) -> PullResult:
    """Fetch race ``race_id`` and write ``output`` (kind from its extension) with ``profile``.

    Then binds the file (:mod:`converters.plan.binding`: server, race, profile, the answer as its base, the race
    context), after the file: a base newer than its file would make RaceEntry's own later changes look
    like edits in the file, and a later push would revert them. ``snapshot``: also keep the answer there
    as plain JSON. ``fetched``: a read already made (the demo writes every profile from one read).

    A bound file holding edits no push has sent yet is not replaced (PlanError) unless ``force``; the
    replaced version is kept as ``<file>.bak`` either way. Nor is a read that lacks many runners of the
    previous read (:func:`check_read`) written, unless ``force``.
    """
    if isinstance(profile, str):
        from ..files.profiles import load_profile

        profile = load_profile(profile)
    output = Path(output)
    kind = kind_of(output)  # refuse a bad output name before fetching anything
    if kind not in profile.kinds:
        raise ProfileError(f"profile {profile.name} writes {', '.join(profile.kinds)}, not {kind}")
    if not output.parent.is_dir():
        raise TimersyncError(f"{output}: folder {output.parent} does not exist; create it or choose another output")
    if output.is_file() and not force:
        from .planning import unpushed_edits

        try:
            edits = unpushed_edits(output)
        except (InputError, PlanError) as exc:
            raise PlanError(f"{output.name} cannot be read back to look for edits not pushed yet ({exc}); fix it, "
                            f"or pull with --force (the file is kept as {output.name}.bak)") from None
        if edits:
            shown = "; ".join(msg for _, msg in edits[:3]) + (f"; and {len(edits) - 3} more" if len(edits) > 3 else "")
            first = ("push them first (timersync push {name}), or " if any("(not pushable)" not in m for _, m in edits)
                     else "RaceEntry's API cannot take them, so a pull would lose them: keep them in the timing "
                          "program, or ").format(name=output.name)
            raise PlanError(f"{output.name} has {len(edits)} edit{'s' if len(edits) != 1 else ''} not pushed yet "
                            f"({shown}): {first}pull with --force (the file is kept as {output.name}.bak)")
    got = fetched or fetch(client, race_id, progress)
    if not force:
        check_read(client, race_id, output, got)
    participants = got.participants
    teams = parse_teams(got.teams_raw)
    backup = None
    if output.is_file():
        # A pull replaces the file wholesale; edits a timer made in it since (bib swaps the API cannot
        # take, unpushed rows) would be gone. Keep the previous version beside it.
        backup = output.with_name(output.name + ".bak")
        write_bytes(backup, output.read_bytes())
    _progress.say(f"writing {output.name} ({len(participants):,} participants)", force=True)
    warnings = write_file(output, participants, profile, race=got.race, teams=teams)

    b = binding.bind(output, server=client.base_url, race_id=race_id, profile=profile, base=got.data,
                     race=got.race, teams=got.teams_raw, team_types=got.team_types)
    if snapshot:
        write_pieces(snapshot, got.data.pieces())
    LOG.info("pulled race %s: %d participants, %d teams -> %s", race_id, len(participants), len(teams), output)
    return PullResult(output, b.folder, len(participants), len(teams), got.notes + list(warnings or []), backup)


def check_read(client: RaceEntryClient, race_id: int, output: Path, got: Fetched) -> None:
    """Refuse (ShortRead) a read lacking many runners of the previous read of the race, with no removals
    to account for them (:func:`converters.client.readcheck.check`): the previous read is ``output``'s binding
    base (a file pulled from this race on this server), else the sync roster of the race, else none."""
    before: dict[str, int] | None = None
    when = None
    b = load_binding(output) if output.is_file() else None
    if (b is not None and str(b.race_id) == str(race_id) and (b.server or "").rstrip("/") == client.base_url
            and b.has_base):
        bases = base_of(b)
        if bases is not None:
            before, when = readcheck.ids_of(bases[1]), b.pulled_at
    if before is None:
        before, when = _roster_ids(race_id, client.base_url)
    readcheck.check(client, race_id, got.participants, before, when, None, "nothing written",
                    "ask RaceEntry's support why its answer lacks them (pull --force writes it as it is)")


def _roster_ids(race_id: int, base_url: str) -> tuple[dict[str, int] | None, float | None]:
    """The sync roster's runners (id -> last_modified) and the time of its last read, if there is one."""
    import sqlite3

    import orjson

    path = roster_path(race_id, base_url)
    if not path.is_file():
        return None, None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            ids = {str(rid): int(lm or 0) for rid, lm in db.execute(
                "SELECT registration_id, last_modified FROM participants")}
            row = db.execute("SELECT value FROM meta WHERE key IN ('read_at', 'full_at') "
                             "ORDER BY key DESC LIMIT 1").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        LOG.info("sync roster %s not read (%s): the read is not compared with it", path, exc)
        return None, None
    return ids or None, float(orjson.loads(row[0])) if row else None
