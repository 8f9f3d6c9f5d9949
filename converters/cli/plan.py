"""Commands that plan: diff, status; and what push shares with them (its options, the plan on screen,
conflicts)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

import click

from .. import progress
from . import echo_json, echo_warnings, file_server_options, main, make_client, profile_name


def plan_options(func: Callable) -> Callable:
    """[RACE_ID] FILE, the server, -p PROFILE and the planning options shared by diff and push. Race id,
    profile and server default to what the file's binding remembers (pull wrote it)."""

    @click.argument("args", nargs=-1, required=True, metavar="[RACE_ID] FILE")
    @file_server_options
    @click.option("-p", "--profile", metavar="PROFILE", callback=profile_name,
                  help="Profile the file was written with: runscore, raceresult, racedayscoring, director, "
                       "raceentry, or a .toml file. Default: the one the file was pulled with.")
    @click.option("--base", "base_path", type=click.Path(dir_okay=False), metavar="SNAPSHOT",
                  help="Participants JSON the file was made from (default: the base in the file's binding, "
                       ".timersync/ beside it). With RaceEntry online this makes the diff three-way.")
    @click.option("--race", "race_path", type=click.Path(dir_okay=False), metavar="FILE",
                  help="Race context for offline work (default: the one in the file's binding).")
    @click.option("--delete", is_flag=True, help="Plan deletions of RaceEntry participants missing from the file.")
    @click.option("--team-type", metavar="ID", help="Team type for teams the file names that RaceEntry lacks.")
    @click.option("--prefer", type=click.Choice(["file", "raceentry"]),
                  help="Settle conflicts (a field changed both in the file and in RaceEntry) this way.")
    @click.option("--skip-invalid", is_flag=True, help="Send the valid rows even when some rows are invalid.")
    @click.option("--new-runner", "new_runners", type=click.IntRange(1), multiple=True, metavar="ROW",
                  help="Add the runner on file row ROW even though they look like one RaceEntry has (same last "
                       "name and date of birth, a similar first name). Repeat for more rows.")
    @click.option("--two-way", is_flag=True,
                  help="For a file whose origin cannot be found (no binding, no recorded version matches): send "
                       "its edits and (with --delete) deletions too. Without it such a file sends adds only.")
    @click.option("--full", is_flag=True,
                  help="Read the whole race from RaceEntry, not only what changed since the file's base.")
    @click.option("--full-after", type=click.FloatRange(0), default=12, show_default=True, metavar="HOURS",
                  help="Read the whole race when the file's base is older than this.")
    @click.option("--encoding", metavar="ENC", help="Encoding of a CSV/TXT file (default: detected; a file whose character set is not clear is "
                       "refused with a guess to give here).")
    @functools.wraps(func)
    def wrapper(*a: Any, args: tuple[str, ...], **kwargs: Any) -> Any:
        if len(args) > 2:
            raise click.UsageError(f"expected [RACE_ID] FILE, got {len(args)} arguments")
        race_id = None
        if len(args) == 2:
            try:
                race_id = int(args[0])
            except ValueError:
                raise click.BadParameter(f"{args[0]!r} is not a race id (a number)", param_hint="RACE_ID") from None
        kwargs["race_id"], kwargs["file"] = race_id, args[-1]
        return func(*a, **kwargs)

    return wrapper


KIND_COLOURS = {"new team": "cyan", "add": "green", "modify": "blue", "switch": "yellow", "delete": "red",
                "CONFLICT": "bright_red", "INVALID": "magenta", "not pushable": "bright_black",
                "cannot tell": "yellow"}


def show_plan(text: str, page: bool = True) -> None:
    """A plan for a person: on a terminal, the kinds coloured (not with NO_COLOR set) and, when longer than
    the screen and someone is there to page (``page``, a terminal on both ends), the whole of it through a
    pager (the summary is its first lines); elsewhere plain text. ``push --yes`` never pages."""
    import os
    import shutil

    if not sys.stdout.isatty():
        click.echo(text)
        return
    if "NO_COLOR" not in os.environ:
        text = colour_kinds(text)
    if page and sys.stdin.isatty() and len(text.splitlines()) > shutil.get_terminal_size((80, 24)).lines - 2:
        click.echo_via_pager(text + "\n")
    else:
        click.echo(text)


def colour_kinds(text: str) -> str:
    """Each table line's kind (add, modify, ..., CONFLICT) in its colour."""
    out = []
    for line in text.splitlines():
        kind = next((k for k in KIND_COLOURS if line.startswith(k + " ")), None)
        if kind:
            line = click.style(kind, fg=KIND_COLOURS[kind], bold=kind.isupper()) + line[len(kind):]
        out.append(line)
    return "\n".join(out)


