"""Commands that plan and send changes: diff, push."""

from __future__ import annotations

import functools
from pathlib import Path
import sys
from typing import Any, Callable

import click

from . import progress
from .cli import echo_json, echo_warnings, file_server_options, json_option, main, make_client, profile_name


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


def _push_json(result: Any, tgt: Any, url: str, folder: Path | None) -> None:
    from .values import json_ids

    echo_json(json_ids({
        "server": url, "race_id": tgt.race_id, "sent": result.sent,
        "receipt": str(folder / "receipt.csv") if folder is not None else None,
        "plan": result.plan.summary() if result.plan is not None else None,
        "teams_created": [{"name": n, "team_id": t} for n, t in result.teams_created.items()],
        "added": [{"row": r, "registration_id": rid} for r, rid in result.added],
        "modified": result.modified,
        "switched": [{"from_registration_id": a, "registration_id": b} for a, b in result.switched],
        "deleted": [{"registration_id": rid} for rid in result.deleted],
        "refused": [{"row": e.row, "registration_id": e.registration_id, "what": e.what, "message": e.message}
                    for e in result.errors],
        "warnings": result.verified,
        "wiped": [{"row": w.row, "registration_id": w.registration_id, "name": w.name, "field": w.field,
                   "expected": w.expected, "found": w.found, "message": w.message} for w in result.wiped],
        "twins": [{"row": t.row, "name": t.name, "registration_id": t.ours, "twins": t.others,
                   "undo": f"timersync undo-add {tgt.file} {t.ours}"} for t in result.twins]}))


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


def _tell(message: str) -> None:
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
    from . import planfolder, planning
    from .plans import blocked
    from .summary import summary_text

    from .errors import ConnectionFailed

    try:
        planned = planning.make(file, race_id=race_id, profile=profile, server=server, offline=offline,
                                base_path=base_path, race_path=race_path, encoding=encoding, delete=delete,
                                team_type=team_type, prefer=prefer, two_way=two_way, new_runners=new_runners,
                                full=full, full_after=full_after, client_for=make_client)
    except ConnectionFailed as exc:
        raise _offline_hint(exc, file, "see your edits meanwhile") from None
    plan = planned.plan
    summary = plan.summary()
    summary["warnings"] = planned.warnings
    text = summary_text(plan, skip_invalid=skip_invalid)
    if open_page and not plan_dir:
        from .binding import binding_dir

        plan_dir = str(binding_dir(planned.target.bind_as) / "plan")
    title = f"{Path(file).name}: plan for RaceEntry race {planned.target.race_id}"
    if plan_dir:
        from .preview import Where

        planfolder.write_plan(plan, plan_dir, summary, text, title, Where.of_planned(planned))
    if as_json:
        echo_json(summary)
    else:
        progress.clear()
        echo_warnings(summary["warnings"], "Warning: ")
        show_plan(text)
        if plan_dir:
            click.echo(f"Plan written to {plan_dir} (open preview.html to look at it)")
        _tell_conflicts(plan, click.get_current_context(), as_json)
    if open_page:
        click.launch(str(Path(plan_dir) / "preview.html"))
    if blocked(plan, skip_invalid):  # never "nothing to do" while rows wait to be fixed
        click.get_current_context().exit(1)
    if exit_code and (not plan.is_empty() or _open_conflicts(plan)):
        click.get_current_context().exit(5)


@main.command()
@plan_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts).")
@click.option("--max-delete", metavar="N|P%",
              help="Refuse to delete more than N participants (or P% of the race). Default: 10% of the race "
                   "or 25, whichever is smaller.")
@click.option("--max-modify", metavar="N|P%",
              help="Refuse to modify or switch more than N participants (or P% of the race). Default: 10% of "
                   "the race or 25, whichever is larger.")
@click.option("--batch-size", type=click.IntRange(1, 2500), default=100, show_default=True,
              help="Participants per request (deletes: at most 250).")
@click.option("--wait", "lock_wait", type=click.FloatRange(0, 3600), default=60, show_default=True, metavar="SECONDS",
              help="How long to wait for another push of the same race to finish before refusing.")
@click.option("--settle-wait", type=click.FloatRange(0, 3600), default=180, show_default=True, metavar="SECONDS",
              help="After a batch whose answer was lost (timeout, 5xx, a push killed), how long after it was sent "
                   "to wait for its rows to appear in RaceEntry before planning them again.")
@click.option("--write-ids", is_flag=True,
              help="Write the registration ids RaceEntry gave the added runners into FILE (refused if FILE "
                   "changed meanwhile).")
