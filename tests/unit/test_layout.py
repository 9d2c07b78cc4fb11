"""The house layout holds: data flows one way, nothing imports the CLI, modules stay small.

Read from the source (every ``import`` at any depth, lazy ones included: a function-level
import is still a dependency), so a cycle or a stray ``cli`` import fails here before a reader
meets it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import resilient_provider

PACKAGE = Path(resilient_provider.__file__).parent
ROOT = PACKAGE.name

#: The house's "about 300 lines" (STYLE.md), with the slack the "about" gives.
MAX_MODULE_LINES = 330


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path) -> Iterator[str]:
    """The package's own modules that module ``name`` imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from .x import y`` imports x, and y too when y is a module.
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            # A package's __init__ runs before any of its modules anyway: no edge to an ancestor.
            if target in MODULES and not (name == target or name.startswith(f"{target}.")):
                yield target


GRAPH = {name: set(imported_modules(name, path)) for name, path in MODULES.items()}


def cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in GRAPH[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found


def test_the_graph_reads_the_package() -> None:
    # A guard on the reader below: if it found no edges, the other tests would pass vacuously.
    assert f"{ROOT}.strategy.engine" in GRAPH[f"{ROOT}.facade"]
    assert f"{ROOT}.strategy.cascade" in GRAPH[f"{ROOT}.strategy.engine"]


def test_no_two_modules_import_each_other_even_indirectly() -> None:
    assert cycles() == []


def test_nothing_outside_the_cli_imports_the_cli() -> None:
    cli = f"{ROOT}.cli"
    offenders = {name: sorted(t for t in targets if t == cli or t.startswith(f"{cli}."))
                 for name, targets in GRAPH.items()
                 if name != cli and not name.startswith(f"{cli}.") and name != f"{ROOT}.__main__"}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_data_flows_from_the_facade_down_never_back() -> None:
    upper = (f"{ROOT}.facade", f"{ROOT}.facade_async", f"{ROOT}.cli")
    lower = ("providers", "cache", "strategy", "stats", "config")
    offenders = {name: sorted(t for t in GRAPH[name] if t.startswith(upper))
                 for name in GRAPH if name.removeprefix(f"{ROOT}.").startswith(lower)}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_module_is_much_over_three_hundred_lines() -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines())
               for name, path in MODULES.items()}
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}
