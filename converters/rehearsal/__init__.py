"""The bundled RaceEntry-compatible rehearsal server: ``app`` starts it (see its docstring for what it
answers and how), ``seed`` makes the deterministic race it starts with, and one module per job between:
``store`` (SQLite), ``handler`` and ``routes`` (HTTP), ``reads``/``writes``/``participants``/``teams``
(the endpoints), ``auth`` (credentials), ``behaviours``, ``faults`` and ``controls`` (what tests switch).

The names below are loaded on first use, so ``python -m converters.rehearsal.seed`` runs its module once."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["BEHAVIOURS", "DEFAULT_EMAIL", "DEFAULT_PASSWORD", "ServerHandle", "generate_race", "is_loopback",
           "redact", "serve_forever", "serve_password", "start_background"]
# name -> the module that defines it
_HOME = {"generate_race": ".seed", "BEHAVIOURS": ".defaults", "DEFAULT_EMAIL": ".defaults",
         "DEFAULT_PASSWORD": ".defaults", "is_loopback": ".auth", "redact": ".auth", "serve_password": ".auth",
         "ServerHandle": ".app", "serve_forever": ".app", "start_background": ".app"}

if TYPE_CHECKING:  # pragma: no cover
    from .app import ServerHandle, serve_forever, start_background
    from .auth import is_loopback, redact, serve_password
    from .defaults import BEHAVIOURS, DEFAULT_EMAIL, DEFAULT_PASSWORD
    from .seed import generate_race


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name], __name__), name)