@click.option("--dry-run", is_flag=True, help="Send nothing: show the plan, as `timersync diff FILE` does.")
@json_option
def push(server: str | None, race_id: int | None, file: str, profile: str | None, base_path: str | None,
         race_path: str | None, delete: bool, team_type: str | None, prefer: str | None, skip_invalid: bool,
         new_runners: tuple[int, ...], two_way: bool, full: bool, full_after: float,
         encoding: str | None, yes: bool, max_delete: str | None,
         max_modify: str | None, batch_size: int, lock_wait: float, settle_wait: float, write_ids: bool,
         dry_run: bool, as_json: bool) -> None:
    """Send the changes in FILE to RaceEntry: new teams, then adds and modifies, then event switches, then
    (with --delete) deletions.

    Shows the plan and asks first (--yes for scripts), before the race is locked. One push per race at a
    time: a second one waits (--wait), saying for whom, then refuses. Every batch is journaled before it
    is sent, and every row RaceEntry confirms is recorded beside the file (.timersync/), so pushing the
    same file again never adds a runner twice. If an
    answer is lost or does not confirm every row, the push stops (exit 3) and the next push reads back
    what landed instead of sending it twice (waiting up to --settle-wait for a batch RaceEntry may still
    be applying). Rows RaceEntry rejects are listed by file row (exit 4). Conflicts (a field changed both
    in the file and in RaceEntry) are listed and not pushed unless --prefer settles them (exit 8, with
    the command to type). Deletions are refused above --max-delete and when the file looks truncated.
    `push --dry-run` is `diff`: it shows the plan and sends nothing.

    Exit status: 0 done, 1 error (nothing sent), 2 usage, 3 not confirmed (run it again), 4 some rows
    refused (the rest was sent), 6 a runner added is in RaceEntry twice (undo-add removes ours), 7 RaceEntry
    blanked or altered a field the push did not change (named: put it back, or push the file again), 8
    conflicts left unsent, 130 stopped with Ctrl-C (what landed is said).

    Example:

    \b
        timersync push runscore.csv
        timersync push 2026 race.csv -p runscore --yes
    """
    if dry_run:  # `push --dry-run` is `diff`, with the same plan options
        ctx = click.get_current_context()
        shared = ("args", "api_url", "base_choice", "profile", "base_path", "race_path", "delete", "team_type",
                  "prefer", "skip_invalid", "new_runners", "two_way", "full", "full_after", "encoding", "as_json")
        ctx.invoke(diff, **{k: ctx.params[k] for k in shared if k in ctx.params})
        return

    from . import targets
    from .atomic import file_sha256
    from .records import check_readable

    check_readable(file)  # said first: before "which race?" or a server to reach
    tgt = targets.target(file, race_id=race_id, profile=profile, server=server)
    url = tgt.url
    client = make_client(url)
    before = file_sha256(file) if write_ids and Path(file).is_file() else None
    confirm = _confirmer(tgt, _where(tgt, url), as_json=as_json, yes=yes, skip_invalid=skip_invalid)
    result = _push_rounds(client, file, yes, {
        "race_id": tgt.race_id, "profile": tgt.profile, "base_path": base_path, "race_path": race_path,
        "encoding": encoding, "delete": delete, "max_delete": max_delete, "skip_invalid": skip_invalid,
        "prefer": prefer, "team_type": team_type, "batch_size": batch_size, "two_way": two_way,
        "max_modify": max_modify, "new_runners": new_runners, "full": full, "full_after": full_after,
        "confirm": confirm, "asks": not yes, "progress": _tell, "lock_wait": lock_wait,
        "settle_wait": settle_wait, "settled": tgt})
    if result is None:  # the timer said no
        return
    plan = result.plan
    ctx = click.get_current_context()
    if not result.sent:
        _tell_not_sent(result, tgt, url, ctx, as_json=as_json, yes=yes)
        ctx.exit(EXIT_CONFLICTS if _open_conflicts(plan) else 0)
    folder = _write_push_folder(file, tgt, url, result)
    ids_written = 0
    if write_ids and result.added and before is not None:
        from .write_ids import write_ids as put_ids

        twinned = {t.row for t in result.twins}  # a row in RaceEntry twice keeps no id until undo-add settles it
        ids_written = put_ids(file, tgt.profile, {r: i for r, i in result.added if r not in twinned}, before)
    if as_json:
        _push_json(result, tgt, url, folder)
        ctx.exit(_push_exit(result))
    _tell_pushed(result, tgt, file, folder, ids_written)
    _tell_conflicts(plan, ctx, as_json)
    ctx.exit(_push_exit(result))


def _where(tgt: Any, url: str) -> str:
    """The race a push goes to, in words: "RaceEntry race 2026 on URL", marked when it is production."""
    from .transport import PRODUCTION_URL
    from .state import server_key

    return f"RaceEntry race {tgt.race_id} on {url}" + (
        " (PRODUCTION: the live registrations)" if server_key(url) == server_key(PRODUCTION_URL) else "")


