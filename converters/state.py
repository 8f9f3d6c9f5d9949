"""The state folder: cached credentials, snapshots, push journals, sync rosters, logs.

``TIMERSYNC_HOME`` overrides the platform's user data dir. Credentials are kept for 24 hours (RaceEntry's
key/secret lifetime) in a 0600 file; the password is never stored.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import orjson

from .atomic import write_bytes
from .redact import remember_secret

CREDENTIAL_LIFETIME = 24 * 3600


def home() -> Path:
    env = os.environ.get("TIMERSYNC_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("timersync", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80] or "default"


def _credentials_file() -> Path:
    return home() / "credentials.json"


def _read_all() -> dict[str, Any]:
    path = _credentials_file()
    try:
        data = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        # A corrupt cache is treated as absent: the user logs in again; we never crash on it.
        return {}
    return data if isinstance(data, dict) else {}


def load_credentials(base_url: str, now: float | None = None) -> dict[str, Any] | None:
    """The cached key/secret for ``base_url`` if younger than 24 h (minus a minute of margin)."""
    entry = _read_all().get(base_url)
    if not isinstance(entry, dict) or not entry.get("tmp_key") or not entry.get("tmp_secret"):
        return None
    age = (now or time.time()) - float(entry.get("obtained_at") or 0)
    if age > CREDENTIAL_LIFETIME - 60:
        return None
    remember_secret(entry["tmp_key"])
    remember_secret(entry["tmp_secret"])
    return entry


def save_credentials(base_url: str, tmp_key: str, tmp_secret: str, email: str | None) -> None:
    data = _read_all()
    data[base_url] = {"tmp_key": tmp_key, "tmp_secret": tmp_secret, "email": email, "obtained_at": time.time()}
    path = _credentials_file()
    write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2), private=True)


def forget_credentials(base_url: str) -> None:
    data = _read_all()
    if data.pop(base_url, None) is not None:
        path = _credentials_file()
        write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2), private=True)


def _settings_file() -> Path:
    return home() / "settings.json"


def save_default_server(base_url: str) -> None:
    """The server a login went to: the default of every command until another login."""
    write_bytes(_settings_file(), orjson.dumps({"default_server": base_url.rstrip("/")}, option=orjson.OPT_INDENT_2))


def default_server() -> str | None:
    try:
        data = orjson.loads(_settings_file().read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    url = data.get("default_server") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None
