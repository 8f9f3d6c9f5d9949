"""Race-day commands: sync (incremental, repeatable) and watch (the drop folder)."""

from __future__ import annotations

from pathlib import Path

import click

from . import echo_json, echo_warnings, file_server_options, json_option, main, make_client, profile_name


@main.command()
@click.argument("args", nargs=-1, metavar="[RACE_ID] [FILE]")
@file_server_options
@click.option("-p", "--profile", metavar="PROFILE", callback=profile_name,
              help="Profile name (raceresult, runscore, ...) or the path of your own .toml (default: the file's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The timing file to keep current (.csv, .txt or .xlsx); or give it as FILE.")
@click.option("--every", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Repeat every SECONDS until Ctrl-C (on a terminal: one live status line).")
@click.option("--full", is_flag=True, help="Start with a full reconcile (re-read every participant).")
@click.option("--full-every", type=click.IntRange(min=1), default=30, show_default=True, metavar="N",
              help="With --every: a full reconcile every N runs, catching anything an incremental read missed.")
@click.option("--overwrite-edits", is_flag=True,
              help="Replace the file even if it was edited since the last sync (the edited copy is kept as .bak).")
@json_option
def sync(args: tuple[str, ...], server: str | None, profile: str | None,
         output: Path | None, every: float | None, full: bool, full_every: int, overwrite_edits: bool,
         as_json: bool) -> None:
    """Keep a timing file current with RaceEntry, fetching only what changed since the last run.

    The local roster (state folder, sync/) remembers the last full read and every change since. The file
    is rewritten (atomically) only when something it shows changed, and bound (.timersync/ beside it), so
    a file timersync pulled or synced needs nothing else: `timersync sync FILE`. If the file was edited
    since the last sync, it is kept and the fresh data goes to <stem>.incoming.<ext> (unless
    --overwrite-edits). When RaceEntry cannot be reached the last good file stays; a repeated sync catches
    up when it returns.

    Example:

    \b
        timersync sync raceresult.xlsx --every 60
        timersync sync 2026 -p raceresult -o raceresult.xlsx
    """
    from .. import progress
    from ..plan import targets

    race_id, file = _race_and_file(args, output)
    tgt = targets.target(file, race_id=race_id, profile=profile, server=server)
    base_url = tgt.url
    race_id, profile, output = tgt.race_id, tgt.profile, Path(file)
    from ..errors import ApiError, AuthError, ConnectionFailed
    from ..files.profiles import load_profile
    from ..raceday.sync import Syncer, sync_loop
    from ..raceday.sync_outputs import SyncOutput

    load_profile(profile)  # a wrong profile is said before RaceEntry is asked anything
    client = make_client(base_url)
    try:
        client.race(race_id)  # a wrong race id is answered as pull, diff and push answer it
    except (ConnectionFailed, AuthError):
        pass  # RaceEntry down, or no login: the round says so (and keeps the last good file)
    syncer = Syncer(client, race_id, [SyncOutput(profile, output)], full_every=full_every,
                    overwrite_edits=overwrite_edits)

    live = every is not None and progress.enabled()

    def report(result) -> None:  # type: ignore[no-untyped-def]
        if as_json:  # one JSON object per round
            echo_json(_sync_json(result))
            return
        quiet_round = (not result.error and not result.story()
                       and not any(o.wrote or o.error or o.warnings for o in result.outputs))
        if live and quiet_round:  # on a terminal, a round that changed nothing only updates the live line
            progress.say(f"{result.status_line()}; next round in {every:.0f} s (Ctrl-C stops)", force=True)
            return
        click.echo(result.status_line())
        for line in result.story():
            click.echo(line)
        for o in result.outputs:
            echo_warnings(o.warnings, "  warning: ")
            if o.incoming and o.wrote:
                for e in o.edits[:20]:
                    click.echo(f"  edited: {e}{'  [conflict: also changed on RaceEntry]' if e in o.conflicts else ''}")
                if len(o.edits) > 20:
                    click.echo(f"  ... and {len(o.edits) - 20} more")
                click.echo(f"  {o.path.name} kept; fresh data in {o.wrote.name}. Push or re-apply your edits, "
                           f"or run with --overwrite-edits to replace the file.")

    try:
        result = sync_loop(syncer, every, full=full, report=report)
    except KeyboardInterrupt:
        click.echo("Stopped.")
        return
    finally:
        syncer.close()
    if result.error:
        raise ApiError(result.error)
    failed = [o for o in result.outputs if o.error]
    if failed:
        from ..errors import TimersyncError

        raise TimersyncError(f"{failed[0].path}: {failed[0].error}")


def _sync_json(result) -> dict:  # type: ignore[no-untyped-def]
    from dataclasses import fields

    out = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "outputs"}
    out["outputs"] = [{"file": str(o.path), "wrote": str(o.wrote) if o.wrote else None, "incoming": o.incoming,
                       "edits": o.edits, "conflicts": o.conflicts, "warnings": o.warnings, "error": o.error}
                      for o in result.outputs]
    out["status"] = result.status_line()
    out["story"] = result.story()
    return out


