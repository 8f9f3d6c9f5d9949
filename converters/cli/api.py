"""Commands that talk to RaceEntry directly: login, races, participants, teams, serve."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..rehearsal.defaults import BEHAVIOURS, DEFAULT_PASSWORD, QUIRKS
from . import api_options, echo_json, echo_warnings, json_option, main, make_client, profile_name, table


def _quirks_epilog() -> str:
    """serve --help's list of quirks, one each, wrapped to fit 80 columns."""
    import textwrap

    width = max(map(len, QUIRKS))
    lines = ["\b", "Quirks (--quirk NAME, repeatable; each a way RaceEntry may differ):"]
    for name, text in QUIRKS.items():
        lines += textwrap.wrap(text, 76, initial_indent=f"  {name:<{width}}  ",
                               subsequent_indent=" " * (width + 4))
    return "\n".join(lines)


@main.command()
@api_options
@click.option("--email", envvar="RACEENTRY_EMAIL", help="Account email (env RACEENTRY_EMAIL); prompted if missing.")
@click.option("--password", envvar="RACEENTRY_PASSWORD",
              help="Password (env RACEENTRY_PASSWORD); prompted, hidden, if missing. Never stored in a file.")
@click.option("--remember", is_flag=True,
              help="Keep the email and password in the system's credential store (Windows Credential Manager, "
                   "macOS Keychain, Secret Service), so sync --every, watch and long pushes log in again by "
                   "themselves when RaceEntry ends the key.")
@click.option("--forget", is_flag=True, help="Remove what --remember kept for this server, and stop.")
@json_option
def login(base_url: str, email: str | None, password: str | None, remember: bool, forget: bool,
          as_json: bool) -> None:
    """Log in to RaceEntry and keep the key/secret (valid 24 h) in the state folder.

    The password is never stored in a file; with --remember it is kept in the operating system's
    credential store, for unattended work. Logging in again elsewhere with the same account ends this login.
    The server becomes the default for every command (until the next login to another server);
    --api-url, --demo, --production or TIMERSYNC_API_URL still choose another.

    Example:

    \b
        timersync login --api-url http://127.0.0.1:8765/rest --email timer@example.com
    """
    from ..state import forget_login, remember_login

    if forget:
        gone = forget_login(base_url)
        click.echo(f"Forgot the login kept for {base_url}." if gone else f"No login was kept for {base_url}.")
        return
    if not email or not password:  # the prompt names the server: demo, production or a rehearsal?
        from ..client.transport import DEMO_URL, PRODUCTION_URL

        kind = {DEMO_URL: " (the demo)", PRODUCTION_URL: " (PRODUCTION)"}.get(base_url.rstrip("/"), "")
        click.echo(f"Logging in to {base_url}{kind}", err=True)
    if not email:
        email = click.prompt("RaceEntry email")
    if not password:
        password = click.prompt(f"Password for {email} on {base_url}", hide_input=True)
    client = make_client(base_url)
    body = client.login(email, password)
    base_url = client.base_url  # where the login landed: a moved RaceEntry (http -> https) is used from now on
    user = (body.get("user") or {}).get("user") or {}
    name = " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x)
    from ..state import save_default_server

    save_default_server(base_url)
    if remember:
        remember_login(base_url, email, password)
    if as_json:
        echo_json({"server": base_url, "email": email, "name": name or None, "valid_hours": 24, "default": True,
                   "remembered": remember})
        return
    click.echo(f"Logged in to {base_url} as {email}{f' ({name})' if name else ''}; valid for 24 hours.")
    if remember:
        click.echo("The password is kept in this computer's credential store: unattended work logs in again.")
    click.echo(f"Commands use {base_url} from now on, until you log in to another server.")


