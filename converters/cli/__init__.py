"""Command line: a thin layer over the library. Each command parses options, calls one library function,
and turns TimersyncError into one line on stderr and a non-zero exit (a traceback only with --debug)."""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from typing import Any, Callable

import click

from .. import __version__
from ..errors import TimersyncError
from ..redact import redact

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


# Which module defines each command: a command's module is imported when the command runs (or for
# --help), not every module for every command (about 20 ms of each start).
COMMAND_MODULES = {"login": "api", "races": "api", "participants": "api", "teams": "api",
                   "serve": "api", "pull": "api", "demo": "api", "profiles": "files",
                   "convert": "files", "diff": "plan", "push": "push", "status": "plan", "undo-add": "push",
                   "sync": "sync", "watch": "sync"}


class Group(click.Group):
    """Runs commands so that library errors become one clean line."""

    GLOBAL_FLAGS = ("--debug", "--verbose", "-q", "--quiet")

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMAND_MODULES:
            importlib.import_module(f".{COMMAND_MODULES[name]}", __package__)
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for module in dict.fromkeys(COMMAND_MODULES.values()):
            importlib.import_module(f".{module}", __package__)
        return super().list_commands(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `timersync push race.csv --debug` means what `timersync --debug push race.csv` means (click
        # would otherwise suggest "--demo", a flag that switches servers).
        if args and any(a in self.GLOBAL_FLAGS for a in args[1:]):
            cut = args.index("--") if "--" in args else len(args)
            front = [a for a in args[:cut] if a in self.GLOBAL_FLAGS]
            args = front + [a for a in args[:cut] if a not in self.GLOBAL_FLAGS] + args[cut:]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from .. import progress

        try:
            return super().invoke(ctx)
        except TimersyncError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            progress.clear()
            click.echo(f"Error: {redact(str(exc))}", err=True)
            ctx.exit(getattr(exc, "exit_code", 1))
        except KeyboardInterrupt:
            progress.clear()
            click.echo("Stopped (Ctrl-C).", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `timersync participants 2026 | head`: the reader has what it wanted; end quietly (and keep
            # the interpreter from complaining when it flushes stdout at exit).
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except OSError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            click.echo(f"Error: {where}{redact(exc.strerror or str(exc))}", err=True)
            ctx.exit(1)
        finally:
            progress.clear()
            _print_notes()


def _print_notes() -> None:
    """What RaceEntry sent in another typing than documented, and how it was read: once per command, one
    ``note:`` line per kind on stderr (converters.model.wire.NOTES, filled by the typed decode)."""
    wire = sys.modules.get("converters.model.wire")
    for text in wire.take_notes() if wire else ():
        click.echo(f"note: {text}", err=True)


@click.group(cls=Group, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="timersync")
@click.option("--debug", is_flag=True, help="Show the traceback on errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request (secrets redacted) to stderr and the log file.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line on the terminal during long work.")
@click.pass_context
def main(ctx: click.Context, debug: bool, verbose: bool, quiet: bool) -> None:
    """timersync keeps RaceEntry registrations and race-timing software in step.

    Pull participants into RunScore, Race Result, RaceDay Scoring or The Race Director files, read the
    edited files back, diff them against RaceEntry and push the changes safely.

    Exit status: 0 ok, 1 error, 2 usage, 3 not confirmed (run the same push again), 4 some rows
    refused, 5 `diff --exit-code` found changes, 6 a runner a push added is in RaceEntry twice, 7 a
    field RaceEntry blanked, 8 conflicts left unsent (--prefer), 130 stopped with Ctrl-C.

    Example:

    \b
        timersync demo
    """
    ctx.ensure_object(dict)
    for stream in (sys.stdout, sys.stderr):
        # A Windows-1252 console (or a redirect to a file on Windows) cannot show "Dvořák": show "Dvo?ák"
        # rather than end the command with a traceback.
        if hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="replace")
    ctx.obj["debug"] = debug
    ctx.obj["verbose"] = verbose
    from .. import progress

    progress.enable(progress.for_terminal(quiet or verbose))
    from ..logs import setup_logging

    setup_logging(verbose)


def api_options(func: Callable) -> Callable:
    """--api-url / --demo / --production, shared by every command that talks to RaceEntry."""

    @click.option("--api-url", envvar="TIMERSYNC_API_URL", metavar="URL",
                  help="RaceEntry API base URL (env TIMERSYNC_API_URL). Default: the server of your last "
                       "`timersync login`; before any login, the demo (https://demo.raceentry.com/rest).")
    @click.option("--demo", "base_choice", flag_value="demo", help="Use https://demo.raceentry.com/rest.")
    @click.option("--production", "base_choice", flag_value="production",
                  help="Use https://www.raceentry.com/rest.")
    @functools.wraps(func)
    def wrapper(*args: Any, api_url: str | None, base_choice: str | None, **kwargs: Any) -> Any:
        from ..client import resolve_base_url

        kwargs["base_url"] = resolve_base_url(api_url, base_choice)
        return func(*args, **kwargs)

    return wrapper


def file_server_options(func: Callable) -> Callable:
    """--api-url / --demo / --production for commands on a bound file: passes ``server``, the server asked
    for explicitly (TIMERSYNC_API_URL counts), or None to take the file's own (then the last login's)."""

    @click.option("--api-url", envvar="TIMERSYNC_API_URL", metavar="URL",
                  help="RaceEntry API base URL (env TIMERSYNC_API_URL). Default: the server the file was pulled "
                       "from, else the server of your last `timersync login` (before any login, the demo).")
    @click.option("--demo", "base_choice", flag_value="demo", help="Use https://demo.raceentry.com/rest.")
    @click.option("--production", "base_choice", flag_value="production", help="Use https://www.raceentry.com/rest.")
    @functools.wraps(func)
    def wrapper(*args: Any, api_url: str | None, base_choice: str | None, **kwargs: Any) -> Any:
        from ..client import resolve_base_url

        kwargs["server"] = resolve_base_url(api_url, base_choice) if (api_url or base_choice) else None
        return func(*args, **kwargs)

    return wrapper


def profile_name(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """-p: a built-in profile's name in any capitalisation (``-p RunScore``)."""
    if not value:
        return value
    from ..files.profiles import builtin_name

    return builtin_name(value)


def make_client(base_url: str) -> Any:
    """The RaceEntry client for ``base_url`` (imported here, so `--help` stays fast)."""
    from ..client import RaceEntryClient

    return RaceEntryClient(base_url)


def json_option(func: Callable) -> Callable:
    """--json: print the result as JSON (ids as integers) instead of text."""
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)


def echo_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (for `--json`: scripts read it, so nothing else goes there)."""
    from ..jsonio import dumps

    sys.stdout.buffer.write(dumps(data))
    sys.stdout.flush()


def echo_warnings(warnings: list[str], prefix: str = "warning: ", listed_in: Any = None) -> None:
    """Warnings on stderr, one line per kind (converters.notices.group). ``listed_in``: the file that keeps
    every warning of this run, one a line (named on the last line when grouping left some out; removed
    when there are none, so it never tells of an earlier run)."""
    from pathlib import Path

    from ..notices import group

    lines = group(list(warnings))
    for line in lines:
        click.echo(f"{prefix}{line}", err=True)
    if listed_in is None:
        return
    if warnings:
        from ..atomic import write_text

        write_text(listed_in, "".join(f"{w}\n" for w in warnings))
        if len(lines) < len(warnings):
            click.echo(f"{prefix}each one is listed in {listed_in}", err=True)
    else:
        Path(listed_in).unlink(missing_ok=True)


def table(rows: list[list[Any]], header: list[str]) -> str:
    """A table that fits the terminal (see :func:`converters.progress.table`)."""
    from ..progress import table as fitted

    return fitted(rows, header)


# Commands live in their own modules; importing them registers them on `main`.
# The commands live in cli/api.py, files.py, plan.py, push.py and sync.py, imported on demand (COMMAND_MODULES).


def run() -> None:
    """The `timersync` command (and `python -m converters`): :func:`main`, then an exit that skips
    tearing down the interpreter. Everything is written and flushed by then (files atomically, the log
    by its exit handler, run here), but freeing a 50,000-runner race object by object at exit costs a
    quarter of a second of every command a timer types."""
    import atexit

    try:
        main(standalone_mode=True)
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # sys.exit("message"): said as the interpreter would say it
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()  # the log's flush, temporary folders' clean-up: as a normal exit runs them
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code or 0)
