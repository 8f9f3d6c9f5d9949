"""The drop folder's config (``timersync.toml``): read it, check every key (an error names the file and the
key), and make sure ``in/ out/ done/ failed/`` exist and can be written."""

from __future__ import annotations

import codecs
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_bytes
from ..client import resolve_base_url
from ..errors import ProfileError, TimersyncError
from ..files.profiles import load_profile

CONFIG = "timersync.toml"
SETTLE = 2.0
INCOMPLETE_TIMEOUT = 120.0  # seconds a file may stay incomplete (a slow copy) before it fails
KEYS = {"race_id", "api_url", "push", "sync_every", "poll", "settle_seconds", "incomplete_timeout", "outputs",
        "encoding", "two_way"}


class ConfigError(TimersyncError):
    """A watch config that cannot be used; names the file and the key."""


@dataclass
class OutputSpec:
    """One ``[[outputs]]`` entry: the profile (as named and as loaded) and the file name in ``out/``."""

    profile_name: str
    file: str
    profile: Any

    @property
    def kind(self) -> str:
        """The output's file kind: its extension without the dot, lower case (``xlsx``)."""
        return Path(self.file).suffix.lower().lstrip(".")


@dataclass
class WatchConfig:
    """A drop folder's settings, with the paths of its sub-folders."""

    folder: Path
    path: Path
    race_id: int
    api_url: str
    outputs: list[OutputSpec]
    push: bool = False
    sync_every: float | None = None
    poll: bool = False
    settle: float = SETTLE
    scan_every: float = 1.0
    incomplete_timeout: float = INCOMPLETE_TIMEOUT
    lock_wait: float = 60.0  # seconds a push waits for another push of the race
    encoding: str | None = None  # of dropped CSV/TXT files (`encoding = "cp1253"`); None: detected
    two_way: bool = False  # a dropped file of unknown origin sends its edits too (as `push --two-way`)

    @property
    def inbox(self) -> Path:
        """``in/``: where files are dropped."""
        return self.folder / "in"

    @property
    def outbox(self) -> Path:
        """``out/``: converted files, plan folders, synced files."""
        return self.folder / "out"

    @property
    def done(self) -> Path:
        """``done/``: inputs processed."""
        return self.folder / "done"

    @property
    def failed(self) -> Path:
        """``failed/``: inputs that could not be processed, each with its ``.error.txt``."""
        return self.folder / "failed"


def load_config(folder: str | os.PathLike, config_file: str | os.PathLike | None = None,
                poll: bool = False) -> WatchConfig:
    """Read and check the config, create ``in/ out/ done/ failed/`` and make sure the folder is writable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder; create it (with a {CONFIG}) or choose another")
    path = Path(config_file) if config_file else folder / CONFIG
    raw = read_toml(path)
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; the keys are {', '.join(sorted(KEYS))}")
    race_id = race_id_of(raw, path)
    for key in ("push", "poll", "two_way"):
        if key in raw and not isinstance(raw[key], bool):
            raise ConfigError(f"{path}: {key} must be true or false")
    sync_every, settle, incomplete = seconds_of(raw, path)
    encoding = encoding_of(raw, path)
    outputs = outputs_of(raw, path)
    api_url = resolve_base_url(raw.get("api_url"))
    config = WatchConfig(folder=folder, path=path, race_id=race_id, api_url=api_url, outputs=outputs,
                         push=bool(raw.get("push", False)), sync_every=float(sync_every) if sync_every else None,
                         poll=poll or bool(raw.get("poll", False)), settle=float(settle),
                         incomplete_timeout=float(incomplete), encoding=encoding,
                         two_way=bool(raw.get("two_way", False)))
    for sub in (config.inbox, config.outbox, config.done, config.failed):
        make_writable_folder(sub)
    return config


def read_toml(path: Path) -> dict[str, Any]:
    """The config file's TOML, or a ConfigError saying why it cannot be had."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config not found; create it with at least race_id = ... and one "
                          f"[[outputs]] entry (profile, file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None


