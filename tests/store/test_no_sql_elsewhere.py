"""SQL lives in hub/store/ only: every other module reads and writes through its typed rooms.

The modules are parsed, not grepped, so a comment or a docstring that mentions ``.execute(`` is
no finding, and a call split over several lines is still one.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import pytest

import hub

HUB: Final = Path(hub.__file__).parent
STORE: Final = HUB / "store"
SQL_CALLS: Final = frozenset({"execute", "executemany", "executescript"})


def sql_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each SQL call, row_factory access or sqlite3.connect in a parsed module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called = node.func
            if called.attr in SQL_CALLS:
                found.append((node.lineno, f".{called.attr}("))
            elif called.attr == "connect" and ast.unparse(called.value) == "sqlite3":
                found.append((node.lineno, "sqlite3.connect("))
        elif isinstance(node, ast.Attribute) and node.attr == "row_factory":
            found.append((node.lineno, ".row_factory"))
    return sorted(found)


def _modules_outside_store() -> dict[str, ast.AST]:
    return {
        path.relative_to(HUB).as_posix(): ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for path in sorted(HUB.rglob("*.py"))
        if not path.is_relative_to(STORE)
    }


@pytest.mark.slow  # parses every module
def test_no_module_outside_the_store_runs_sql() -> None:
    findings = [
        f"hub/{name}:{line}: {what}"
        for name, tree in _modules_outside_store().items()
        for line, what in sql_uses(tree)
    ]
    assert not findings, "SQL outside hub/store/; move it behind a store function:\n" + "\n".join(findings)