def _confirmer(tgt: Any, where: str, *, as_json: bool, yes: bool, skip_invalid: bool) -> Callable[[Any], bool]:
    """push's ``confirm``: the plan and its target shown (not with --json), then a yes from the timer
    (--yes: given; no terminal to ask on: PlanError, nothing sent)."""
    from .summary import summary_text
    from .errors import PlanError

    def confirm(plan: Any) -> bool:
        # Shown and asked before the race lock is taken (push.push): a timer reading the plan never holds
        # up another push of the race.
        progress.clear()
        if not as_json:
            show_plan(summary_text(plan, skip_invalid=skip_invalid), page=not yes)
            named = where.replace(f"race {tgt.race_id} on", f"race {tgt.race_id} ({plan.race_name}) on", 1)
            click.echo(f"Target: {named if plan.race_name else where}")
        if yes:
            return True
        if not sys.stdin.isatty():
            raise PlanError("nothing was sent: there is no terminal to confirm on; add --yes to push from a script")
        return click.confirm("Push these changes?", default=False)

    return confirm


def _push_rounds(client: Any, file: str, yes: bool, options: dict[str, Any]) -> Any:
    """push.push, shown again (at most three rounds) when the plan changed while on screen and someone is
    there to confirm the new one. The push's result, or None when the timer said no. RaceEntry
    unreachable, Ctrl-C and a stop while sending end here with what to do."""
    from . import push as lib
    from .errors import ConnectionFailed
    from .push_result import StoppedByTimer

    for round_ in range(3):
        try:
            return lib.push(client, file, **options)
        except ConnectionFailed as exc:  # nothing reached RaceEntry (a failure after that says what landed)
            raise _offline_hint(exc, file, "nothing was sent; see your edits meanwhile") from None
        except lib.Cancelled as exc:
            progress.clear()
            click.echo(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            return None
        except lib.PlanChanged as exc:
            if yes or round_ == 2 or not sys.stdin.isatty():
                raise
            _tell(f"{str(exc).split(': nothing was sent')[0]}; here it is again:")
            continue
        except StoppedByTimer as exc:  # Ctrl-C while sending: what landed, what the next push does
            progress.clear()
            click.echo(str(exc), err=True)  # fitted to the terminal by the console, as every line is
            click.get_current_context().exit(exc.exit_code)
        except KeyboardInterrupt:
            progress.clear()
            click.echo("Stopped (Ctrl-C); nothing was sent.", err=True)
            click.get_current_context().exit(130)
    raise AssertionError("unreachable: the third round returns or raises")


def _tell_not_sent(result: Any, tgt: Any, url: str, ctx: click.Context, *, as_json: bool, yes: bool) -> None:
    """A push that sent nothing (nothing to send): the plan, and its conflicts left unsent."""
    from .summary import summary_text

    plan = result.plan
    if as_json:
        _push_json(result, tgt, url, None)
    else:
        show_plan(summary_text(plan), page=not yes)
    _tell_conflicts(plan, ctx, as_json)


def _write_push_folder(file: str, tgt: Any, url: str, result: Any) -> Path:
    """The push's folder beside the file (.timersync/<file>/pushes/<time>/): the plan as sent and the
    receipt."""
    import time

    from . import planfolder
    from .binding import binding_dir
    from .binding import load as load_binding
    from .summary import summary_text
    from .preview import Where

    plan = result.plan
    folder = binding_dir(tgt.bind_as) / "pushes" / time.strftime("%Y%m%d-%H%M%S")
    planfolder.write_plan(plan, folder, plan.summary(), summary_text(plan),
                          f"{Path(file).name}: pushed to RaceEntry race {tgt.race_id}",
                          Where.of_binding(url, load_binding(tgt.bind_as)))
    planfolder.write_receipt(folder, result)
    return folder


def _tell_pushed(result: Any, tgt: Any, file: str, folder: Path, ids_written: int) -> None:
    """What a push did, for the timer: the counts, where the ids and the receipt are, then on stderr the
    warnings, the rows refused, the fields RaceEntry wiped and the runners now in RaceEntry twice."""
    from . import planfolder
    from .summary import plural

    click.echo(f"Pushed to race {tgt.race_id}: {plural(len(result.teams_created), 'team')} created, "
               f"{len(result.added)} added, {result.modified} modified, {len(result.switched)} switched, "
               f"{len(result.deleted)} deleted.")
    if ids_written:
        click.echo(f"Wrote the new registration ids into {Path(file).name} ({plural(ids_written, 'row')}).")
    elif result.added:
        click.echo("timersync remembers the added runners' ids (.timersync/ beside the file):\n"
                   "pushing this file again never adds them twice. --write-ids puts them in the file.")
    click.echo(f"Receipt (file row, runner, registration id): {folder / 'receipt.csv'}")
    for problem in result.verified:
        click.echo(f"Warning: {problem}", err=True)
    if result.errors:
        names = planfolder.row_names(result.plan)
        for e in result.errors:
            click.echo(f"Refused by RaceEntry: {_refused_where(e, names)}: {e.message}", err=True)
        click.echo(f"{len(result.errors)} row{'s' if len(result.errors) != 1 else ''} refused; the rest was sent.",
                   err=True)
    for w in result.wiped:
        click.echo(f"Wiped: {w.message}", err=True)
    if result.twins:
        _tell_twins(result.twins, file)


# Exit status of a push that sent what it could but left conflicts unsent (a field changed both in the file
# and in RaceEntry): `--prefer file|raceentry` settles them.
EXIT_CONFLICTS = 8


def _open_conflicts(plan: Any) -> list[Any]:
    return [c for c in (plan.conflicts if plan is not None else []) if c.resolution == "not pushed"]


def _push_exit(result: Any) -> int:
    """The exit status of a push, the most pressing first: a runner twice (6), a field RaceEntry
    blanked (7), rows refused (4), conflicts left unsent (8), else 0."""
    from .push_result import EXIT_WIPED

    if result.twins:
        return 6
    if result.wiped:
        return EXIT_WIPED
    if result.errors:
        return 4
    return EXIT_CONFLICTS if _open_conflicts(result.plan) else 0


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


def _tell_conflicts(plan: Any, ctx: click.Context, as_json: bool) -> None:
    """Conflicts left unsent: how many, and the exact commands that settle them."""
    from .summary import plural

    open_ = _open_conflicts(plan)
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


def _refused_where(e: Any, names: dict[Any, str]) -> str:
    """A refused row in the timer's words: the file's row, the runner, and what was asked."""
    what = {"add": "adding them", "modify": "the change", "switch": "the event switch",
            "delete": "removing them"}.get(e.what, e.what)
    if e.row is None:
        return f"registration {e.registration_id} ({what})"
    name = names.get(e.row)
    rid = f", registration {e.registration_id}" if e.registration_id else ""
    return f"row {e.row}{f' ({name}{rid})' if name else (f' (registration {e.registration_id})' if rid else '')}, {what}"


def shell_word(name: str) -> str:
    """``name`` as cmd, PowerShell and a POSIX shell all read it (quoted when it needs to be)."""
    name = str(name)
    if not name or any(c.isspace() or c in "\"'&|;<>()$`" for c in name):
        name = '"' + name.replace('"', '\\"') + '"'
    return name


def _offline_hint(exc: Exception, file: str, what: str) -> Exception:
    """RaceEntry unreachable: the same error, saying what still works without it."""
    from .errors import ConnectionFailed

    return ConnectionFailed(f"{exc}; {what} with `timersync diff --offline {shell_word(file)}` (compares with the "
                            f"file as pulled, without RaceEntry)")


def _tell_twins(twins: list[Any], file: str) -> None:
    """Each runner this push added who is in RaceEntry twice, and the command that removes ours."""
    name = shell_word(file)
    for t in twins:
        others = " and ".join(t.others)
        click.echo(f"Duplicate: row {t.row}, {t.name}, is in RaceEntry twice: {t.ours} (added by this push)\n"
                   f"  and {others} (added at the same moment elsewhere). To remove this push's one, type:\n"
                   f"  timersync undo-add {name} {t.ours}", err=True)


@main.command("undo-add")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("registration_id")
@file_server_options
@click.option("--wait", "lock_wait", type=click.FloatRange(0, 3600), default=60, show_default=True, metavar="SECONDS",
              help="How long to wait for a push of the same race to finish before refusing.")
def undo_add(server: str | None, file: str, registration_id: str, lock_wait: float) -> None:
    """Remove REGISTRATION_ID, a runner a push of FILE added who is in RaceEntry twice (two computers added
    the same runner at the same moment; push names both and exits 6).

    Only when this computer's push journal shows it added REGISTRATION_ID and the twin is still in
    RaceEntry; the removal is journaled like any delete, and FILE's row is tied to the twin from then on.
    Anything else: nothing is sent.

    Example:

    \b
        timersync undo-add runscore.csv 1213
    """
    from . import push as lib
    from . import targets

    if not registration_id.strip().isdigit():
        raise click.BadParameter(f"{registration_id!r} is not a registration id", param_hint="REGISTRATION_ID")
    tgt = targets.target(file, server=server)
    client = make_client(tgt.url)
    name, keep = lib.undo_add(client, file, registration_id, race_id=tgt.race_id, profile=tgt.profile,
                              lock_wait=lock_wait, progress=_tell)
    click.echo(f"Removed registration {registration_id.strip()} ({name}), the twin a push from here added; "
               f"{keep} stays,\nand {Path(file).name} is tied to it from now on.")


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

    from . import binding, planning
    from .errors import InputError, PlanError

    from .records import check_readable

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
