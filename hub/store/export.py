"""Reading every table whole, for an export: one snapshot, tables and columns as the file has them.

Table and column names are interpolated into SQL (they cannot be bound as parameters): they are
quoted, and a table whose name is not a plain identifier is not listed at all.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Final

from hub.store.database import Database

_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[None]:
    """One read transaction, so tables read one after another agree with each other (a writer
    meanwhile is not seen); joins the caller's transaction if one is open."""
    if db.in_transaction:
        yield
        return
    db.connection.execute("BEGIN")
    try:
        yield
    finally:
        db.connection.execute("COMMIT")


def table_names(db: Database) -> list[str]:
    """The file's own tables (not SQLite's), by name; names that are not plain identifiers are left out."""
    rows = db.connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )
    return [name for name in (str(r[0]) for r in rows) if _IDENTIFIER.match(name)]


def column_names(db: Database, table: str) -> list[str]:
    """``table``'s columns in the order they were declared."""
    return [str(r[1]) for r in db.connection.execute(f"PRAGMA table_info({_quote(table)})")]


def table_rows(db: Database, table: str, columns: list[str], batch_size: int) -> Iterator[tuple[object, ...]]:
    """``columns`` of every row of ``table`` in rowid order, fetched ``batch_size`` rows at a time
    so a table of any length is read in constant memory. No columns: no rows."""
    if not columns:
        return
    selected = ", ".join(_quote(c) for c in columns)
    cursor = db.connection.execute(f"SELECT {selected} FROM {_quote(table)} ORDER BY rowid")  # noqa: S608 - quoted
    try:
        while batch := cursor.fetchmany(batch_size):
            for row in batch:
                yield tuple(row)
    finally:
        cursor.close()


def _quote(name: str) -> str:
    """``name`` as an SQL identifier: double-quoted, inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'