@main.command()
@api_options
@click.option("--start-date", metavar="YYYY-MM-DD", help="Only races on or after this date.")
@click.option("--end-date", metavar="YYYY-MM-DD", help="Only races on or before this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's own JSON.")
def races(base_url: str, start_date: str | None, end_date: str | None, as_json: bool) -> None:
    """List the races this account can access, with their events.

    Example:

    \b
        timersync races --start-date 2026-04-01 --end-date 2026-04-30
    """
    data = make_client(base_url).races(start_date, end_date)
    if as_json:
        echo_json(data)
        return
    rows = []
    for item in data.get("races", []):
        race = item.get("race") or {}
        events = ", ".join(f"{e.get('event_id')} {e.get('name') or ''}".strip() for e in race.get("events") or [])
        rows.append([race.get("race_id"), race.get("name"), race.get("next_date"), events])
    click.echo(table(rows, ["race_id", "name", "next_date", "events"]))
    click.echo(f"{len(rows)} race{'s' if len(rows) != 1 else ''}")


@main.command()
@api_options
@click.argument("race_id", type=int)
@click.option("--since", type=int, default=0, show_default=True, metavar="UNIX_TS",
              help="Only participants modified at or after this Unix timestamp (0 = everyone).")
@click.option("--removed", is_flag=True, help="Show removed participants instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's own JSON (grouped by event).")
def participants(base_url: str, race_id: int, since: int, removed: bool, as_json: bool) -> None:
    """List a race's participants (or removed participants), grouped by event in --json.

    Example:

    \b
        timersync participants 2026 --since 1764150000 --json
    """
    client = make_client(base_url)
    data = _of_race(client, race_id, lambda: client.participants_answer(race_id, since, removed))
    if as_json:
        echo_json(data.to_json())
        return
    people = data.participants
    rows = [[p.registration_id, p.event_id, p.bib, p.last_name, p.first_name, p.gender, p.dob, p.team_name]
            for p in people]
    click.echo(table(rows, ["reg_id", "event", "bib", "last", "first", "sex", "dob", "team"]))
    click.echo(f"{len(people)} {'removed ' if removed else ''}participant{'s' if len(people) != 1 else ''}")


@main.command()
@api_options
@click.argument("race_id", type=int)
@click.option("--types", "types_", is_flag=True, help="Show team types (with the events they apply to).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's own JSON.")
def teams(base_url: str, race_id: int, types_: bool, as_json: bool) -> None:
    """List a race's teams, or its team types with --types.

    Example:

    \b
        timersync teams 2026 --types
    """
    client = make_client(base_url)
    data: Any = _of_race(client, race_id, lambda: client.team_types(race_id) if types_ else client.teams(race_id))
    if as_json:
        echo_json(data)
        return
    if types_:
        rows = [[t.get("team_type_id"), t.get("team_type"), t.get("max_members"),
                 ", ".join(str(e) for e in t.get("valid_event_ids") or [])] for t in data["race_team_types"]]
        click.echo(table(rows, ["team_type_id", "team_type", "max_members", "valid_event_ids"]))
    else:
        rows = [[t.get("team_id"), t.get("team_type_id"), t.get("team_name"), t.get("team_bib_num")] for t in data]
        click.echo(table(rows, ["team_id", "team_type_id", "team_name", "team_bib_num"]))
    click.echo(f"{len(rows)} {'team types' if types_ else 'teams'}")


def _of_race(client: Any, race_id: int, call: Any) -> Any:
    """``call()``, a read of one race; refused, a race the account cannot see is said as pull, diff, push
    and sync say it (client.unknown_race)."""
    from ..errors import ApiError, AuthError, ConnectionFailed

    try:
        return call()
    except ApiError as exc:
        if isinstance(exc, (AuthError, ConnectionFailed)):
            raise
        client.race(race_id)  # raises UnknownRace when that is the cause
        raise


@main.command(epilog=_quirks_epilog())
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback (127.0.0.0/8, ::1, localhost) is reachable from "
                   "the network and needs --password (without it, one is made up and printed).")
@click.option("--port", default=8765, show_default=True, type=int, help="Port (0 = any free port).")
@click.option("--password", default=None,
              help=f"Password of the server's account. Default on loopback: {DEFAULT_PASSWORD}.")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="SQLite file to keep the data in (reused if it exists). Default: a temporary file.")
@click.option("--participants", "count", default=500, show_default=True, type=int,
              help="How many participants to generate in the main race.")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed for the generated race.")
