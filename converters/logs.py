"""Logging: a rotating log file in the state folder; --verbose also echoes to stderr. Secrets redacted."""

from __future__ import annotations

import logging
import logging.handlers

from .redact import redact

LOGGER = logging.getLogger("timersync")


class RedactingFilter(logging.Filter):
    """A logging filter that removes keys, secrets and passwords from every record before it is written."""
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def setup_logging(verbose: bool = False) -> None:
    """Send timersync's log to its file (and, ``verbose``, to stderr), redacted; once per process."""
    if getattr(setup_logging, "_done", False):
        return
    setup_logging._done = True  # type: ignore[attr-defined]
    LOGGER.setLevel(logging.DEBUG)
    LOGGER.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from .state import home

        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            home() / "timersync.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(fmt)
        handler.addFilter(RedactingFilter())
        handler.setLevel(logging.INFO)
        LOGGER.addHandler(handler)
    except OSError:
        pass  # an unwritable state folder must not stop a one-shot command; errors surface where it matters
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        stream.addFilter(RedactingFilter())
        stream.setLevel(logging.DEBUG)
        LOGGER.addHandler(stream)
