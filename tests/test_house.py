"""The house in order: no import cycles (imports inside functions included), no module takes another's
private names, and the layers below never import the ones above (ARCHITECTURE.md says why each module
sits where it does). Every module of the package is read with ``ast``; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "converters"

# Bottom to top. A module may import modules of its own group and of any lower tier; groups that share a
# tier (files and RaceEntry access; the race-day loops and the rehearsal server) do not import each other.
# A new module goes into one of these groups (and into ARCHITECTURE.md).
LAYERS: list[dict[str, set[str]]] = [
    {"shared": {"atomic", "countries", "dates", "errors", "jsonio", "locks", "logs", "notices", "progress",
                "redact", "resources", "state"}},
    {"model": {"model", "model.answers", "model.codec", "model.races", "model.schemas", "model.wire"}},
    {"client": {"client", "client.paging", "client.readcheck", "client.roster", "client.transport"},
     "files": {"files", "files.cells", "files.charsets", "files.delimited", "files.delimited_write",
               "files.profiles", "files.reader", "files.records", "files.write_ids", "files.writer", "files.xlsx",
               "files.xlsx_guard", "files.xlsx_write"}},
    {"compare": {"compare", "compare.bodies", "compare.damage", "compare.diff", "compare.fields",
                 "compare.identity", "compare.payloads", "compare.plans", "compare.summary", "compare.teams",
                 "compare.validate", "compare.values"}},
    {"plan": {"plan", "plan.bases", "plan.binding", "plan.convert", "plan.journal", "plan.planfolder",
              "plan.planning", "plan.preview", "plan.pull", "plan.racestate", "plan.targets", "plan.versions",
              "frames"}},
    {"push": {"push", "push.batches", "push.guards", "push.ledger", "push.readback", "push.result", "push.send",
              "push.verify"}},
    {"raceday": {"raceday", "raceday.dropped", "raceday.inbox", "raceday.outcomes", "raceday.sync",
                 "raceday.sync_outputs", "raceday.sync_report", "raceday.watch", "raceday.watch_config"},
     "rehearsal": {"rehearsal", "rehearsal.app", "rehearsal.auth", "rehearsal.behaviours", "rehearsal.bodies",
                   "rehearsal.controls", "rehearsal.defaults", "rehearsal.faults", "rehearsal.handler",
                   "rehearsal.loose", "rehearsal.participants", "rehearsal.protocol", "rehearsal.reads",
                   "rehearsal.routes", "rehearsal.samples", "rehearsal.seed", "rehearsal.state", "rehearsal.store",
                   "rehearsal.teams", "rehearsal.writes"}},
    {"cli": {"__init__", "__main__", "cli", "cli.api", "cli.files", "cli.plan", "cli.push", "cli.sync"}},
]


def modules() -> dict[str, Path]:
    """Module name relative to the package ("files.reader", "rehearsal.app", "__init__" for the package) -> file."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = modules()


