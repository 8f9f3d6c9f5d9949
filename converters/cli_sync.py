"""Race-day commands: sync (incremental, repeatable) and watch (the drop folder)."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import api_options, main, make_client


@main.command()
@api_options
@click.argument("race_id", type=int)
@click.option("-p", "--profile", required=True, metavar="PROFILE",
              help="Profile name (raceresult, runscore, ...) or the path of your own .toml.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The timing file to keep current (.csv, .txt or .xlsx).")
@click.option("--every", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Repeat every SECONDS until Ctrl-C, one status line per run.")
@click.option("--full", is_flag=True, help="Start with a full reconcile (re-read every participant).")
@click.option("--full-every", type=click.IntRange(min=1), default=30, show_default=True, metavar="N",
              help="With --every: a full reconcile every N runs, catching anything an incremental read missed.")
@click.option("--overwrite-edits", is_flag=True,
              help="Replace the file even if it was edited since the last sync (the edited copy is kept as .bak).")
def sync(base_url: str, race_id: int, profile: str, output: Path, every: float | None, full: bool,
         full_every: int, overwrite_edits: bool) -> None:
    """Keep OUTPUT current with RaceEntry, fetching only what changed since the last run.

    The local roster (state folder, sync/) remembers the last full read and every change since. The file
    is rewritten (atomically) only when something it shows changed, and bound (.timersync/ beside it) so
    `diff FILE` and `push FILE` need nothing else. If the file was edited since the last sync, it is kept and the fresh
    data goes to <stem>.incoming.<ext> (unless --overwrite-edits). When RaceEntry cannot be reached the
    last good file stays; a repeated sync catches up when it returns.

    Example:

    \b
        timersync sync 2026 -p raceresult -o raceresult.xlsx --every 60
    """
    from .errors import ApiError
    from .sync import SyncOutput, Syncer, sync_loop

    syncer = Syncer(make_client(base_url), race_id, [SyncOutput(profile, output)], full_every=full_every,
                    overwrite_edits=overwrite_edits)

    def report(result) -> None:  # type: ignore[no-untyped-def]
        click.echo(result.status_line())
        for o in result.outputs:
            for w in o.warnings:
                click.echo(f"  warning: {w}", err=True)
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
        from .errors import TimersyncError

        raise TimersyncError(f"{failed[0].path}: {failed[0].error}")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The TOML config (default FOLDER/timersync.toml).")
@click.option("--poll", is_flag=True, help="Poll the folder instead of file-system events (network shares).")
@click.option("--once", is_flag=True, help="Process what is in FOLDER/in now, then exit.")
def watch(folder: Path, config_file: Path | None, poll: bool, once: bool) -> None:
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
    from .locks import watch_lock
    from .watch import Watcher, load_config

    config = load_config(folder, config_file, poll=poll)
    with watch_lock(config.folder):
        watcher = Watcher(config, report=click.echo)
        watcher.start_checks()
        if once:
            summary = watcher.run_once()
            click.echo(summary.line())
            return
        click.echo(f"Watching {config.inbox} ({'polling' if config.poll else 'file-system events'}); Ctrl-C stops.")
        try:
            watcher.run_forever()
        except KeyboardInterrupt:
            click.echo("Stopped.")
        finally:
            watcher.stop()
