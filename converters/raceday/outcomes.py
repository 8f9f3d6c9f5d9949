"""What the drop folder reports: the outcome of each input (done, failed, deferred, skipped), a run's
summary line, and how to send a plan the config kept back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..client import resolve_base_url
from .watch_config import WatchConfig


@dataclass
class Outcome:
    """What became of one input: its name as shown, the status, the message and outputs, where it went."""

    name: str
    status: str  # done, failed, deferred, skipped (already processed: only moved)
    message: str = ""
    outputs: list[str] = field(default_factory=list)
    moved_to: Path | None = None


@dataclass
class Summary:
    """The outcomes of a scan (or of ``run_once``) and the sync rounds run."""

    outcomes: list[Outcome] = field(default_factory=list)
    synced: int = 0

    def count(self, status: str) -> int:
        """How many inputs ended with ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    def line(self) -> str:
        """The summary in one line, as ``watch --once`` prints it."""
        return (f"{self.count('done')} processed, {self.count('failed')} failed, "
                f"{self.count('skipped')} already processed, {self.count('deferred')} waiting for RaceEntry")


def how_to_send(config: WatchConfig, url: str, profile: str | None, moved_to: Path) -> str:
    """How to send a plan the config did not push: the command for the file where it now lies (``url``
    the server it was planned against, ``profile`` the profile it was read with)."""
    server = "" if resolve_base_url(None, None) == url else f" --api-url {url}"
    server += (" --two-way" if config.two_way else "") + (f" --encoding {config.encoding}" if config.encoding else "")
    return (f"  to send it, set push = true in {config.path.name} and drop it again, or run:\n"
            f"  timersync push {config.race_id} {quoted(moved_to)} -p {profile}{server}")


def quoted(path: Path) -> str:
    """A path to paste into a command: in double quotes when it holds a space (every shell takes them)."""
    return f'"{path}"' if " " in str(path) else str(path)
