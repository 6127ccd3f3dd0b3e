"""The shape of bridge's import graph, read from the source with `ast` (nothing is
imported, so a cycle cannot hide behind import order).

Every `import` counts, at module level and inside functions alike: an import moved into a
function still ties the two modules together, it only postpones the failure. Imports
under `if TYPE_CHECKING:` are left out of the cycle check, since they never run, but
still count for the layering rules: they are dependencies all the same."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bridge"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    in_function: bool
    type_only: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The bridge modules an import statement loads: `from pkg import name` names the
    submodule when there is one, else the package."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _resolve(module, is_package, node)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                 for alias in node.names]
    found = []
    for name in names:
        while name and name not in MODULES:  # `import bridge.x.y as z` -> the module itself
            name = name.rpartition(".")[0]
        if name and name not in found:
            found.append(name)
    return found


def _edges_of(module: str, path: Path) -> list[Edge]:
    is_package = path.name == "__init__.py"
    edges: list[Edge] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for target in _targets(module, is_package, node):
                if target != module:
                    edges.append(Edge(module, target, node.lineno, in_function, type_only))
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, in_function, True)
            for child in node.orelse:
                visit(child, in_function, type_only)
            return
        nested = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, nested, type_only)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)
    return edges


EDGES = [edge for module, path in MODULES.items() for edge in _edges_of(module, path)]


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _cycles(edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for edge in edges:
        graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


# Rule violations the code base has today, each with why it stands. An entry is
# (importing module, imported module); the test fails when one is no longer needed, so
# the list only shrinks.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


# (packages the rule is about, packages they must not import)
FORBIDDEN = [
    # Use cases are driven by the cli and the worker, never the other way round.
    (("bridge.services",), ("bridge.worker", "bridge.cli", "bridge.cli_common",
                            "bridge.cli_inbound", "bridge.cli_stock")),
    # Adapters translate one platform; the flows that use them live in services.
    (("bridge.carts",), ("bridge.services", "bridge.worker")),
]

# (package, the only bridge packages it may import besides itself)
CONFINED = [
    # The domain is pure types and rules: nothing but the error tree.
    ("bridge.domain", ("bridge.errors",)),
    # The simulator stands alone (it is Amazon's side of the wire); it needs only the
    # SP-API models it validates requests against and reads operations and rate limits
    # from. bridge.errors and bridge.logging are bridge's side and stay out of it.
    ("bridge.sim", ("bridge.spapi_models",)),
]


def _forbidden(sources, targets) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in EDGES
            if _within(e.source, *sources) and _within(e.target, *targets)}


def _outside(package, allowed) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in EDGES
            if _within(e.source, package) and e.target != "bridge"
            and not _within(e.target, package, *allowed)}


def _violations() -> set[tuple[str, str]]:
    found = set()
    for rule in FORBIDDEN:
        found |= _forbidden(*rule)
    for rule in CONFINED:
        found |= _outside(*rule)
    return found


def _where(pairs: set[tuple[str, str]]) -> str:
    lines = [f"{edge.source} -> {edge.target} (line {edge.line})" for edge in EDGES
             if (edge.source, edge.target) in pairs]
    return "\n".join(sorted(set(lines)))


def test_the_graph_is_read():
    assert "bridge.sim.server" in MODULES and "bridge.cli" in MODULES
    assert any(e.source == "bridge.cli" and e.target == "bridge.sim.cli" for e in EDGES)


def test_no_import_cycles():
    cycles = _cycles([edge for edge in EDGES if not edge.type_only])
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("sources, targets", FORBIDDEN,
                         ids=[rule[0][0] for rule in FORBIDDEN])
def test_forbidden_dependencies(sources, targets):
    unexpected = _forbidden(sources, targets) - KNOWN_EXCEPTIONS
    assert not unexpected, _where(unexpected)


@pytest.mark.parametrize("package, allowed", CONFINED, ids=[rule[0] for rule in CONFINED])
def test_confined_packages(package, allowed):
    unexpected = _outside(package, allowed) - KNOWN_EXCEPTIONS
    assert not unexpected, _where(unexpected)


def test_known_exceptions_still_apply():
    stale = KNOWN_EXCEPTIONS - _violations()
    assert not stale, f"no longer needed, remove from KNOWN_EXCEPTIONS: {sorted(stale)}"


# Imports the simulator makes inside functions, each because the module is optional at
# run time. Everything else is imported at the top, where the graph is plain to see.
SIM_DEFERRED_IMPORTS: set[tuple[str, str]] = set()


def test_the_simulator_imports_at_module_level():
    deferred = {(e.source, e.target) for e in EDGES
                if e.in_function and _within(e.source, "bridge.sim")}
    assert deferred <= SIM_DEFERRED_IMPORTS, _where(deferred - SIM_DEFERRED_IMPORTS)


# The simulator's layers: the shared top-level modules, then inventory, then outbound and
# inbound (both on the stock book, neither on the other), then the modules that put it
# all together. API modules may name the Simulator in type hints only.
_SIM_ASSEMBLY = ("bridge.sim", "bridge.sim.apis", "bridge.sim.simulator", "bridge.sim.app",
                 "bridge.sim.admin", "bridge.sim.server", "bridge.sim.client", "bridge.sim.cli")
SIM_LAYERS = [
    ("bridge.sim.inventory", ("bridge.sim.outbound", "bridge.sim.inbound")),
    ("bridge.sim.outbound", ("bridge.sim.inbound",)),
    ("bridge.sim.inbound", ("bridge.sim.outbound",)),
]


@pytest.mark.parametrize("package, above", SIM_LAYERS, ids=[rule[0] for rule in SIM_LAYERS])
def test_simulator_layers(package, above):
    upward = {(e.source, e.target) for e in EDGES
              if _within(e.source, package) and not e.type_only
              and (_within(e.target, *above) or e.target in _SIM_ASSEMBLY)}
    assert not upward, _where(upward)


def test_cli_groups_do_not_import_the_main_command():
    back = {(e.source, e.target) for e in EDGES
            if e.target == "bridge.cli" and e.source.startswith("bridge.cli_")}
    assert not back, _where(back)
