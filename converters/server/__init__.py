"""The bundled RaceEntry-compatible rehearsal server: ``app`` (the HTTP server on SQLite) and ``seed``
(the deterministic race it starts with). See ``app``'s docstring for what it answers and how.

The names below are loaded on first use, so ``python -m converters.server.seed`` runs its module once."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_FROM = {
    "DEFAULT_EMAIL": "app", "DEFAULT_PASSWORD": "app", "ServerHandle": "app", "redact": "app",
    "serve_forever": "app", "start_background": "app",
    "generate_race": "seed",
}
__all__ = sorted(_FROM)

if TYPE_CHECKING:  # pragma: no cover
    from .app import DEFAULT_EMAIL, DEFAULT_PASSWORD, ServerHandle, redact, serve_forever, start_background
    from .seed import generate_race


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
