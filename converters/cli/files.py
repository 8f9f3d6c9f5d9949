"""File commands: profiles (list / show) and convert (JSON <-> CSV/TXT/XLSX through a profile)."""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

from . import echo_json, echo_warnings, json_option, main, profile_name


def profile_option(func: Callable) -> Callable:
    """-p/--profile NAME|PATH: a built-in profile name or the path of your own .toml."""

    @click.option("-p", "--profile", "profile_name", required=True, metavar="NAME|PATH", callback=profile_name,
                  help="Mapping profile: runscore, raceresult, racedayscoring, director, raceentry, "
                       "or the path of your own .toml (see `timersync profiles`).")
    @functools.wraps(func)
    def wrapper(*args: Any, profile_name: str, **kwargs: Any) -> Any:
        from ..files.profiles import load_profile

        kwargs["profile"] = load_profile(profile_name)
        return func(*args, **kwargs)

    return wrapper


@main.group(invoke_without_command=True)
@json_option
@click.pass_context
def profiles(ctx: click.Context, as_json: bool) -> None:
    """List the built-in mapping profiles (one per timing program).

    Example:

    \b
        timersync profiles
        timersync profiles show raceresult > my-raceresult.toml
    """
    if ctx.invoked_subcommand is None:
        from ..files.profiles import list_profiles
        from . import table

        if as_json:
            echo_json([{"profile": name, "description": text} for name, text in list_profiles()])
            return
        click.echo(table([list(item) for item in list_profiles()], ["profile", "description"]))


@profiles.command("show")
@click.argument("name", metavar="NAME|PATH")
def profiles_show(name: str) -> None:
    """Print a profile's TOML so you can copy and adapt it (then pass it with -p PATH).

    Example:

    \b
        timersync profiles show runscore > my-runscore.toml
        timersync convert participants.json entrants.txt -p my-runscore.toml
    """
    from ..files.profiles import load_profile, profile_text

    load_profile(name)  # validates a user's file, and gives the unknown-name message
    click.echo(profile_text(name), nl=False)


@main.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.argument("output_path", metavar="OUTPUT", type=click.Path(dir_okay=False))
@profile_option
@click.option("--teams", "teams_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="A teams response (JSON) to write as the profile's teams table.")
@click.option("--race", "race_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="The race (a races response or one race object): event names and event order.")
@click.option("--encoding", metavar="ENC", help="Encoding of a CSV/TXT input (default: BOM, UTF-16, UTF-8, then Windows-1252 when it reads as names; "
                   "anything else is refused with a guess).")
@json_option
def convert(input_path: str, output_path: str, profile: Any, teams_file: str | None, race_file: str | None,
            encoding: str | None, as_json: bool) -> None:
    """Convert between RaceEntry JSON and a timing program's file; the direction follows the extensions.

    INPUT .json (a participants response as RaceEntry returns it) -> OUTPUT .csv/.txt/.xlsx, or
    INPUT .csv/.txt/.xlsx -> OUTPUT .json (the same grouped response; teams to <stem>-teams.json).

    Example:

    \b
        timersync convert participants.json entrants.xlsx -p raceresult --teams teams.json --race race.json
        timersync convert entrants.xlsx edited.json -p raceresult --race race.json
    """
    from ..plan.convert import convert_path

    result = convert_path(input_path, output_path, profile, teams=teams_file, race=race_file, encoding=encoding)
    if as_json:
        echo_json({"written": [str(p) for p in result.written], "participants": result.participants,
                   "teams": result.teams, "profile": profile.name, "warnings": list(result.warnings)})
        return
    echo_warnings(result.warnings, "Warning: ")
    teams = f" and {result.teams} teams" if result.teams else ""
    click.echo(f"Wrote {', '.join(str(p) for p in result.written)}: {result.participants} participants{teams} "
               f"(profile {profile.name}).", err=True)
