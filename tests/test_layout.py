"""
The shape of the test code: conftest files hold fixtures and nothing imports them; what tests
share is in tests/support/; a test folder's own helpers are imported from that folder only (the
bench may use tests/support/ too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> Iterator[str]:
    """
    Every module `path` imports (at any level), as written.
    """
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def allowed_tests_prefixes(path: Path) -> tuple[str, ...]:
    parts = path.relative_to(ROOT).parts
    if parts[0] != "tests" or len(parts) == 2:  # the bench, or a module at the top of tests/
        return ("tests.support",)
    return ("tests.support", f"tests.{parts[1]}")


def test_no_module_imports_a_conftest_or_another_test_folder() -> None:
    wrong = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        if "node_modules" in path.parts:
            continue
        allowed = allowed_tests_prefixes(path)
        for name in imports(path):
            if name.split(".")[0] != "tests" or name == "tests":
                continue
            parts = name.split(".")
            if "conftest" in parts or not any(
                name == prefix or name.startswith(prefix + ".") for prefix in allowed
            ):
                wrong.append(f"{path.relative_to(ROOT)}: {name}")
    assert not wrong, "imports outside tests/support and the file's own folder:\n" + "\n".join(
        sorted(set(wrong))
    )
