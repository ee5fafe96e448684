"""SQL lives in hub/store/ only: every other module reads and writes through its typed rooms.

The modules are parsed, not grepped, so a comment or a docstring that mentions ``.execute(`` is
no finding, and a call split over several lines is still one.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Final

import hub

HUB: Final = Path(hub.__file__).parent
STORE: Final = HUB / "store"
SQL_CALLS: Final = frozenset({"execute", "executemany", "executescript"})
# Modules whose SQL is moving onto a store room that already exists; each entry names that room.
# An entry whose module no longer has SQL fails the second test: remove it then.
MOVING: Final = {
    "settings.py": "hub.store.meta.MetaStore",
    "relay/relay.py": "hub.store.relay_queue.Outbox.ids / Outbox.drop",
    "web/metrics.py": "hub.store.signals.SignalLog.count_by_fate",
}


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


def test_no_module_outside_the_store_runs_sql() -> None:
    findings = [
        f"hub/{name}:{line}: {what}"
        for name, tree in _modules_outside_store().items()
        if name not in MOVING
        for line, what in sql_uses(tree)
    ]
    assert not findings, "SQL outside hub/store/; move it behind a store function:\n" + "\n".join(findings)


def test_every_module_still_moving_its_sql_still_has_some() -> None:
    modules = _modules_outside_store()
    done = [name for name in MOVING if name in modules and not sql_uses(modules[name])]
    assert not done, f"these modules no longer run SQL; remove them from MOVING: {done}"


def test_the_finder_sees_calls_and_row_factory_but_not_words() -> None:
    source = '''
"""Docs may say connection.execute("SELECT 1") freely."""
import sqlite3
# db.executescript("...") in a comment is fine too
db.connection.execute(
    "SELECT 1"
)
cursor.executemany("INSERT", rows)
connection.row_factory = sqlite3.Row
sqlite3.connect(":memory:")
run.execute_later()
'''
    assert sql_uses(ast.parse(source)) == [
        (5, ".execute("),
        (8, ".executemany("),
        (9, ".row_factory"),
        (10, "sqlite3.connect("),
    ]
