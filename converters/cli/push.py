"""Commands that send changes: push, undo-add. They plan as `diff` does (:mod:`converters.cli.plan`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

from .. import progress
from . import echo_json, file_server_options, json_option, main, make_client
from .plan import (
    EXIT_CONFLICTS,
    diff,
    offline_hint,
    open_conflicts,
    plan_options,
    shell_word,
    show_plan,
    tell,
    tell_conflicts,
)


def _push_json(result: Any, tgt: Any, url: str, folder: Path | None) -> None:
    from ..compare.values import json_ids

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

    from ..atomic import file_sha256
    from ..files.records import check_readable
    from ..plan import targets

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
        "confirm": confirm, "asks": not yes, "progress": tell, "lock_wait": lock_wait,
        "settle_wait": settle_wait, "settled": tgt})
    if result is None:  # the timer said no
        return
    plan = result.plan
    ctx = click.get_current_context()
    if not result.sent:
        _tell_not_sent(result, tgt, url, ctx, as_json=as_json, yes=yes)
        ctx.exit(EXIT_CONFLICTS if open_conflicts(plan) else 0)
    folder = _write_push_folder(file, tgt, url, result)
    ids_written = 0
    if write_ids and result.added and before is not None:
        from ..files.write_ids import write_ids as put_ids

        twinned = {t.row for t in result.twins}  # a row in RaceEntry twice keeps no id until undo-add settles it
        ids_written = put_ids(file, tgt.profile, {r: i for r, i in result.added if r not in twinned}, before)
    if as_json:
        _push_json(result, tgt, url, folder)
        ctx.exit(_push_exit(result))
    _tell_pushed(result, tgt, file, folder, ids_written)
    tell_conflicts(plan, ctx, as_json)
    ctx.exit(_push_exit(result))


def _where(tgt: Any, url: str) -> str:
    """The race a push goes to, in words: "RaceEntry race 2026 on URL", marked when it is production."""
    from ..client.transport import PRODUCTION_URL
    from ..state import server_key

    return f"RaceEntry race {tgt.race_id} on {url}" + (
        " (PRODUCTION: the live registrations)" if server_key(url) == server_key(PRODUCTION_URL) else "")


def _confirmer(tgt: Any, where: str, *, as_json: bool, yes: bool, skip_invalid: bool) -> Callable[[Any], bool]:
    """push's ``confirm``: the plan and its target shown (not with --json), then a yes from the timer
    (--yes: given; no terminal to ask on: PlanError, nothing sent)."""
    from ..compare.summary import summary_text
    from ..errors import PlanError

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
    from .. import push as lib
    from ..errors import ConnectionFailed
    from ..push.result import StoppedByTimer

    for round_ in range(3):
        try:
            return lib.push(client, file, **options)
        except ConnectionFailed as exc:  # nothing reached RaceEntry (a failure after that says what landed)
            raise offline_hint(exc, file, "nothing was sent; see your edits meanwhile") from None
        except lib.Cancelled as exc:
            progress.clear()
            click.echo(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            return None
        except lib.PlanChanged as exc:
            if yes or round_ == 2 or not sys.stdin.isatty():
                raise
            tell(f"{str(exc).split(': nothing was sent')[0]}; here it is again:")
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
    from ..compare.summary import summary_text

    plan = result.plan
    if as_json:
        _push_json(result, tgt, url, None)
    else:
        show_plan(summary_text(plan), page=not yes)
    tell_conflicts(plan, ctx, as_json)


def _write_push_folder(file: str, tgt: Any, url: str, result: Any) -> Path:
    """The push's folder beside the file (.timersync/<file>/pushes/<time>/): the plan as sent and the
    receipt."""
    import time

    from ..compare.summary import summary_text
    from ..plan import planfolder
    from ..plan.binding import binding_dir
    from ..plan.binding import load as load_binding
    from ..plan.preview import Where

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
    from ..compare.summary import plural
    from ..plan import planfolder

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


def _push_exit(result: Any) -> int:
    """The exit status of a push, the most pressing first: a runner twice (6), a field RaceEntry
    blanked (7), rows refused (4), conflicts left unsent (8), else 0."""
    from ..push.result import EXIT_WIPED

    if result.twins:
        return 6
    if result.wiped:
        return EXIT_WIPED
    if result.errors:
        return 4
    return EXIT_CONFLICTS if open_conflicts(result.plan) else 0


def _refused_where(e: Any, names: dict[Any, str]) -> str:
    """A refused row in the timer's words: the file's row, the runner, and what was asked."""
    what = {"add": "adding them", "modify": "the change", "switch": "the event switch",
            "delete": "removing them"}.get(e.what, e.what)
    if e.row is None:
        return f"registration {e.registration_id} ({what})"
    name = names.get(e.row)
    rid = f", registration {e.registration_id}" if e.registration_id else ""
    who = f" ({name}{rid})" if name else (f" (registration {e.registration_id})" if rid else "")
    return f"row {e.row}{who}, {what}"


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
    from .. import push as lib
    from ..plan import targets

    if not registration_id.strip().isdigit():
        raise click.BadParameter(f"{registration_id!r} is not a registration id", param_hint="REGISTRATION_ID")
    tgt = targets.target(file, server=server)
    client = make_client(tgt.url)
    name, keep = lib.undo_add(client, file, registration_id, race_id=tgt.race_id, profile=tgt.profile,
                              lock_wait=lock_wait, progress=tell)
    click.echo(f"Removed registration {registration_id.strip()} ({name}), the twin a push from here added; "
               f"{keep} stays,\nand {Path(file).name} is tied to it from now on.")

