"""One live status line on stderr while long work runs (pages fetched, rows read, batches sent, rows
written), so a timer sees that something is happening. Shown only when stderr is a terminal and not
silenced (``-q``); scripts and redirects get nothing. The library calls :func:`say`; the CLI switches it
on and clears the line when the command ends."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

_stream: TextIO | None = None
_width = 0  # columns of the line on screen now
_last = 0.0
INTERVAL = 0.1  # seconds between redraws


class _GivesWay:
    """A stream (stdout, stderr) that removes the status line before anything else is written."""

    def __init__(self, inner: TextIO):
        self._inner = inner

    def write(self, text: str) -> int:
        clear()
        return self._inner.write(text)

    def __getattr__(self, name: str):  # everything else is the stream's own
        return getattr(self._inner, name)


def enable(stream: TextIO | None) -> None:
    """Show progress on ``stream`` (None: show nothing). While it shows, whatever else is written to
    stdout or stderr first removes the status line, so output never lands on top of it."""
    global _stream
    clear()
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, _GivesWay):
            setattr(sys, name, current._inner)
    _stream = stream._inner if isinstance(stream, _GivesWay) else stream
    if stream is not None:
        sys.stdout = _GivesWay(sys.stdout)  # type: ignore[assignment]
        sys.stderr = _GivesWay(sys.stderr)  # type: ignore[assignment]


def enabled() -> bool:
    return _stream is not None


def say(message: str, force: bool = False) -> None:
    """Replace the status line with ``message`` (at most every INTERVAL seconds unless ``force``)."""
    global _width, _last
    if _stream is None:
        return
    now = time.monotonic()
    if not force and now - _last < INTERVAL:
        return
    _last = now
    cols = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
    text = message if len(message) <= cols else message[: cols - 1] + "…"
    try:
        _stream.write("\r" + text + " " * max(0, _width - len(text)))
        _stream.flush()
    except (OSError, ValueError, UnicodeEncodeError):
        return
    _width = len(text)


def clear() -> None:
    """Remove the status line (before normal output, and when the command ends)."""
    global _width
    if _stream is None or not _width:
        return
    try:
        _stream.write("\r" + " " * _width + "\r")
        _stream.flush()
    except (OSError, ValueError):
        pass
    _width = 0


def for_terminal(quiet: bool) -> TextIO | None:
    """stderr when it is a terminal and not ``quiet``, else None."""
    err = sys.stderr
    try:
        return err if not quiet and err.isatty() else None
    except (AttributeError, ValueError):
        return None
