"""Project-level checks: every command documented (help with an example, mentioned in the README), the
package ships its mappings and schemas, and `python -m converters` works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest

from converters.cli import main

ROOT = Path(__file__).resolve().parent.parent


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command, through click's own API (the CLI imports a command's module only when asked)."""
    out = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        out.append((prefix + name, cmd))
        if isinstance(cmd, click.Group):
            out.extend(all_commands(cmd, prefix + name + " "))
    return out


@pytest.mark.parametrize("name, cmd", all_commands(main), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help_with_example_and_is_in_readme(name, cmd):
    assert cmd.help and cmd.help.strip(), f"{name} has no help text"
    assert "Example:" in cmd.help, f"{name}'s help has no Example: block"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"timersync {name}" in readme, f"`timersync {name}` is not mentioned in README.md"


def test_readme_setup_commands_match_ci():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_line = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert test_line in readme


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "converters", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "timersync" in out.stdout


def test_wheel_ships_every_package_and_the_mappings_and_schemas(tmp_path):
    """Built from a copy of the source with one more sub-package: packages are found, not listed by hand,
    so a new folder of modules is never silently left out of the wheel."""
    import shutil

    src = tmp_path / "src"
    for name in ("converters", "mappings", "schemas"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    (src / "converters" / "newroom").mkdir()
    (src / "converters" / "newroom" / "__init__.py").write_text('"""A sub-package added later."""\n')
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("timersync-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for init in (src / "converters").rglob("__init__.py"):
        assert init.relative_to(src).as_posix() in names, f"{init.parent.name} is left out of the wheel"
    assert "converters/newroom/__init__.py" in names
    for profile in ("runscore", "raceresult", "racedayscoring", "director", "raceentry"):
        assert f"converters/mappings/{profile}.toml" in names
    assert "converters/schemas/participants.response.json" in names
    assert "converters/schemas/profile.schema.json" in names


def test_every_command_is_found_by_its_module():
    """The CLI imports a command's module only when that command runs: its table must name every one."""
    import importlib

    from converters import cli

    for module in set(cli.COMMAND_MODULES.values()):
        importlib.import_module(f"converters.cli.{module}")
    assert set(cli.main.commands) == set(cli.COMMAND_MODULES)
    assert cli.main.list_commands(click.Context(cli.main)) == sorted(cli.COMMAND_MODULES)
