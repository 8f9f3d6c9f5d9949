"""Commands that plan and send changes: diff, push."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import click

from .cli import api_options, echo_json, main, make_client


def plan_options(func: Callable) -> Callable:
    """RACE_ID FILE -p PROFILE and the planning options shared by diff and push."""

    @click.argument("race_id", type=int)
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("-p", "--profile", required=True, metavar="PROFILE",
                  help="Profile the file was written with: runscore, raceresult, racedayscoring, director, "
                       "raceentry, or a .toml file.")
    @click.option("--base", "base_path", type=click.Path(dir_okay=False), metavar="SNAPSHOT",
                  help="Participants JSON the file was made from (default: <file>.snapshot.json beside the "
                       "file, if any). With RaceEntry online this makes the diff three-way.")
    @click.option("--race", "race_path", type=click.Path(dir_okay=False), metavar="FILE",
                  help="Race context for offline work (default: <file>.race.json beside the file).")
    @click.option("--delete", is_flag=True, help="Plan deletions of RaceEntry participants missing from the file.")
    @click.option("--team-type", metavar="ID", help="Team type for teams the file names that RaceEntry lacks.")
    @click.option("--prefer", type=click.Choice(["file", "raceentry"]),
                  help="Settle conflicts (a field changed both in the file and in RaceEntry) this way.")
    @click.option("--skip-invalid", is_flag=True, help="Send the valid rows even when some rows are invalid.")
    @click.option("--encoding", metavar="ENC", help="Encoding of a CSV/TXT file (default: detected).")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@main.command()
@api_options
@plan_options
@click.option("--offline", is_flag=True,
              help="Compare with the base only (--base or the snapshot), without asking RaceEntry.")
@click.option("-o", "--output", "plan_dir", type=click.Path(file_okay=False), metavar="PLAN_DIR",
              help="Write the request bodies (teams.json, participants.json, switch_participant_events.json, "
                   "delete_participants.json) and summary.json/summary.txt here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def diff(base_url: str, race_id: int, file: str, profile: str, base_path: str | None, race_path: str | None,
         delete: bool, team_type: str | None, prefer: str | None, skip_invalid: bool, encoding: str | None,
         offline: bool, plan_dir: str | None, as_json: bool) -> None:
    """Show what pushing FILE would change in RaceEntry race RACE_ID.

    Online, the file is compared with RaceEntry's participants; when a base exists (--base, or the
    snapshot pull left beside the file) the comparison is three-way: a field changed only in RaceEntry is
    not pushed back, a field changed on both sides is a conflict. --offline compares with the base alone.
    Nothing is sent.

    Example:

    \b
        timersync diff 2026 race.csv -p runscore -o plan/
    """
    from . import push as lib
    from .convert import prefetch
    from .diff import summary_text

    pre = prefetch(file)  # parses an .xlsx while the snapshot and RaceEntry's participants load
    if offline:
        _, base = lib.snapshot_base(file, base_path)
        if base is None:
            raise click.UsageError("--offline needs --base SNAPSHOT (or a snapshot beside the file from pull)")
        ctx = lib.load_context(race_id, file, race_path)
        rs = lib.offline_state(race_id, base, ctx)
        data = lib.read_input(file, profile, rs.race, encoding, base, pre)
        plan = lib.plan_for(data, rs, None, delete=delete, team_type=team_type, prefer=prefer)
    else:
        lib.load_context(race_id, file, race_path)  # a snapshot of another race is an error
        client = make_client(base_url)
        rs = lib.race_state(client, race_id)
        _, base = lib.snapshot_base(file, base_path)
        data = lib.read_input(file, profile, rs.race, encoding, base or rs.current, pre)
        plan = lib.plan_for(data, rs, base, delete=delete, team_type=team_type, prefer=prefer,
                            renamed=lib.Journal(race_id).renamed())
    summary = plan.summary()
    summary["warnings"] = list(getattr(data, "warnings", []) or [])
    text = summary_text(plan)
    if plan_dir:
        lib.write_plan(plan, plan_dir, summary, text)
    if as_json:
        echo_json(summary)
        return
    for warning in summary["warnings"]:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(text)
    if plan_dir:
        click.echo(f"Plan written to {plan_dir}")


@main.command()
@api_options
@plan_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option("--max-delete", metavar="N|P%",
              help="Refuse to delete more than N participants (or P% of the race). Default: 10% of the race "
                   "or 25, whichever is smaller.")
@click.option("--batch-size", type=click.IntRange(1, 2500), default=100, show_default=True,
              help="Participants per request (deletes: at most 250).")
def push(base_url: str, race_id: int, file: str, profile: str, base_path: str | None, race_path: str | None,
         delete: bool, team_type: str | None, prefer: str | None, skip_invalid: bool, encoding: str | None,
         yes: bool, max_delete: str | None, batch_size: int) -> None:
    """Send the changes in FILE to RaceEntry race RACE_ID: new teams, then adds and modifies, then event
    switches, then (with --delete) deletions.

    Shows the plan and asks first (--yes for scripts). Every batch is journaled in the state folder before
    it is sent; if an answer is lost the push stops (exit 3) and the next push reads back what landed
    instead of sending it twice. Rows RaceEntry rejects are listed by file row; exit status 2 when some
    rows failed. Conflicts (a field changed both in the file and in RaceEntry since the snapshot) are
    listed and not pushed unless --prefer settles them. Deletions are refused above --max-delete and when
    the file looks truncated.

    Example:

    \b
        timersync push 2026 race.csv -p runscore --yes
    """
    from . import push as lib
    from .diff import summary_text
    from .errors import PlanError

    from .convert import prefetch

    pre = prefetch(file)
    lib.load_context(race_id, file, race_path)
    client = make_client(base_url)
    race = client.race(race_id)
    _, base = lib.snapshot_base(file, base_path)
    data = lib.read_input(file, profile, race, encoding, base, pre)
    for warning in getattr(data, "warnings", []) or []:
        click.echo(f"Warning: {warning}", err=True)

    def confirm(plan: Any) -> bool:
        click.echo(summary_text(plan))
        if yes:
            return True
        if not sys.stdin.isatty():
            raise PlanError("nothing was sent: there is no terminal to confirm on; add --yes to push from a script")
        return click.confirm(f"Push these changes to RaceEntry race {race_id}?", default=False)

    result = lib.push(client, race_id, data, base=base, delete=delete, max_delete=max_delete,
                      skip_invalid=skip_invalid, prefer=prefer, team_type=team_type, batch_size=batch_size,
                      confirm=confirm, progress=lambda msg: click.echo(msg, err=True))
    if not result.sent:
        click.echo(summary_text(result.plan))
        return
    click.echo(f"Pushed to race {race_id}: {len(result.teams_created)} teams created, {len(result.added)} added, "
               f"{result.modified} modified, {len(result.switched)} switched, {len(result.deleted)} deleted.")
    if result.added:
        click.echo("The file has no registration ids for the added runners yet: pull again to get them.")
    for problem in result.verified:
        click.echo(f"Warning: {problem}", err=True)
    if result.errors:
        for e in result.errors:
            where = f"row {e.row}" if e.row is not None else f"registration {e.registration_id}"
            click.echo(f"Failed: {where} ({e.what}): {e.message}", err=True)
        click.echo(f"{len(result.errors)} row{'s' if len(result.errors) != 1 else ''} failed; the rest was sent.",
                   err=True)
        click.get_current_context().exit(2)
