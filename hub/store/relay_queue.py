"""The relay's durable queues: the outbox (sealed, not yet confirmed) and the inbox ids seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.store.database import Database


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str
    topic: str
    payload: bytes
    attempts: int


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, item_id: str, topic: str, payload: bytes, at: datetime) -> None:
        self._db.connection.execute(
            "INSERT OR IGNORE INTO outbox (id, topic, payload, created_at) VALUES (?, ?, ?, ?)",
            (item_id, topic, payload, at.isoformat()),
        )

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        rows = self._db.connection.execute(
            "SELECT id, topic, payload, attempts FROM outbox ORDER BY created_at, rowid LIMIT ?",
            (limit,),
        ).fetchall()
        return [OutboxItem(r["id"], r["topic"], bytes(r["payload"]), r["attempts"]) for r in rows]

    def mark_attempt(self, item_id: str) -> None:
        self._db.connection.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,))

    def confirm(self, item_id: str) -> None:
        """The broker confirmed the message: it leaves the outbox."""
        self._db.connection.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def __len__(self) -> int:
        (count,) = self._db.connection.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)


class InboxLedger:
    """Relay message ids already handled; a redelivered id is recognised and only acknowledged."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def first_time(self, message_id: str, at: datetime) -> bool:
        cursor = self._db.connection.execute(
            "INSERT OR IGNORE INTO inbox (id, received_at) VALUES (?, ?)",
            (message_id, at.isoformat()),
        )
        return cursor.rowcount == 1
