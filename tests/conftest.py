"""Shared fixtures: a private state folder per test, the bundled RaceEntry-compatible server on a free
loopback port, and a logged-in client. Tests talk to it over real HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(autouse=True)
def state_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("TIMERSYNC_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")  # tables fit the terminal; tests read them unwrapped
    for var in ("TIMERSYNC_API_URL", "RACEENTRY_EMAIL", "RACEENTRY_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    from converters import redact

    redact._known.clear()  # secrets remembered by one test must not mask another test's output
    return home


# The client's contract: these modules run against both behaviours of the rehearsal server (RaceEntry as
# its document shows it, and the least forgiving RaceEntry could be). A test that checks one behaviour's
# own answers is marked @pytest.mark.documented_only.
CONTRACT_MODULES = {"test_pull", "test_diff", "test_push", "test_sync", "test_watch", "test_race_day",
                    "test_doubtful", "test_console", "test_preview", "test_typed", "test_identity",
                    "test_race_weekend"}


def pytest_configure(config):
    config.addinivalue_line("markers", "documented_only: runs against the documented server behaviour only")


def pytest_generate_tests(metafunc):
    if "server" in metafunc.fixturenames and metafunc.module.__name__.split(".")[-1] in CONTRACT_MODULES:
        strict_ok = metafunc.definition.get_closest_marker("documented_only") is None
        metafunc.parametrize("server", ["documented", "strict"] if strict_ok else ["documented"], indirect=True)


@pytest.fixture
def server(request):
    """A fresh server (60 participants, test controls on) per test: tests change its data. It behaves as
    documented, or, for the contract modules, each way in turn."""
    from converters.rehearsal import start_background

    handle = start_background(participants=60, seed=3, test_controls=True,
                              behave=getattr(request, "param", "documented"))
    handle.behave = getattr(request, "param", "documented")
    yield handle
    handle.stop()


@pytest.fixture
def strict_server():
    """A fresh server like ``server`` that behaves strictly (see converters.rehearsal.app)."""
    from converters.rehearsal import start_background

    handle = start_background(participants=60, seed=3, behave="strict", test_controls=True)
    yield handle
    handle.stop()


@pytest.fixture
def client(server):
    from converters.client import RaceEntryClient

    c = RaceEntryClient(server.url, sleep=lambda s: None)
    c.login(server.email, server.password)
    return c


def control(server, what: str, payload=None, method: str = "POST"):
    """Drive the server's test controls (faults, clock, options) over HTTP."""
    resp = requests.request(method, f"{server.root}/_control/{what}", json=payload, timeout=10)
    resp.raise_for_status()
    return resp.json() if resp.content else None


def drop_folder(tmp_path, server, keys: str = "settle_seconds = 0.2\n",
                outputs=(("runscore", "runscore.csv"),)):
    """A drop folder (``drop/in/`` and its ``timersync.toml``) for the server's race: ``keys`` are the
    config's other lines, ``outputs`` its (profile, file) pairs."""
    folder = tmp_path / "drop"
    (folder / "in").mkdir(parents=True)
    (folder / "timersync.toml").write_text(
        f'race_id = {server.race_id}\napi_url = "{server.url}"\n{keys}'
        + "".join(f'[[outputs]]\nprofile = "{p}"\nfile = "{f}"\n' for p, f in outputs), encoding="utf-8")
    return folder


def watch_round(folder, client):
    """One round of a drop folder's watcher (a fresh one, as after a restart): sync, then what is in in/."""
    from converters.raceday.watch import Watcher
    from converters.raceday.watch_config import load_config

    w = Watcher(load_config(folder), client=client)
    w.start_checks()
    return w.run_once()


def has_soffice() -> bool:
    return shutil.which("soffice") is not None or shutil.which("libreoffice") is not None


def snapshot_path_for(path):
    """The base a pulled file is bound to (its binding's base.json.gz; --base reads it as it is)."""
    from converters.plan.binding import binding_dir

    return binding_dir(path) / "base.json.gz"


def context_path_for(path):
    """The race context of a pulled file's binding."""
    from converters.plan.binding import binding_dir

    return binding_dir(path) / "race.json"


def unwrapped(output: str) -> str:
    """Command output with each wrapped line joined again (converters.progress.fit continues a line longer
    than the terminal on lines indented two more spaces), for tests that read one message as one line."""
    import re

    return re.sub(r"\n {2,}(?=\S)", " ", output)