def tell(message: str) -> None:
    """A line for the timer on stderr (the progress line, if any, gives way first)."""
    progress.clear()
    click.echo(message, err=True)


@main.command()
@plan_options
@click.option("--offline", is_flag=True,
              help="Compare with the base only (the binding's or --base), without asking RaceEntry.")
@click.option("-o", "--output", "plan_dir", type=click.Path(file_okay=False), metavar="PLAN_DIR",
              help="Write the request bodies (teams.json, participants.json, switch_participant_events.json, "
                   "delete_participants.json) and summary.json/summary.txt here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--open", "open_page", is_flag=True,
              help="Open the plan's preview.html in the browser (written to -o, else .timersync/<file>/plan/).")
@click.option("--exit-code", "exit_code", is_flag=True, help="Exit with status 5 when there are changes to push.")
def diff(server: str | None, race_id: int | None, file: str, profile: str | None, base_path: str | None,
         race_path: str | None, delete: bool, team_type: str | None, prefer: str | None, skip_invalid: bool,
         new_runners: tuple[int, ...], two_way: bool, full: bool, full_after: float, encoding: str | None,
         offline: bool,
         plan_dir: str | None, as_json: bool,
         open_page: bool, exit_code: bool) -> None:
    """Show what pushing FILE would change in RaceEntry.

    A file timersync pulled remembers its race, profile and server (its binding, in .timersync/ beside
    it), and what every push of it confirmed: `diff FILE` needs nothing else. Online the comparison is
    three-way (file, base, RaceEntry): a field changed only in RaceEntry is not pushed back, a field
    changed on both sides is a conflict. --offline compares with the base alone. Nothing is sent.

    Example:

    \b
        timersync diff runscore.csv
        timersync diff 2026 race.csv -p runscore -o plan/
    """
    from ..compare.plans import blocked
    from ..compare.summary import summary_text
    from ..errors import ConnectionFailed
    from ..plan import planfolder, planning

    try:
        planned = planning.make(file, race_id=race_id, profile=profile, server=server, offline=offline,
                                base_path=base_path, race_path=race_path, encoding=encoding, delete=delete,
                                team_type=team_type, prefer=prefer, two_way=two_way, new_runners=new_runners,
                                full=full, full_after=full_after, client_for=make_client)
    except ConnectionFailed as exc:
        raise offline_hint(exc, file, "see your edits meanwhile") from None
    plan = planned.plan
    summary = plan.summary()
    summary["warnings"] = planned.warnings
    text = summary_text(plan, skip_invalid=skip_invalid)
    if open_page and not plan_dir:
        from ..plan.binding import binding_dir

        plan_dir = str(binding_dir(planned.target.bind_as) / "plan")
    title = f"{Path(file).name}: plan for RaceEntry race {planned.target.race_id}"
    if plan_dir:
        from ..plan.preview import Where

        planfolder.write_plan(plan, plan_dir, summary, text, title, Where.of_planned(planned))
    if as_json:
        echo_json(summary)
    else:
        progress.clear()
        echo_warnings(summary["warnings"], "Warning: ")
        show_plan(text)
        if plan_dir:
            click.echo(f"Plan written to {plan_dir} (open preview.html to look at it)")
        tell_conflicts(plan, click.get_current_context(), as_json)
    if open_page:
        click.launch(str(Path(plan_dir) / "preview.html"))
    if blocked(plan, skip_invalid):  # never "nothing to do" while rows wait to be fixed
        click.get_current_context().exit(1)
    if exit_code and (not plan.is_empty() or open_conflicts(plan)):
        click.get_current_context().exit(5)


# Exit status of a push that sent what it could but left conflicts unsent (a field changed both in the file
# and in RaceEntry): `--prefer file|raceentry` settles them.
EXIT_CONFLICTS = 8


def open_conflicts(plan: Any) -> list[Any]:
    """The plan's conflicts that nothing settled (no --prefer): they keep a push's exit status at 8."""
    return [c for c in (plan.conflicts if plan is not None else []) if c.resolution == "not pushed"]


def _command_again(ctx: click.Context, extra: list[str]) -> str:
    """The push as the timer gave it (its race, file and the options that shape the plan), with ``extra``
    options: a command to copy and run."""
    params = ctx.params
    args = ["timersync", "push", *(shell_word(a) for a in params.get("args") or ())]
    for name, flag in (("profile", "-p"), ("team_type", "--team-type"), ("encoding", "--encoding"),
                       ("server", "--api-url")):
        if params.get(name):
            args += [flag, shell_word(params[name])]
    args += [flag for name, flag in (("delete", "--delete"), ("two_way", "--two-way"),
                                     ("skip_invalid", "--skip-invalid")) if params.get(name)]
    args += [f"--new-runner {r}" for r in params.get("new_runners") or ()]
    return " ".join(args + extra)


