"""Imports go one way (DESIGN.md, data flow and layout): no import cycle, and the layer rules hold.

The import graph is read from the source with ``ast`` (nothing is imported), and counts every import:
module level, inside functions, and under ``if TYPE_CHECKING``. A cycle at any level is a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# the project's own top-level packages (pyproject's packages.find include)
PACKAGES = ("contract", "ingestion", "data_quality", "models_ml", "orchestration", "dashboards", "salescope")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted name as imported: a project module, or an outside package
    line: int
    name: str | None = None  # the name taken by ``from target import name``


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the packages."""
    out: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            out[module_name(path, root)] = path
    return out


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import statement anywhere in the file (functions and TYPE_CHECKING blocks included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [Import(name, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, path.name == "__init__.py")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                # ``from pkg import module`` imports the module; ``from module import name`` the module
                if sub in modules:
                    out.append(Import(name, sub, node.lineno))
                else:
                    out.append(Import(name, base, node.lineno, alias.name))
    return out


def import_graph(root: Path, packages: Iterable[str]) -> tuple[dict[str, set[str]], list[Import]]:
    """Edges between project modules, and every import (project and outside) for the layer rules."""
    modules = project_modules(root, packages)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    every: list[Import] = []
    for name, path in modules.items():
        for imp in imports_of(name, path, modules):
            every.append(imp)
            if imp.target in modules and imp.target != name:
                graph[name].add(imp.target)
    return graph, every


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) per strongly connected component that has one (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_a_cycle_in(graph, c) for c in components]


def _a_cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    start = min(component)
    path, seen = [start], {start}
    while True:  # walk inside the component until a module repeats: every node there has a way back
        nxt = min(w for w in graph[path[-1]] if w in component)
        if nxt in seen:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)
        seen.add(nxt)


def _in(name: str, packages: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


# ---- the rules ------------------------------------------------------------------------------------------

GRAPH, IMPORTS = import_graph(REPO, PACKAGES)

# plain libraries: no Dagster, no orchestration, no dashboards (DESIGN.md, layout)
LIBRARIES = ("contract", "ingestion", "data_quality", "models_ml")
LIBRARY_MUST_NOT_IMPORT = (
    "dagster",
    "dagster_dbt",
    "dagster_duckdb",
    "dagster_webserver",
    "orchestration",
    "dashboards",
)
# dashboards read the serving snapshot and the settings, none of the pipeline
DASHBOARDS_MUST_NOT_IMPORT = (
    "ingestion",
    "orchestration",
    "data_quality",
    "models_ml",
    "dbt",
    "dagster",
    "dagster_dbt",
    "dagster_duckdb",
)
# the only project modules that may start the graph (tests and the bench harness are not scanned)
ORCHESTRATION_IMPORTERS = ("orchestration", "salescope.cli", "salescope.commands")


def _broken(importers: Iterable[str], forbidden: Iterable[str]) -> list[str]:
    return sorted(
        f"{i.importer} (line {i.line}) imports {i.target}"
        for i in IMPORTS
        if _in(i.importer, importers) and _in(i.target, forbidden)
    )


def test_the_graph_sees_every_package():
    assert {m.split(".")[0] for m in GRAPH} == set(PACKAGES)
    assert "data_quality.runner" in GRAPH["orchestration.assets"]  # a function-level import counts


def test_no_import_cycle():
    found = cycles(GRAPH)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_libraries_know_no_dagster_orchestration_or_dashboards():
    assert _broken(LIBRARIES, LIBRARY_MUST_NOT_IMPORT) == []


def test_the_crm_database_knows_no_dagster_or_dashboards():
    assert _broken(("salescope.crm_db",), LIBRARY_MUST_NOT_IMPORT) == []


def test_the_notify_library_knows_no_dagster_or_orchestration():
    assert _broken(("salescope.notify",), ("dagster", "dagster_dbt", "dagster_duckdb", "orchestration")) == []


def test_dashboards_import_none_of_the_pipeline():
    assert _broken(("dashboards",), DASHBOARDS_MUST_NOT_IMPORT) == []


def test_only_the_cli_imports_orchestration():
    importers = sorted(
        f"{i.importer} (line {i.line})"
        for i in IMPORTS
        if _in(i.target, ("orchestration",)) and not _in(i.importer, ORCHESTRATION_IMPORTERS)
    )
    assert importers == []


def test_the_contract_imports_no_other_layer():
    assert _broken(("contract",), [p for p in PACKAGES if p not in ("contract", "salescope")]) == []
    assert _broken(("contract",), ("salescope.generator", "salescope.cli", "salescope.commands")) == []


def test_no_module_imports_a_private_name_of_another():
    private = sorted(
        f"{i.importer} (line {i.line}) imports {i.name} from {i.target}"
        for i in IMPORTS
        if i.target in GRAPH and i.name and i.name.startswith("_") and not i.name.startswith("__")
    )
    assert private == []


# ---- the checker itself: it must see what it claims to see ------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "b_imports_a",
    [
        "from pkg import a\n",
        "def f():\n    from . import a\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import X\n",
        "import pkg.a\n",
    ],
)
def test_a_cycle_at_any_level_is_found(tmp_path, b_imports_a):
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import Y\nX = 1\n",
            "pkg/b.py": b_imports_a + "Y = 2\n",
        },
    )
    graph, _ = import_graph(root, ["pkg"])
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_a_package_reexporting_its_modules_is_no_cycle(tmp_path):
    root = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import X\n",
            "pkg/a.py": "from pkg.b import Y\nX = Y\n",
            "pkg/b.py": "Y = 2\n",
        },
    )
    graph, _ = import_graph(root, ["pkg"])
    assert cycles(graph) == []
    assert graph["pkg"] == {"pkg.a"} and graph["pkg.a"] == {"pkg.b"}
