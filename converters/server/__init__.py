"""The bundled RaceEntry-compatible rehearsal server: ``app`` (the HTTP server on SQLite) and ``seed``
(the deterministic race it starts with). See ``app``'s docstring for what it answers and how.

The names below are loaded on first use, so ``python -m converters.server.seed`` runs its module once."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["BEHAVIOURS", "DEFAULT_EMAIL", "DEFAULT_PASSWORD", "ServerHandle", "generate_race", "is_loopback",
           "redact", "serve_forever", "serve_password", "start_background"]
_FROM_SEED = {"generate_race"}

if TYPE_CHECKING:  # pragma: no cover
    from .app import (BEHAVIOURS, DEFAULT_EMAIL, DEFAULT_PASSWORD, ServerHandle, is_loopback, redact,
                      serve_forever, serve_password, start_background)
    from .seed import generate_race


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(".seed" if name in _FROM_SEED else ".app", __name__)
    return getattr(module, name)
