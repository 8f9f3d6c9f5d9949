"""Where the shipped ``schemas/`` and ``mappings/`` folders are.

In a wheel they are installed as ``converters/schemas`` and ``converters/mappings`` (see pyproject's
package-dir); in a source checkout they sit beside the package.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """The folder of bundled data ``name`` (``mappings`` or ``schemas``): beside the package, or installed in it."""
    for candidate in (_HERE / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    try:
        from importlib.resources import files

        path = Path(str(files(f"converters.{name}")))
        if path.is_dir():
            return path
    except (ImportError, ModuleNotFoundError, TypeError):
        pass
    raise FileNotFoundError(f"timersync is installed without its {name}/ folder; reinstall it")