def race_id_of(raw: dict[str, Any], path: Path) -> int:
    """``race_id``: a number (digits in a string are taken too)."""
    race_id = raw.get("race_id")
    if isinstance(race_id, str) and race_id.strip().isdigit():
        race_id = int(race_id)
    if not isinstance(race_id, int) or isinstance(race_id, bool):
        raise ConfigError(f"{path}: race_id must be the RaceEntry race id (a number), e.g. race_id = 2026")
    return race_id


def seconds_of(raw: dict[str, Any], path: Path) -> tuple[Any, Any, Any]:
    """``sync_every`` (None or at least 1), ``settle_seconds`` (positive), ``incomplete_timeout`` (0 or
    more), as given."""
    sync_every = raw.get("sync_every")
    if sync_every is not None and (not isinstance(sync_every, (int, float)) or isinstance(sync_every, bool)
                                   or sync_every < 1):
        raise ConfigError(f"{path}: sync_every must be a number of seconds (at least 1)")
    settle = raw.get("settle_seconds", SETTLE)
    if not isinstance(settle, (int, float)) or isinstance(settle, bool) or settle <= 0:
        raise ConfigError(f"{path}: settle_seconds must be a positive number of seconds")
    incomplete = raw.get("incomplete_timeout", INCOMPLETE_TIMEOUT)
    if not isinstance(incomplete, (int, float)) or isinstance(incomplete, bool) or incomplete < 0:
        raise ConfigError(f"{path}: incomplete_timeout must be a number of seconds (0 or more)")
    return sync_every, settle, incomplete


def encoding_of(raw: dict[str, Any], path: Path) -> str | None:
    """``encoding``: a character set Python knows, or None (detected per file)."""
    encoding = raw.get("encoding")
    if encoding is None:
        return None
    if not isinstance(encoding, str) or not encoding.strip():
        raise ConfigError(f"{path}: encoding must be the name of a character set, e.g. encoding = \"cp1253\"")
    encoding = encoding.strip()
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"{path}: encoding {encoding!r} is not a character set Python knows; use e.g. "
                          f"\"utf-8\", \"cp1252\", \"shift_jis\", \"cp1253\" (Greek), or leave it out to "
                          f"detect it") from None
    return encoding


def outputs_of(raw: dict[str, Any], path: Path) -> list[OutputSpec]:
    """The ``[[outputs]]`` entries, each with its profile loaded and able to write its file's kind."""
    entries = raw.get("outputs")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[outputs]]; add at least one with profile = \"...\" and file = \"...\"")
    return [output_spec(entry, path, f"{path}: [[outputs]] #{i}") for i, entry in enumerate(entries, 1)]


def output_spec(entry: Any, path: Path, where: str) -> OutputSpec:
    """One ``[[outputs]]`` entry: a plain file name, a profile (a ``.toml`` beside the config, or a built-in
    name) that writes that kind of file."""
    if not isinstance(entry, dict) or not entry.get("profile") or not entry.get("file"):
        raise ConfigError(f"{where}: needs profile = \"...\" and file = \"...\"")
    name, file = str(entry["profile"]), str(entry["file"])
    if Path(file).name != file or file.startswith("."):
        raise ConfigError(f"{where}: file must be a plain file name (it goes in out/), not {file!r}")
    prof_ref: str | Path = name
    if name.endswith(".toml") and not Path(name).is_absolute():
        prof_ref = path.parent / name  # a user's profile next to the config
    try:
        profile = load_profile(prof_ref)
    except ProfileError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    kind = Path(file).suffix.lower().lstrip(".")
    if kind not in profile.kinds:
        raise ConfigError(f"{where}: profile {profile.name} writes {', '.join(profile.kinds)}, not "
                          f"{kind or 'a file without extension'} ({file})")
    return OutputSpec(name, file, profile)


def make_writable_folder(sub: Path) -> None:
    """Create ``sub`` when it is missing and prove a file can be written there."""
    try:
        sub.mkdir(exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{sub}: cannot create the folder ({exc.strerror}); check permissions") from None
    probe = sub / f".timersync-probe-{os.getpid()}"
    try:
        write_bytes(probe, b"")
        probe.unlink()
    except (OSError, TimersyncError):
        raise ConfigError(f"{sub}: the folder is not writable; the watcher needs to write and move files "
                          f"there (check permissions or choose another folder)") from None
