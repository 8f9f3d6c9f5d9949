"""What the drop folder does with one settled input: a participants ``.json`` becomes every configured
output in ``out/``; a ``.csv``/``.txt``/``.xlsx`` timing file (a workbook read in a child process first) is
planned against RaceEntry into ``out/<stem>.plan/`` and, with ``push = true``, pushed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from ..plan import planfolder, planning
from .. import push
from ..model.answers import Answer, decode_participants, parse_participants, parse_teams
from ..atomic import write_text
from ..plan.binding import bind, profile_ref
from ..errors import ConnectionFailed, InputError, ProfileError, SchemaError, ShapeError
from ..jsonio import load_bytes, loads
from ..notices import group
from ..plan.planfolder import write_receipt
from ..plan.preview import Where
from ..files.profiles import load_profile
from ..model.races import with_events
from ..compare.summary import plural, summary_text
from .watch_config import OutputSpec, WatchConfig
from ..files.writer import write_file
from ..files.xlsx_guard import read_isolated

LOG = logging.getLogger("timersync.watch")

TABLE_KINDS = ("csv", "txt", "xlsx")


class DropHandler:
    """Turns one input into its outputs (:meth:`handle`). ``context`` gives the race, teams and team types;
    ``unsent`` names the profile of a plan just written that ``push = false`` kept back."""

    def __init__(self, config: WatchConfig, client: Any, report: Callable[[str], None],
                 context: Callable[[], dict[str, Any]]):
        self.config = config
        self.client = client
        self.report = report
        self.context = context
        self.unsent: str | None = None

    def handle(self, path: Path) -> list[str]:
        """The outputs made from ``path`` (as reported); raises for a file that cannot be handled."""
        kind = path.suffix.lower().lstrip(".")
        if kind == "json":
            return self.convert_json(path)
        if kind == "xlsx":
            read_isolated(path)  # a workbook that crashes a native reader crashes a child, not the watcher
        if kind in TABLE_KINDS:
            return self.plan_table(path)
        raise InputError(f"unsupported file type {path.suffix or '(no extension)'!r}; drop a participants "
                         f".json, or a .csv/.txt/.xlsx timing file", file=path.name)

    # --------------------------------------------------------------------------------------- JSON
    def convert_json(self, path: Path) -> list[str]:
        """Write every configured output from a participants JSON, each bound to the race."""
        data, participants = read_participants(path)
        try:
            context = self.context()
        except ConnectionFailed:
            context = {}  # convert offline: event names stay blank (reported as a warning by write_file)

        race, note = with_events(context.get("race"), data, self.config.race_id)
        if note:
            self.report(f"{path.name}: warning: {note}")
        teams_raw = context.get("teams")
        teams = parse_teams(teams_raw) if teams_raw is not None else None
        written = []
        for spec in self.config.outputs:
            out = self.config.outbox / f"{path.stem}.{spec.file}"
            for w in group(write_file(out, participants, spec.profile, race=race, teams=teams)):
                LOG.info("%s -> %s: %s", path.name, out.name, w)
                self.report(f"{path.name} -> out/{out.name}: warning: {w}")
            bind(out, server=self.client.base_url, race_id=self.config.race_id, profile=spec.profile, base=data,
                 race=race, teams=teams_raw, team_types=context.get("team_types"))
            written.append(f"out/{out.name}")
        return written

    # -------------------------------------------------------------------------------------- tables
    def profile_for(self, path: Path) -> tuple[Any, OutputSpec | None]:
        """The profile of a dropped table: ``<profile>__name.ext`` prefix, then the entry with the same file
        name, then the only entry with the same extension."""
        name = path.name
        if "__" in name:
            prefix = name.split("__", 1)[0]
            for spec in self.config.outputs:
                if prefix in (spec.profile_name, spec.profile.name):
                    return spec.profile, spec
            try:
                return load_profile(prefix), None
            except ProfileError as exc:
                raise ProfileError(f"{name}: the prefix before '__' names the profile: {exc}") from None
        for spec in self.config.outputs:
            if spec.file.lower() == name.lower():
                return spec.profile, spec
        kind = path.suffix.lower().lstrip(".")
        same = [s for s in self.config.outputs if s.kind == kind]
        if len(same) == 1:
            return same[0].profile, same[0]
        names = ", ".join(s.profile_name for s in self.config.outputs)
        raise ProfileError(f"{name}: cannot tell which profile this .{kind} file uses; name it "
                           f"<profile>__{name} (one of: {names})")

    def plan_table(self, path: Path) -> list[str]:
        """Diff a timing file against RaceEntry into ``out/<stem>.plan/`` (and push it when configured).

        The dropped file is bound as ``out/<the output's file name>``: the synced file's binding (its base,
        and the ledger of what pushes of such files confirmed), so the same edits dropped twice are never
        added twice."""
        profile, spec = self.profile_for(path)
        bind_as = self.config.outbox / (spec.file if spec is not None else path.name)
        cfg = self.config
        planned = planning.make(path, client=self.client, race_id=cfg.race_id, profile=profile_name(profile),
                                server=self.client.base_url, bind_as=bind_as, encoding=cfg.encoding,
                                two_way=cfg.two_way)
        plan = planned.plan
        folder = cfg.outbox / f"{path.stem}.plan"
        folder.mkdir(exist_ok=True)
        summary = plan.summary()
        summary["source"] = path.name
        summary["profile"] = getattr(profile, "name", str(profile))
        text = f"{path.name} against RaceEntry race {cfg.race_id}:\n{summary_text(plan)}"
        # The same files as `timersync diff -o`: the exact request bodies, each checked against its schema.

        planfolder.write_plan(plan, folder, summary, text, f"{path.name}: plan for RaceEntry race {cfg.race_id}",
                              Where.of_planned(planned))
        written = [plan_folder_line(folder, plan.counts())]
        if plan.is_empty():
            written.append("nothing to send (the file agrees with RaceEntry)")
        elif cfg.push:
            outcome = self.push(path, profile, bind_as, folder)
            write_text(folder / "summary.txt", f"{text}\n{outcome}\n")
            written.append(outcome)
        else:
            written.append(f"nothing sent (push = false in {cfg.path.name})")
            self.unsent = profile_name(profile)
        return written

    def push(self, path: Path, profile: Any, bind_as: Path, folder: Path) -> str:
        """Push with push's own guards and lock: it plans again inside the race's push lock, reconciles
        interrupted batches first, reports and skips conflicts, and refuses invalid rows and oversized
        deletes with a PlanError."""
        result = push.push(self.client, path, race_id=self.config.race_id, profile=profile_name(profile),
                           bind_as=bind_as, lock_wait=self.config.lock_wait, encoding=self.config.encoding,
                           two_way=self.config.two_way)
        if result.sent:
            write_receipt(folder, result)
        errors = f", {len(result.errors)} row errors" if result.errors else ""
        return (f"pushed: {len(result.added)} added, {result.modified} modified, {len(result.switched)} switched, "
                f"{len(result.deleted)} deleted{errors}")


def read_participants(path: Path) -> tuple[Any, Any]:
    """A dropped participants JSON as (the answer or the lenient data, its participants): RaceEntry's exact
    shape, or read leniently; a ShapeError saying what was expected when it is neither, or holds nobody."""
    raw = load_bytes(path)
    try:
        data: Any = decode_participants(raw, path.name)
        participants = data.participants
    except (SchemaError, ShapeError):  # not RaceEntry's exact shape: read it leniently, or say why not
        data = loads(raw, path.name)
        participants = None
    try:
        if participants is None:
            participants = parse_participants(data, path.name)
    except ShapeError as exc:
        raise ShapeError(f"{exc}; expected RaceEntry's participants response (a list of events with "
                         f"participants, as `timersync participants RACE --json` prints)") from None
    if not participants and not (data.groups if isinstance(data, Answer) else isinstance(data, list) and data):
        raise ShapeError(f"{path.name}: no participants in it; expected RaceEntry's participants response")
    return data, participants


def plan_folder_line(folder: Path, counts: dict[str, int]) -> str:
    """``out/<stem>.plan/ (2 adds, 1 modify)``: the plan folder and what its plan would send."""
    what = ", ".join(plural(counts[key], one) for key, one in (("teams", "new team"), ("adds", "add"),
                     ("modifies", "modify"), ("switches", "switch"), ("deletes", "delete")) if counts[key])
    return f"out/{folder.name}/ ({what})" if what else f"out/{folder.name}/"


def profile_name(profile: Any) -> str:
    """A profile as push and planning name it (its file for a user's profile, else its name)."""
    return profile_ref(profile) or str(profile)