def imports(name: str) -> list[tuple[str, str | None, int]]:
    """Every import of a package module in ``name`` (at any depth: in functions too), as (module imported,
    the name taken from it or None for the module itself, line). Private names reached as attributes of
    an imported module (``seed._zone``) count as names taken."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = [] if name == "__init__" else name.split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: list[tuple[str, str | None, int]] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                base = base + (node.module.split(".") if node.module else [])
            elif (node.module or "").split(".")[0] == "converters":
                base = node.module.split(".")[1:]
            else:
                continue
            target = ".".join(base) or "__init__"
            for alias in node.names:
                sub = ".".join(base + [alias.name])
                if sub in MODULES:
                    out.append((sub, None, node.lineno))
                    aliases[alias.asname or alias.name] = sub
                else:
                    out.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "converters":
                    target = ".".join(parts[1:]) or "__init__"
                    out.append((target, None, node.lineno))
                    if alias.asname:
                        aliases[alias.asname] = target
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            out.append((aliases[node.value.id], node.attr, node.lineno))
    return [(t, n, line) for t, n, line in out if t != name]


def graph() -> dict[str, set[str]]:
    return {name: {t for t, _, _ in imports(name) if t in MODULES} for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a cycle to break."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def place(name: str) -> tuple[int, str]:
    for tier, groups in enumerate(LAYERS):
        for group, members in groups.items():
            if name in members:
                return tier, group
    raise KeyError(name)


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles (imports inside functions included): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_no_module_takes_a_private_name_from_another():
    taken = [f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} takes {target}.{attr}"
             for name in MODULES for target, attr, line in imports(name)
             if attr and attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__"))]
    assert not taken, "\n".join(taken)


def test_every_module_has_a_layer():
    placed = [m for groups in LAYERS for members in groups.values() for m in members]
    assert sorted(placed) == sorted(set(placed)), "a module is in two layers"
    assert set(placed) == set(MODULES), (f"not placed in LAYERS: {sorted(set(MODULES) - set(placed))}; "
                                         f"gone: {sorted(set(placed) - set(MODULES))}")


def test_layers_below_never_import_the_ones_above():
    wrong = []
    for name in MODULES:
        tier, group = place(name)
        for target, _, line in imports(name):
            if target not in MODULES:
                continue
            t_tier, t_group = place(target)
            if t_tier > tier or (t_tier == tier and t_group != group):
                wrong.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} ({group}) imports {target} "
                             f"({t_group})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("source, taken", [
    ("from .convert import _TRIGGERS\n", ("convert", "_TRIGGERS")),
    ("def f():\n    from . import seed as s\n    return s._zone\n", ("seed", "_zone")),
])
def test_private_names_are_seen(tmp_path, monkeypatch, source, taken):
    """The checks read what they should: a private name imported, or reached through a module alias."""
    (tmp_path / "seed.py").write_text("")
    (tmp_path / "convert.py").write_text("")
    (tmp_path / "probe.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PACKAGE", tmp_path)
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "MODULES", modules())
    assert taken in [(t, a) for t, a, _ in imports("probe")]


def test_dates_are_read_in_one_module():
    """converters/dates.py is the one reader of dates (a second one read a typed 05/06/1971 as 6 May
    where the reader refused it); the rehearsal server plays RaceEntry and keeps its own."""
    readers = []
    for name, path in MODULES.items():
        if name == "dates" or name.startswith("rehearsal"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("strptime", "fromisoformat") and not (
                    isinstance(node.value, ast.Attribute) and node.value.attr == "date"
                    and name in ("files.writer", "files.xlsx_write")):
                readers.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.attr}")
    assert not readers, "dates read outside converters/dates.py:\n" + "\n".join(readers)


# The folder each group lives in: the house shows the pipeline (ARCHITECTURE.md). The shared group is the
# package's top level; `frames` (the pandas door) and the command's entry points sit there too.
FOLDERS = {"shared": "", "model": "model", "client": "client", "files": "files", "compare": "compare",
           "plan": "plan", "push": "push", "raceday": "raceday", "rehearsal": "rehearsal", "cli": "cli"}
TOP_LEVEL = {"frames", "__init__", "__main__"}


def test_every_module_sits_in_its_layers_folder():
    wrong = []
    for name in MODULES:
        _, group = place(name)
        folder = name.split(".")[0] if "." in name or name in FOLDERS.values() else ""
        if name not in TOP_LEVEL and folder != FOLDERS[group]:
            wrong.append(f"{MODULES[name].relative_to(PACKAGE.parent)} is in the {group} layer: it belongs in "
                         f"converters/{FOLDERS[group]}")
    assert not wrong, "\n".join(wrong)


MAX_MODULE_LINES = 550  # "about 500": a module past it does more than one job
MAX_FUNCTION_LINES = 100  # a function a screen long; past it, name its steps


def test_rooms_and_functions_stay_small():
    """A module over about 500 lines, or a function over 100, hides jobs and rules that want names."""
    big = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            big.append(f"{path.relative_to(PACKAGE.parent)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    big.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {size} lines")
    assert not big, "\n".join(big)