def tell_conflicts(plan: Any, ctx: click.Context, as_json: bool) -> None:
    """Conflicts left unsent: how many, and the exact commands that settle them."""
    from ..compare.summary import plural

    open_ = open_conflicts(plan)
    if not open_ or as_json:
        return
    who = sorted({c.who or f"registration {c.registration_id}" for c in open_})
    names = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
    # One line: the console fits it to the terminal, its continuation indented like every wrapped line.
    lead = "Not sent" if ctx.info_name == "push" else "A push will not send"  # diff sends nothing anyway
    said = (f"{lead}: {plural(len(open_), 'conflict')} ({names}): changed both in the file and in RaceEntry "
            f"since the pull.")
    click.echo(f"{said}\nTo send the file's values, type:\n  "
               f"{_command_again(ctx, ['--prefer', 'file'])}\nTo keep RaceEntry's, type:\n  "
               f"{_command_again(ctx, ['--prefer', 'raceentry'])}", err=True)


def shell_word(name: str) -> str:
    """``name`` as cmd, PowerShell and a POSIX shell all read it (quoted when it needs to be)."""
    name = str(name)
    if not name or any(c.isspace() or c in "\"'&|;<>()$`" for c in name):
        name = '"' + name.replace('"', '\\"') + '"'
    return name


def offline_hint(exc: Exception, file: str, what: str) -> Exception:
    """RaceEntry unreachable: the same error, saying what still works without it."""
    from ..errors import ConnectionFailed

    return ConnectionFailed(f"{exc}; {what} with `timersync diff --offline {shell_word(file)}` (compares with the "
                            f"file as pulled, without RaceEntry)")


@main.command()
@click.argument("file", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(file: str, as_json: bool) -> None:
    """What timersync remembers about FILE: server, race, profile, when it was pulled, the edits no push
    has sent yet, and what the pushes of it confirmed. Reads only local files; nothing is asked of
    RaceEntry.

    Example:

    \b
        timersync status runscore.csv
    """
    import time

    from ..errors import InputError, PlanError
    from ..files.records import check_readable
    from ..plan import binding, planning

    check_readable(file)
    b = binding.load(file)
    if b is None:
        raise PlanError(f"{file}: timersync knows nothing of it (no .timersync/ folder beside it: not pulled here); "
                        f"`timersync pull RACE_ID -p PROFILE -o {file}` makes one")
    race = ((b.context or {}).get("race") or {}).get("name")
    try:
        edits: list[tuple[str | None, str]] | None = planning.unpushed_edits(file)
        unreadable = None
    except (InputError, PlanError) as exc:
        edits, unreadable = None, str(exc)
    pushes = [e for e in b.ledger if not e.get("carried")]
    ops: dict[str, int] = {}
    for e in pushes:
        ops[e.get("op", "?")] = ops.get(e.get("op", "?"), 0) + 1
    last = max((float(e.get("at") or 0) for e in pushes), default=None)

    def when(ts: float | None) -> str | None:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else None

    if as_json:
        echo_json({"file": str(file), "server": b.server, "race_id": b.race_id, "race": race, "profile": b.profile,
                   "pulled_at": when(b.pulled_at), "unpushed_edits": [m for _, m in edits or []],
                   "unreadable": unreadable, "pushed_rows": ops, "last_push": when(last)})
        return
    done = {"add": "added", "modify": "modified", "switch": "switched", "delete": "deleted"}
    click.echo(f"{file}")
    click.echo(f"  server   {b.server or '(not recorded: pulled by an earlier version)'}")
    click.echo(f"  race     {b.race_id}{f' ({race})' if race else ''}")
    click.echo(f"  profile  {b.profile or '(not recorded)'}")
    click.echo(f"  pulled   {when(b.pulled_at) or '(not recorded)'}")
    if unreadable:
        click.echo(f"  edits    cannot tell: {unreadable}")
    else:
        n = len(edits or [])
        click.echo(f"  edits    {n} not pushed yet" if n else "  edits    none not pushed")
        for _, msg in (edits or [])[:10]:
            click.echo(f"           {msg}")
        if n > 10:
            click.echo(f"           ... and {n - 10} more (timersync diff {file})")
    if pushes:
        counts = ", ".join(f"{n} {done.get(op, op)}" for op, n in ops.items())
        click.echo(f"  pushed   {counts} (last {when(last)})")
    else:
        click.echo("  pushed   nothing yet")
