"""The terminal: one live status line on stderr while long work runs (pages fetched, rows read, batches
sent, rows written), so a timer sees that something is happening; printed lines fitted to the terminal's
width; and tables fitted to it (:func:`table`). The status line is shown only when stderr is a terminal
and not silenced (``-q``); scripts and redirects get nothing. The library calls :func:`say`; the CLI
switches it on and clears the line when the command ends."""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any, Sequence, TextIO

_stream: TextIO | None = None
_width = 0  # columns of the line on screen now
_last = 0.0
INTERVAL = 0.1  # seconds between redraws


def width() -> int:
    """The columns to fit printed lines into: the terminal's (``COLUMNS`` wins), else 80."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _to_copy(line: str) -> bool:
    """A line a timer (or a script) copies whole (a command, an address, a JSON line): never broken."""
    text = line.strip()
    return text.startswith(("timersync ", "$ ", "http://", "https://", "{", "[")) or " " not in text


def fit(text: str, columns: int | None = None) -> str:
    """``text`` with every line longer than ``columns`` wrapped at word boundaries, continued under its
    indentation plus two spaces. Words are never cut (an address or a path stays whole), and a line that is
    a command or an address to copy is left as it is. Tables are already fitted (:func:`table`)."""
    columns = columns or width()
    if all(len(line) <= columns for line in text.split("\n")):
        return text
    import textwrap

    out = []
    for line in text.split("\n"):
        if len(line) <= columns or _to_copy(line):
            out.append(line)
            continue
        body = line.lstrip(" ")
        indent = line[: len(line) - len(body)]
        out.extend(textwrap.wrap(body, columns, initial_indent=indent, subsequent_indent=indent + "  ",
                                 break_long_words=False, break_on_hyphens=False) or [line])
    return "\n".join(out)


class _Console:
    """stdout or stderr as timersync prints to it: every whole line fitted to the terminal (:func:`fit`:
    the one place where output is wrapped), and the status line removed before anything else is written."""

    def __init__(self, inner: TextIO):
        self._inner = inner
        self._pending = ""  # the start of a line not ended yet

    def write(self, text: str) -> int:
        clear()
        if "\n" not in text:
            self._pending += text
            return len(text)
        done, _, self._pending = (self._pending + text).rpartition("\n")
        self._inner.write(fit(done) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:  # a prompt waiting for an answer: shown as it is
            self._inner.write(self._pending)
            self._pending = ""
        self._inner.flush()

    def __getattr__(self, name: str):  # everything else is the stream's own
        return getattr(self._inner, name)


def enable(stream: TextIO | None) -> None:
    """Fit what is printed on stdout and stderr to the terminal, and show progress on ``stream`` (None:
    show nothing). Whatever else is written first removes the status line, so output never lands on it."""
    global _stream
    clear()
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if isinstance(current, _Console):
            current.flush()
            setattr(sys, name, current._inner)
    _stream = stream._inner if isinstance(stream, _Console) else stream
    sys.stdout = _Console(sys.stdout)  # type: ignore[assignment]
    sys.stderr = _Console(sys.stderr)  # type: ignore[assignment]


def enabled() -> bool:
    """Whether the status line is on (a terminal, and not --quiet)."""
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
    cols = max(20, width() - 1)
    # One line that \r rewrites: a longer message ends at the last whole word that fits.
    text = message if len(message) <= cols else (message[: cols - 1].rsplit(" ", 1)[0] or message[: cols - 1]) + "…"
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


def text_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns (with "…")."""
    if text_width(text) <= width:
        return text
    out, used = "", 0
    for ch in text:
        w = text_width(ch)
        if used + w > width - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken at spaces where it can be."""
    lines, line = [], ""
    for word in text.split(" "):
        while text_width(word) > width:  # a word longer than the column: break it
            room = width - text_width(line) - (1 if line else 0)
            if room <= 0:
                lines.append(line)
                line, room = "", width
            cut = _cut(word, room + 1)[:-1] if text_width(word) > room else word
            cut = cut or word[:1]
            line = f"{line} {cut}" if line else cut
            word = word[len(cut):]
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


def table(rows: list[list[Any]], header: list[str], width: int | None = None,
          caps: Sequence[int] = ()) -> str:
    """A table fitted to ``width`` columns (the terminal's; 80 when unknown), East Asian wide characters
    counted as two: a column is cut with "…" past its cap (``caps``, else 24), the last column wraps onto
    following lines, never cut."""
    total = width or shutil.get_terminal_size((80, 24)).columns
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    last = len(header) - 1
    widths = [text_width(h) for h in header]
    for row in cells:
        for i, c in enumerate(row[:last]):
            widths[i] = max(widths[i], text_width(c))
    longest = max([text_width(r[last]) for r in cells] + [text_width(header[last])])
    if sum(widths[:last]) + 2 * last + min(longest, 30) > total:  # too wide: the columns give way first
        widths = [min(w, caps[i] if i < len(caps) else 24) for i, w in enumerate(widths)]
    detail = max(20, total - sum(widths[:last]) - 2 * last)

    def pad(text: str, w: int) -> str:
        text = _cut(text, w)
        return text + " " * (w - text_width(text))

    def fmt(row: list[str]) -> list[str]:
        lead = "  ".join(pad(c, widths[i]) for i, c in enumerate(row[:last]))
        wrapped = _wrap(row[last], detail)
        indent = " " * (sum(widths[:last]) + 2 * last)
        return [f"{lead}  {wrapped[0]}".rstrip()] + [f"{indent}{more}".rstrip() for more in wrapped[1:]]

    out = fmt(header) + fmt(["-" * w for w in widths[:last]] + ["-" * min(detail, longest)])
    for row in cells:
        out += fmt(row)
    return "\n".join(out)
