"""The command line is the top of the house: no module of ``hub`` outside ``hub/cli/`` imports it,
so the daemon, the web app and the domain packages never depend on argument parsing or printing."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"
CLI = HUB / "cli"


def imported_modules(source: str, package: str) -> Iterator[str]:
    """Every module ``source`` imports, relative imports resolved against ``package`` (the importing
    module's own). ``from a import b`` yields ``a.b`` as well as ``a``: b may be a module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _imports_of(path: Path) -> Iterator[str]:
    parts = path.relative_to(HUB.parent).with_suffix("").parts
    package = parts if path.name == "__init__.py" else parts[:-1]
    return imported_modules(path.read_text(encoding="utf-8"), ".".join(package))


def _is_cli(module: str) -> bool:
    return module == "hub.cli" or module.startswith("hub.cli.")


def test_nothing_in_hub_outside_the_cli_imports_it() -> None:
    importers = [
        f"{path.relative_to(HUB.parent)} imports {module}"
        for path in sorted(HUB.rglob("*.py"))
        if CLI not in path.parents
        for module in _imports_of(path)
        if _is_cli(module)
    ]
    assert importers == []


def test_the_check_sees_every_form_of_import() -> None:
    source = """
import hub.clinic
import hub.cli.main
from hub import cli
from .. import cli as c
from ..cli.client import call_hub
"""
    found = [module for module in imported_modules(source, "hub.web") if _is_cli(module)]
    assert found == ["hub.cli.main", "hub.cli", "hub.cli", "hub.cli.client", "hub.cli.client.call_hub"]
    assert any(_is_cli(module) for module in _imports_of(CLI / "main.py"))