def _race_and_file(args: tuple[str, ...], output: Path | None) -> tuple[int | None, str]:
    """[RACE_ID] [FILE] and -o: the race id (None: from the binding) and the file."""
    values = list(args)
    race_id = None
    if values and values[0].isdigit() and (len(values) == 2 or output is not None):
        race_id = int(values.pop(0))
    if output is not None:
        if values:
            raise click.UsageError(f"give the file once: -o {output} or FILE, not both")
        return race_id, str(output)
    if len(values) != 1:
        raise click.UsageError("which file? `timersync sync FILE` (a file timersync pulled), or "
                               "`timersync sync RACE_ID -p PROFILE -o FILE`")
    return race_id, values[0]


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The TOML config (default FOLDER/timersync.toml).")
@click.option("--poll", is_flag=True, help="Poll the folder instead of file-system events (network shares).")
@click.option("--once", is_flag=True, help="Process what is in FOLDER/in now, then exit (1 when a file "
              "went to failed/).")
@json_option
def watch(folder: Path, config_file: Path | None, poll: bool, once: bool, as_json: bool) -> None:
    """Watch a drop folder: files dropped in FOLDER/in are converted or diffed into FOLDER/out.

    A participants .json becomes each configured profile's file (out/<json stem>.<file>); a .csv/.txt/.xlsx
    is diffed against RaceEntry into out/<stem>.plan/ (and pushed when the config says push = true). The
    profile of a dropped file comes from a "<profile>__name.ext" prefix, else from the [[outputs]] entry
    with the same file name, else the one entry with the same extension. A file is taken once it is
    complete (no row short of cells, a line ending after the last row, a whole .xlsx) and unchanged for
    settle_seconds; one still incomplete after incomplete_timeout fails. Processed files move to done/,
    bad ones to failed/ with <name>.error.txt saying what to fix. One watcher per folder. Ctrl-C stops.

    Example:

    \b
        timersync watch race-day/ --poll
    """
    from ..locks import watch_lock
    from ..raceday.watch import Watcher
    from ..raceday.watch_config import load_config

    config = load_config(folder, config_file, poll=poll)
    with watch_lock(config.folder):
        # With --json, one JSON object per processed file (and the summary of --once) on stdout.
        watcher = Watcher(config, report=(lambda line: click.echo(line, err=True)) if as_json else click.echo)
        watcher.start_checks()
        if once:
            summary = watcher.run_once()
            if as_json:
                echo_json({"outcomes": [{"file": o.name, "status": o.status, "message": o.message,
                                         "outputs": o.outputs} for o in summary.outcomes],
                           "summary": summary.line()})
            else:
                click.echo(summary.line())
            if any(o.status == "failed" for o in summary.outcomes):
                click.get_current_context().exit(1)  # a script sees it: a file went to failed/
            return
        click.echo(f"Watching {config.inbox} ({'polling' if config.poll else 'file-system events'}); Ctrl-C stops.")
        try:
            watcher.run_forever()
        except KeyboardInterrupt:
            click.echo("Stopped.")
        finally:
            watcher.stop()
