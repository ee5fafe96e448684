"""Small named values the hub keeps beside its tables (the ``meta`` table: key -> text)."""

from __future__ import annotations

from hub.store.database import Database


class MetaStore:
    """Get and put one text value by key; a put joins the caller's transaction, if any."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str) -> str | None:
        row = self._db.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        self._db.connection.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
