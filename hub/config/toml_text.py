"""TOML text for the files Heartline writes (hub.toml, relay logins, the relay's state).

``tomllib`` only reads; this is the one writer. It knows the handful of value types those files
hold (strings, whole numbers, booleans, lists of them) and escapes strings the way TOML's basic
strings require, so any Unicode (names with quotes, backslashes, emoji) reads back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

Value = str | int | bool | Path | Sequence["Value"]
Table = Mapping[str, Value]

# TOML basic strings must escape '"', '\' and the control characters U+0000-U+001F and U+007F
# (TOML 1.0, "String"); everything else, emoji included, may appear as itself in UTF-8.
_SHORT_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}
_NEEDS_ESCAPE: Final = re.compile(r'["\\\x00-\x1f\x7f]')
_BARE_KEY: Final = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string, quotes included."""

    def escape(match: re.Match[str]) -> str:
        char = match[0]
        return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04X}"

    return '"' + _NEEDS_ESCAPE.sub(escape, text) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_value(value: Value) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Path):
        return toml_string(str(value))
    return "[" + ", ".join(toml_value(item) for item in value) + "]"


def render_table(table: Table) -> list[str]:
    """``key = value`` lines of one table."""
    return [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]


def render_document(
    tables: Mapping[str, Table],
    *,
    top: Table | None = None,
    arrays: Mapping[str, Sequence[Table]] | None = None,
    comment: str = "",
) -> str:
    """A whole file: a comment, top-level keys, ``[tables]``, then ``[[arrays of tables]]``."""
    lines = [f"# {line}" if line else "#" for line in comment.splitlines()]
    if top:
        lines += render_table(top)
    for name, table in tables.items():
        if lines:
            lines.append("")
        lines += [f"[{toml_key(name)}]", *render_table(table)]
    for name, items in (arrays or {}).items():
        for item in items:
            lines += ["", f"[[{toml_key(name)}]]", *render_table(item)]
    return "\n".join(lines) + "\n"
