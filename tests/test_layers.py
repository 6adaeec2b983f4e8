"""The architecture, enforced: the import graph of hub/, connectors/ and cli.py, read from the AST.

Every import counts, at module level and inside functions (a function-level import runs
too, only later: it hides a cycle, it does not remove it); `importlib.import_module("x")` with
a literal name counts as well. Imports under `if TYPE_CHECKING:` count for every rule but the
cycle rule: a type named from an upper tier or a private module is still knowledge of it, but
an import that never runs cannot make import order matter (a connector and its streams may
name each other's types). Relative imports are resolved, and `from pkg import name` points at
`pkg.name` when that is a module. Importing `a.b.c` is an edge to `a.b.c` only, not to the
packages `a` and `a.b` it passes through.

The rules (../shared/LAYOUT.md, "The rule"):
- tiers: a module imports only from a lower tier, or sideways along an arrow of SIDEWAYS;
- no cycles between modules;
- no `_private` module imported from outside the package that holds it;
- the faces (api, cli, console, demo) never import the ORM models or SQLAlchemy;
- a connector never imports the hub;
- `import cli` loads none of the heavy libraries (checked in a fresh interpreter).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("hub", "connectors", "cli.py")

# ---------------------------------------------------------------------------------------------
# The architecture as data. A module belongs to the longest prefix below that names it.

TIERS: dict[str, int] = {
    # T0: the error tree, small pure helpers, the mapping engine, the connector SDK
    "hub.errors": 0, "hub.core": 0, "hub.mapping": 0, "connectors.sdk": 0,
    # T1: where state lives; connectors are plugins on the SDK (only the demo names one)
    "hub.store": 1, "hub.config": 1, "hub.audit": 1, "connectors": 1,
    # T2: the Hub context
    "hub.runtime": 2,
    # T3: capabilities
    "hub.access": 3, "hub.customers": 3, "hub.ingest": 3, "hub.sync": 3, "hub.importer": 3,
    "hub.tickets": 3, "hub.tickets.inbound": 3, "hub.enrichment": 3, "hub.notify": 3,
    "hub.kb": 3, "hub.outbox": 3, "hub.jobs": 3, "hub.scheduler": 3,
    "hub.reports": 3,  # the dashboard's figures: reads of the store, below the faces
    # T4: operating the hub
    "hub.admin": 4,
    # T5: the faces
    "hub.api": 5, "hub.cli": 5, "hub.cli.render": 5, "hub.console": 5, "hub.demo": 5,
    # the entry point
    "cli": 6,
}
# Package roots whose __init__ is a docstring: a tier of their own name only, not their tree's.
ROOT_INITS: dict[str, int] = {"hub": 0}

CAPABILITIES = {prefix for prefix, tier in TIERS.items() if tier == 3}

# Sideways arrows between packages of one tier (importer -> imported); followed transitively.
SIDEWAYS: dict[str, set[str]] = {
    "hub.core": {"hub.errors", "connectors.sdk"},  # logs redact with the SDK's redactor
    "hub.mapping": {"hub.errors", "hub.core"},
    "hub.audit": {"hub.store"},
    "hub.ingest": {"hub.customers", "hub.kb"},  # what a pull or an import lands
    # a ticket is enriched with its customer's history, read through the lookups
    "hub.enrichment": {"hub.customers", "hub.ingest"},
    # every job kind records its runs in hub.jobs; a pull queues the changed customers
    "hub.sync": {"hub.ingest", "hub.jobs", "hub.enrichment"},
    "hub.importer": {"hub.ingest", "hub.jobs"},
    "hub.notify": {"hub.jobs"},
    "hub.outbox": {"hub.jobs"},
    "hub.tickets.inbound": {"hub.ingest", "hub.tickets"},
    "hub.tickets": {"hub.customers", "hub.enrichment", "hub.notify", "hub.kb", "hub.outbox"},
    "hub.scheduler": CAPABILITIES - {"hub.scheduler"},
    # the terminal views serve the CLI's commands and the demo, which is one of them;
    # `hub serve` starts the API
    "hub.cli": {"hub.cli.render", "hub.demo", "hub.api"},
    "hub.demo": {"hub.cli.render"},
    # the API app mounts the console's pages under /console (hub serve serves both)
    "hub.api": {"hub.console"},
}

FACES = ("hub.api", "hub.cli", "hub.console", "hub.demo", "cli")
ORM = ("hub.store.models", "sqlalchemy")
HEAVY_FOR_CLI = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "psycopg", "httpx", "openpyxl"}


# ---------------------------------------------------------------------------------------------
# The graph


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    where: str = ""  # "", "in a function" or "type-only"

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}" + (
            f" ({self.where})" if self.where else "")


@dataclass(frozen=True)
class Graph:
    modules: dict[str, Path]
    imports: list[Import]

    def internal(self) -> list[Import]:
        return [i for i in self.imports if i.imported in self.modules]

    def runtime_internal(self) -> list[Import]:
        return [i for i in self.internal() if i.where != "type-only"]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def discover(root: Path, scanned: tuple[str, ...] = SCANNED) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for entry in scanned:
        start = root / entry
        paths = [start] if start.is_file() else sorted(start.rglob("*.py"))
        for path in paths:
            modules[module_name(root, path)] = path
    return modules


def package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def absolute_base(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*anchor, node.module] if node.module else anchor)


def targets(node: ast.AST, package: str, modules: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = absolute_base(node, package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            yield submodule if submodule in modules else base
    elif isinstance(node, ast.Call) and is_import_module_call(node):
        yield node.args[0].value  # type: ignore[attr-defined]


def is_import_module_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    literal = bool(node.args) and isinstance(node.args[0], ast.Constant)
    return name in {"import_module", "__import__"} and literal and node.args[0].value != ""


def is_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"


def nodes_under(parents: list[ast.AST], body_of: str = "body") -> set[int]:
    return {id(node) for parent in parents for statement in getattr(parent, body_of)
            for node in ast.walk(statement)}


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import in the file, wherever it sits: at the top, in a function body (which
    ast.walk visits like the top level) or under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = package_of(module, path)
    everything = list(ast.walk(tree))
    type_only = nodes_under([n for n in everything if is_type_checking(n)])
    deferred = nodes_under([n for n in everything
                            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)])

    def where(node: ast.AST) -> str:
        if id(node) in type_only:
            return "type-only"
        return "in a function" if id(node) in deferred else ""

    return [Import(module, target, node.lineno, where(node))
            for node in everything
            for target in targets(node, package, modules)]


def build_graph(root: Path, scanned: tuple[str, ...] = SCANNED) -> Graph:
    modules = discover(root, scanned)
    found = [imp for name, path in modules.items() for imp in imports_of(name, path, modules)]
    return Graph(modules, sorted(set(found), key=lambda i: (i.importer, i.line, i.imported)))


# ---------------------------------------------------------------------------------------------
# The rules. Each returns its violations as lines naming importer, line, imported and rule.


def owner(module: str) -> str | None:
    """The TIERS prefix a module belongs to, or None when the table does not place it."""
    if module in ROOT_INITS:
        return module
    prefixes = [p for p in TIERS if module == p or module.startswith(p + ".")]
    return max(prefixes, key=len) if prefixes else None


def tier_of(prefix: str) -> int:
    return ROOT_INITS.get(prefix, TIERS.get(prefix, 0))


def reachable_sideways(start: str) -> set[str]:
    seen: set[str] = set()
    todo = deque(SIDEWAYS.get(start, set()))
    while todo:
        prefix = todo.popleft()
        if prefix not in seen:
            seen.add(prefix)
            todo.extend(SIDEWAYS.get(prefix, set()))
    return seen


def tier_violation(imp: Import) -> str | None:
    source, target = owner(imp.importer), owner(imp.imported)
    if source is None or target is None or source == target:
        return None
    if tier_of(target) < tier_of(source) or target in reachable_sideways(source):
        return None
    way = "upward" if tier_of(target) > tier_of(source) else "sideways"
    return (f"{imp}: {way} import, T{tier_of(source)} {source} -> T{tier_of(target)} {target} "
            f"[rule: tiers]")


def check_tiers(graph: Graph) -> list[str]:
    unplaced = [f"{name}: in no package of the tier table [rule: tiers]"
                for name in graph.modules if owner(name) is None]
    crossing = [tier_violation(imp) for imp in graph.internal()]
    return unplaced + [v for v in crossing if v]


def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def shortest_path(start: str, goal: str, edges: dict[str, set[str]],
                  within: set[str]) -> list[str]:
    previous: dict[str, str] = {}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        if node == goal:
            break
        for child in sorted(edges.get(node, ())):
            if child in within and child not in previous and child != start:
                previous[child] = node
                todo.append(child)
    path = [goal]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]


def cycles(graph: Graph) -> list[list[str]]:
    """For every import inside a strongly connected component, the shortest cycle through
    it; each cycle once, starting at its smallest module."""
    edges: dict[str, set[str]] = {}
    for imp in graph.runtime_internal():
        if imp.importer != imp.imported:
            edges.setdefault(imp.importer, set()).add(imp.imported)
    found: set[tuple[str, ...]] = set()
    for component in strongly_connected(sorted(graph.modules), edges):
        members = set(component)
        for source in component:
            for target in sorted(edges.get(source, set()) & members):
                loop = [source, *shortest_path(target, source, edges, members)[:-1]]
                turn = loop.index(min(loop))
                found.add(tuple(loop[turn:] + loop[:turn]))
    return [list(loop) for loop in sorted(found, key=lambda c: (len(c), c))]


def check_cycles(graph: Graph) -> list[str]:
    first: dict[tuple[str, str], Import] = {}
    for imp in graph.runtime_internal():
        first.setdefault((imp.importer, imp.imported), imp)
    reports = []
    for loop in cycles(graph):
        hops = [first[a, b] for a, b in zip(loop, loop[1:] + loop[:1], strict=True)]
        path = " -> ".join(f"{hop.importer}:{hop.line}" + (f" ({hop.where})" if hop.where
                                                           else "") for hop in hops)
        reports.append(f"cycle: {path} -> {loop[0]} [rule: no cycles]")
    return reports


def private_package(module: str) -> str | None:
    """The package a module must be imported from within, when a part of its name is
    `_private` (the innermost such part decides: it is the narrowest)."""
    parts = module.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_")
               and not part.startswith("__")]
    return ".".join(parts[: private[-1]]) if private else None


def check_private(graph: Graph) -> list[str]:
    reports = []
    for imp in graph.internal():
        package = private_package(imp.imported)
        if package is not None and not (imp.importer + ".").startswith(package + "."):
            reports.append(f"{imp}: private module of {package} [rule: no _private imports "
                           f"from outside their package]")
    return reports


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def check_orm_in_faces(graph: Graph) -> list[str]:
    return [f"{imp}: the ORM in a face [rule: api, cli, console, demo call services, never "
            f"hub.store.models or sqlalchemy]"
            for imp in graph.imports if within(imp.importer, FACES) and within(imp.imported, ORM)]


def check_connectors(graph: Graph) -> list[str]:
    return [f"{imp}: a connector reaching into the hub [rule: connectors never import hub]"
            for imp in graph.imports
            if within(imp.importer, ("connectors",)) and within(imp.imported, ("hub",))]


RULES = (check_tiers, check_cycles, check_private, check_orm_in_faces, check_connectors)


def violations(graph: Graph) -> list[str]:
    return [line for rule in RULES for line in rule(graph)]


# ---------------------------------------------------------------------------------------------
# The real tree


def test_import_graph__follows_every_rule() -> None:
    found = violations(build_graph(ROOT))
    assert not found, f"{len(found)} violations:\n" + "\n".join(found)


# ---------------------------------------------------------------------------------------------
# The checker itself, on a small planted tree: quiet when the tree is clean, loud on each rule

CLEAN_TREE: dict[str, str] = {
    "hub/__init__.py": '"""The hub."""',
    "hub/errors.py": "class HubError(Exception): ...",
    "hub/core/__init__.py": "from hub.errors import HubError",
    "hub/mapping/__init__.py": "from ._engine import compile_mapping",
    "hub/mapping/_engine.py": "from hub.core import HubError\ndef compile_mapping(): ...",
    "hub/store/__init__.py": "from . import models",
    "hub/store/models.py": "import sqlalchemy",
    "hub/runtime.py": "from .store import models\nfrom typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from hub.core import HubError",
    "hub/kb/__init__.py": "from hub.runtime import Hub",
    "hub/tickets/__init__.py": "from hub import runtime\nfrom hub.kb import search",
    "hub/tickets/inbound.py": "from . import create_ticket",
    "hub/api/__init__.py": "",
    "hub/api/routes.py": "from hub.tickets import create_ticket\nfrom fastapi import APIRouter",
    "connectors/__init__.py": "",
    "connectors/sdk/__init__.py": "from ._paging import Paginator",
    "connectors/sdk/_paging.py": "import httpx",
    "connectors/sdk/testing/__init__.py": "from .._paging import Paginator",
    "connectors/crm/__init__.py": "from connectors.sdk import Paginator",
    "cli.py": "import typer\ndef serve():\n    from hub.api import routes",
}

PLANTED: dict[str, tuple[dict[str, str | None], str]] = {
    "cycle": (
        {"hub/kb/__init__.py": "from hub.tickets import inbound"},
        "cycle: hub.kb:1 -> hub.tickets.inbound:1 -> hub.tickets:2 -> hub.kb [rule: no cycles]"),
    "cycle through a function-level import": (
        {"hub/core/__init__.py": "def load():\n    import hub.core.yamlfile",
         "hub/core/yamlfile.py": "from hub.core import load"},
        "cycle: hub.core:2 (in a function) -> hub.core.yamlfile:1 -> hub.core"),
    "upward import": (
        {"hub/store/models.py": "from hub.runtime import Hub"},
        "hub.store.models:1 imports hub.runtime: upward import, T1 hub.store -> T2 hub.runtime"),
    "upward relative import of a submodule": (
        {"hub/store/models.py": "from .. import runtime"},
        "hub.store.models:1 imports hub.runtime: upward import"),
    "function-level upward import": (
        {"hub/errors.py": "class HubError(Exception):\n    def explain(self):\n"
                          "        from hub.api.routes import router"},
        "hub.errors:3 imports hub.api.routes (in a function): upward import, T0 hub.errors"),
    "type-only upward import": (
        {"hub/core/__init__.py": "import typing\nif typing.TYPE_CHECKING:\n"
                                 "    from hub.runtime import Hub"},
        "hub.core:3 imports hub.runtime (type-only): upward import"),
    "import_module by name": (
        {"hub/core/__init__.py": "import importlib\nimportlib.import_module('hub.tickets')"},
        "hub.core:2 imports hub.tickets: upward import"),
    "sideways import off the arrows": (
        {"hub/kb/__init__.py": "from hub.tickets import create_ticket"},
        "hub.kb:1 imports hub.tickets: sideways import, T3 hub.kb -> T3 hub.tickets"),
    "module in no tier": (
        {"hub/resolutions.py": ""},
        "hub.resolutions: in no package of the tier table [rule: tiers]"),
    "private module from outside its package": (
        {"connectors/crm/__init__.py": "from connectors.sdk._paging import Paginator"},
        "connectors.crm:1 imports connectors.sdk._paging: private module of connectors.sdk"),
    "private module of a sibling package": (
        {"hub/tickets/inbound.py": "from hub.mapping import _engine"},
        "hub.tickets.inbound:1 imports hub.mapping._engine: private module of hub.mapping"),
    "private module of a private package": (
        {"hub/mapping/_engine/__init__.py": "def compile_mapping(): ...",
         "hub/mapping/_engine/_codegen.py": "",
         "hub/mapping/_engine.py": None,
         "hub/mapping/spec.py": "from hub.mapping._engine import _codegen"},
        "hub.mapping.spec:1 imports hub.mapping._engine._codegen: private module of "
        "hub.mapping._engine"),
    "ORM models in the API": (
        {"hub/api/routes.py": "from hub.store.models import Ticket"},
        "hub.api.routes:1 imports hub.store.models: the ORM in a face"),
    "SQLAlchemy in the CLI entry point": (
        {"cli.py": "def serve():\n    from sqlalchemy.orm import Session"},
        "cli:2 imports sqlalchemy.orm (in a function): the ORM in a face"),
    "connector importing the hub": (
        {"connectors/crm/__init__.py": "from hub.errors import HubError"},
        "connectors.crm:1 imports hub.errors: a connector reaching into the hub"),
}


def plant(root: Path, files: dict[str, str | None]) -> Graph:
    """Write the tree (a None text leaves the file out) and read its graph."""
    for relative, text in files.items():
        if text is not None:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text) + "\n", encoding="utf-8")
    return build_graph(root)


def test_checker__is_quiet_on_a_clean_tree(tmp_path: Path) -> None:
    assert violations(plant(tmp_path, CLEAN_TREE)) == []


def test_checker__leaves_type_only_cycles_alone(tmp_path: Path) -> None:
    graph = plant(tmp_path, {**CLEAN_TREE, "hub/core/__init__.py":
                             "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                             "    from hub.core.yamlfile import Loader",
                             "hub/core/yamlfile.py": "from hub.core import load"})
    assert violations(graph) == []


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_checker__reports_each_planted_violation(tmp_path: Path, planted: str) -> None:
    files, expected = PLANTED[planted]
    found = violations(plant(tmp_path, {**CLEAN_TREE, **files}))
    assert any(expected in line for line in found), "\n".join(found)


def modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    return set(json.loads(result.stdout))


def top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_cli__import_stays_light() -> None:
    assert not top(modules_after("import cli")) & HEAVY_FOR_CLI


@pytest.mark.parametrize(
    "package", ["connectors.sdk", "connectors.crm.connector", "connectors.rest.connector"]
)
def test_connectors__never_import_hub(package: str) -> None:
    assert "hub" not in top(modules_after(f"import {package}"))


def test_mapping__imports_no_io_library() -> None:
    loaded = top(modules_after("import hub.mapping"))
    assert not loaded & {"httpx", "sqlalchemy", "fastapi", "ruamel", "connectors", "psycopg"}
