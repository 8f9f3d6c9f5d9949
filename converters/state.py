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
from .errors import TimersyncError
from .redact import remember_secret

CREDENTIAL_LIFETIME = 24 * 3600


def home() -> Path:
    """timersync's own folder (``TIMERSYNC_HOME``, else the system's per-user data folder)."""
    env = os.environ.get("TIMERSYNC_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("timersync", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    """The folder ``name`` under :func:`home`, made when missing."""
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def slug(text: str) -> str:
    """``text`` as a safe file name part: letters and digits, the rest as ``_``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:80] or "default"


LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]", "localhost.localdomain", "ip6-localhost"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def server_key(url: str) -> str:
    """One key per server, whatever the spelling of its URL: host in lower case, ``localhost``,
    ``127.0.0.1`` and ``::1`` as one loopback, default ports (80, 443) and trailing slashes dropped. The
    scheme is dropped too: an http URL that redirects to https is the same server, and one port never
    speaks both. Push locks, journals and sync rosters are keyed by it, so two spellings of one server
    never push the same race at once.

    ``HTTP://LOCALHOST:8765/rest/`` and ``http://127.0.0.1:8765/rest`` -> ``localhost:8765/rest``."""
    from urllib.parse import urlsplit

    text = str(url or "").strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host in LOOPBACK:
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    return f"{host}{path}"


def server_slug(url: str) -> str:
    """:func:`server_key` made a file name (locks, journal folders, sync rosters)."""
    return slug(server_key(url))


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


def _same_server(data: dict[str, Any], base_url: str) -> list[str]:
    """The keys of ``data`` that are ``base_url`` under any spelling (see :func:`server_key`)."""
    key = server_key(base_url)
    return [k for k in data if k == base_url or server_key(k) == key]


def load_credentials(base_url: str, now: float | None = None) -> dict[str, Any] | None:
    """The cached key/secret for ``base_url`` if younger than 24 h (minus a minute of margin); a login
    made under another spelling of the same server (``localhost`` for ``127.0.0.1``, http for https)
    counts, the youngest first."""
    data = _read_all()
    entries = [data[base_url]] if isinstance(data.get(base_url), dict) else []
    entries += sorted((data[k] for k in _same_server(data, base_url) if k != base_url and isinstance(data[k], dict)),
                      key=lambda e: -float(e.get("obtained_at") or 0))
    entry = next((e for e in entries if e.get("tmp_key") and e.get("tmp_secret")
                  and (now or time.time()) - float(e.get("obtained_at") or 0) <= CREDENTIAL_LIFETIME - 60), None)
    if entry is None:
        return None
    remember_secret(entry["tmp_key"])
    remember_secret(entry["tmp_secret"])
    return entry


def save_credentials(base_url: str, tmp_key: str, tmp_secret: str, email: str | None) -> None:
    """Keep the key pair of a login to ``base_url`` (owner-only file; replaces any other spelling of it)."""
    data = _read_all()
    for k in _same_server(data, base_url):  # a new login ends the pair any other spelling of it holds
        del data[k]
    data[base_url] = {"tmp_key": tmp_key, "tmp_secret": tmp_secret, "email": email, "obtained_at": time.time()}
    path = _credentials_file()
    write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2), private=True)


def forget_credentials(base_url: str) -> None:
    """Drop the key/secret of ``base_url``, under every spelling of the server."""
    data = _read_all()
    gone = [data.pop(k) for k in _same_server(data, base_url)]
    if gone:
        path = _credentials_file()
        write_bytes(path, orjson.dumps(data, option=orjson.OPT_INDENT_2), private=True)


KEYRING_SERVICE = "timersync"


class NoCredentialStore(TimersyncError):
    """``login --remember`` on a machine whose operating system offers no credential store to keyring."""


def remember_login(base_url: str, email: str, password: str) -> None:
    """Keep the email and password of ``base_url`` in the operating system's credential store (Windows
    Credential Manager, macOS Keychain, the Secret Service on Linux, through the ``keyring`` package),
    never in a file of ours, so unattended work (``sync --every``, ``watch``, a long push) can log in
    again by itself when RaceEntry ends the key."""
    try:
        import keyring
        from keyring.errors import KeyringError

        keyring.set_password(KEYRING_SERVICE, server_key(base_url), orjson.dumps(
            {"email": email, "password": password}).decode())
    except ImportError:  # pragma: no cover - keyring is a dependency
        raise NoCredentialStore("--remember needs the keyring package; pip install keyring") from None
    except (KeyringError, RuntimeError) as exc:
        raise NoCredentialStore(f"--remember: this machine has no credential store keyring can use ({exc}); log in "
                                f"without --remember (the password is not kept) or set RACEENTRY_EMAIL and "
                                f"RACEENTRY_PASSWORD for unattended work") from None


def remembered_login(base_url: str) -> tuple[str, str] | None:
    """(email, password) kept by ``login --remember`` for ``base_url``, or None (never raises)."""
    try:
        import keyring

        raw = keyring.get_password(KEYRING_SERVICE, server_key(base_url))
        data = orjson.loads(raw) if raw else None
    except Exception:  # noqa: BLE001 - no store, a locked store, a damaged entry: as if none were kept
        return None
    if not isinstance(data, dict) or not data.get("email") or not data.get("password"):
        return None
    remember_secret(data["password"])
    return str(data["email"]), str(data["password"])


def forget_login(base_url: str) -> bool:
    """Remove what ``login --remember`` kept for ``base_url``; True when there was something."""
    try:
        import keyring

        if keyring.get_password(KEYRING_SERVICE, server_key(base_url)) is None:
            return False
        keyring.delete_password(KEYRING_SERVICE, server_key(base_url))
        return True
    except Exception:  # noqa: BLE001 - nothing kept where nothing can be kept
        return False


def _settings_file() -> Path:
    return home() / "settings.json"


def save_default_server(base_url: str) -> None:
    """The server a login went to: the default of every command until another login."""
    write_bytes(_settings_file(), orjson.dumps({"default_server": base_url.rstrip("/")}, option=orjson.OPT_INDENT_2))


def default_server() -> str | None:
    """The server `timersync login` last chose, or None."""
    try:
        data = orjson.loads(_settings_file().read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    url = data.get("default_server") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None