@click.option("--behave", type=click.Choice(BEHAVIOURS), default="documented", show_default=True,
              help="documented: what RaceEntry's Timer API document shows. strict: the least forgiving reading "
                   "(a bad row refuses the whole request, HTTP 400/401 errors, new ids on switch, an update "
                   "replaces the record).")
@click.option("--test-controls", is_flag=True,
              help="Also answer the test controls under /_control (faults, clock, options), which need no "
                   "password. Off by default.")
@click.option("--quirk", "quirks", multiple=True, type=click.Choice(list(QUIRKS)), metavar="NAME",
              help="Also behave in this way RaceEntry plausibly has beside its document, to rehearse it "
                   "(repeatable; the quirks are listed below).")
@json_option
def serve(host: str, port: int, password: str | None, db: str | None, count: int, seed: int, behave: str,
          test_controls: bool, as_json: bool, quirks: tuple[str, ...] = ()) -> None:
    """Run the bundled RaceEntry-compatible server, to rehearse against before race day.

    It implements login and every documented endpoint on SQLite, seeded with a realistic race.

    Example:

    \b
        timersync serve --port 8765 --participants 2000
        timersync serve --behave strict --test-controls
        timersync serve --quirk page-cap --quirk replace-updates
    """
    from ..rehearsal import DEFAULT_EMAIL, is_loopback, serve_forever, serve_password

    given = password
    password, generated = serve_password(host, password)

    def ready(handle: Any) -> None:
        if as_json:  # one line a script can read, then the server runs
            from ..jsonio import dumps

            click.echo(dumps({"server": handle.url, "race_id": handle.race_id, "participants": count,
                              "behave": behave, "quirks": list(quirks), "email": handle.email,
                              "password_made_up": handle.password if generated else None,
                              "test_controls": test_controls}, pretty=False).decode())
            sys.stdout.flush()
            return
        # The address and the login command stand on lines of their own, short enough to copy whole.
        strict = ", behaving strictly" if behave == "strict" else ""
        click.echo(f"RaceEntry-compatible server on {handle.url}")
        password = ("the password you gave" if given else f"password {handle.password}"
                    + (", made up for this run" if generated else ""))
        click.echo(f"Race {handle.race_id}, {count} participants{strict}.")
        if quirks:
            click.echo(f"Quirks: {', '.join(quirks)} (serve --help says what each does).")
        click.echo(f"Log in as {handle.email} ({password}) with:")
        click.echo(f"  timersync login --api-url {handle.url}")
        if not is_loopback(host):
            click.echo(f"warning: listening on {host or 'every address'}: the server is reachable from the "
                       "network; anyone who can reach it and knows the password can log in", err=True)
        if test_controls:
            click.echo(f"warning: test controls are on: {handle.root}/_control/ changes the server without a "
                       "password", err=True)
        click.echo("Ctrl-C stops it.")

    from .. import progress

    progress.say(f"preparing the race ({count:,} participants)", force=True)
    try:
        serve_forever(host, port, db, count, seed, DEFAULT_EMAIL, password, on_ready=ready, behave=behave,
                      test_controls=test_controls, quirks=quirks)
    except (ValueError, OSError) as e:
        raise click.ClickException(f"cannot serve on {host}:{port}: {e}") from None


def _load_profile(name: str) -> Any:
    from ..files.profiles import load_profile

    return load_profile(name)


@main.command()
@api_options
@click.argument("race_id", type=int)
@click.option("-p", "--profile", "profile_name", required=True, metavar="PROFILE", callback=profile_name,
              help="Profile name (see `timersync profiles`) or a path to your own .toml.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write: .csv, .txt or .xlsx.")
@click.option("--snapshot", type=click.Path(dir_okay=False),
              help="Also keep the fetched JSON here (the file's binding in .timersync/ beside it holds it anyway).")
