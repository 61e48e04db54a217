"""
The shape of the product code: no import cycles between its modules, and no module over 400 lines.

Imports are read from the source (ast), every kind counted: at module level, inside functions
and under `if TYPE_CHECKING:`, since each says that one module needs the other. Importing a
submodule (`a.b.c`) is an edge to `a.b.c` only, not to the packages above it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The product's packages (the Django project and its apps).
PACKAGES = ("config", "board", "api", "realtime", "frontend")
#: Where modules must stay small (shared/STYLE.md: "no product file over 400 lines").
SIZED = ("config", "board", "api", "realtime")
MAX_LINES = 400
#: Modules still over MAX_LINES while they are being split (issue 19), each named so it shows.
OVERSIZE_ALLOWED: set[str] = set()
#: Import cycles still being taken apart, each named so it shows.
CYCLES_ALLOWED: list[set[str]] = []


def product_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "node_modules" not in path.parts:
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_names(source: str, name: str, is_package: bool) -> set[str]:
    """
    Every name the module `name` imports anywhere in its `source`, made absolute: `a.b` for
    `import a.b` and for `from a import b` (whether `b` is a module or a name in `a`).
    """
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imported(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """
    The modules of `known` that the module `name` imports anywhere in its `source`.
    """

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found = set(filter(None, map(owner, import_names(source, name, is_package))))
    found.discard(name)
    return found


def module_paths() -> dict[str, Path]:
    return {module_name(path): path for path in product_files()}


def import_graph() -> dict[str, set[str]]:
    paths = module_paths()
    known = set(paths)
    return {
        name: imported(path.read_text(), name, path.name == "__init__.py", known)
        for name, path in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """
    The strongly connected components of more than one module (Tarjan's algorithm).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_kind_of_import_is_an_edge_and_cycles_are_found() -> None:
    known = {"p", "p.a", "p.b", "p.c", "p.d", "p.e", "p.sub", "p.sub.f"}
    source = """
from typing import TYPE_CHECKING
import p.b.missing
from . import c
from .sub import f, g
if TYPE_CHECKING:
    from p.d import D
def later():
    from p.e import E
"""
    assert imported(source, "p.a", False, known) == {"p.b", "p.c", "p.sub.f", "p.sub", "p.d", "p.e"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_product_modules_import_each_other_without_cycles() -> None:
    found = [c for c in cycles(import_graph()) if c not in CYCLES_ALLOWED]
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_no_product_module_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in product_files()
        if path.relative_to(ROOT).parts[0] in SIZED
    }
    over = {f: n for f, n in sizes.items() if n > MAX_LINES and f not in OVERSIZE_ALLOWED}
    assert not over, f"modules over {MAX_LINES} lines: {over}"
    # An allowance ends with the split it waits for.
    fixed = [f for f in OVERSIZE_ALLOWED if sizes.get(f, 0) <= MAX_LINES]
    assert not fixed, f"under {MAX_LINES} lines now, drop their allowance: {fixed}"


def test_no_browser_module_is_over_400_lines() -> None:
    src = ROOT / "frontend" / "src"
    over = {
        str(path.relative_to(ROOT)): n
        for path in sorted(src.rglob("*.ts"))
        if not path.name.endswith(".test.ts")
        and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not over, f"browser modules over {MAX_LINES} lines: {over}"


#: What the domain (board/) must not need, directly or through the product modules it imports:
#: the socket server, the API, and the frameworks behind them (shared/STYLE.md, board/events.py).
DOMAIN_MUST_NOT_IMPORT = ("realtime", "api", "channels", "rest_framework")


def test_the_domain_imports_neither_the_socket_server_nor_drf() -> None:
    graph, paths = import_graph(), module_paths()
    reached = {name for name in graph if name == "board" or name.startswith("board.")}
    todo = list(reached)
    while todo:
        for target in graph[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    offences = {
        f"{name} imports {imported_name}"
        for name in reached
        for imported_name in import_names(
            paths[name].read_text(), name, paths[name].name == "__init__.py"
        )
        if imported_name.split(".")[0] in DOMAIN_MUST_NOT_IMPORT
    }
    assert not offences, sorted(offences)