@click.option("--force", is_flag=True, help="Replace the file even when it holds edits not pushed yet (kept as .bak).")
@json_option
def pull(base_url: str, race_id: int, profile_name: str, output: str, snapshot: str | None, force: bool,
         as_json: bool) -> None:
    """Fetch a race's participants and teams and write them as PROFILE's file.

    The file is bound (in .timersync/ beside it): its server, race, profile and the fetched JSON as the
    base for a later `diff FILE`/`push FILE`, which then need nothing else. A file holding edits that no
    push has sent yet is not replaced unless --force (the replaced file is kept as <file>.bak).

    Example:

    \b
        timersync pull 2026 -p raceresult -o raceresult.xlsx
    """
    from ..plan.pull import pull as do_pull

    prof = _load_profile(profile_name)
    result = do_pull(make_client(base_url), race_id, prof, output, snapshot, force=force)
    if as_json:
        echo_json({"file": str(result.output), "race_id": race_id, "participants": result.participants,
                   "teams": result.teams, "warnings": result.warnings, "binding": str(result.binding),
                   "backup": str(result.backup) if result.backup else None})
        return
    echo_warnings(result.warnings, listed_in=result.binding / "warnings.txt")
    click.echo(f"Wrote {result.output} ({result.participants} participants, {result.teams} teams)")
    if result.backup:
        click.echo(f"The previous {result.output.name} is kept as {result.backup.name}")


@main.command()
@click.option("-o", "--output-dir", default="timersync-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder to write the demo files into.")
@click.option("--participants", "count", default=300, show_default=True, type=int,
              help="How many participants the demo race has.")
@json_option
def demo(output_dir: str, count: int, as_json: bool) -> None:
    """Start the bundled RaceEntry-compatible server in-process, pull its race into every profile's
    files (every kind each profile declares) and print what was written.

    Example:

    \b
        timersync demo -o ./timersync-demo
    """
    import tempfile
    from pathlib import Path

    from ..client import RaceEntryClient
    from ..files.profiles import list_profiles
    from ..plan.pull import fetch
    from ..plan.pull import pull as do_pull
    from ..rehearsal import start_background

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="timersync-demo-") as tmp:
        # race-events: the races answer lists the events with their names (as RunSignup's does), so the
        # files show event names, not the ids a RaceEntry that lists none leaves there
        handle = start_background(db=str(Path(tmp) / "raceentry.sqlite"), participants=count, seed=1,
                                  quirks=["race-events"])
        try:
            client = RaceEntryClient(handle.url)
            client.login(handle.email, handle.password)
            fetched = fetch(client, handle.race_id)  # one read of the race serves every file
            from ..model.answers import parse_teams

            if not as_json:  # the race as RaceEntry lists it now: what every file holds
                click.echo(f"Bundled RaceEntry server on {handle.url}\n(race {handle.race_id}, "
                           f"{len(fetched.participants)} participants, {len(parse_teams(fetched.teams_raw))} teams)")
            from ..notices import group

            rows, told = [], []
            for name, _description in list_profiles():
                prof = _load_profile(name)
                for kind in prof.kinds:
                    target = out / f"{name}.{kind}"
                    result = do_pull(client, handle.race_id, prof, target, fetched=fetched)
                    said = group(result.warnings)  # one line per kind: the count the table shows
                    teams = result.teams if prof.team_columns else 0  # a profile without a teams table writes none
                    rows.append([str(target), result.participants, teams, len(said)])
                    told += [f"{target}:"] + [f"  {line}" for line in said] if said else []
            warnings_file = out / "warnings.txt"
            from ..atomic import write_text
            from ..progress import fit

            write_text(warnings_file, "".join(f"{fit(line, 80)}\n" for line in told) or "No warnings.\n")
            if as_json:
                echo_json({"server": handle.url, "race_id": handle.race_id, "warnings_file": str(warnings_file),
                           "files": [{"file": f, "participants": n, "teams": t, "warnings": w}
                                     for f, n, t, w in rows]})
                return
            from . import table

            click.echo(table(rows, ["file", "participants", "teams", "warnings"]))
            click.echo(f"What each warning says, and whether you must act: {warnings_file}")
            click.echo(f"Each file is bound in {out / '.timersync'}/ (race, profile, base).\n"
                       f"The demo server has stopped; compare a file you edit with its base:\n"
                       f"  timersync diff --offline {out / 'runscore.csv'}")
        finally:
            handle.stop()
