"""The relay's durable queues: the outbox (sealed envelopes) and the ids of inbox messages seen."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hub.store.database import Database

# A signal the broker confirmed but the partner has not acknowledged is published again after
# this long, doubling per attempt up to the cap (a partner offline for days costs a few resends
# a day, not thousands; the receiver de-duplicates by id).
RESEND_FIRST_S: Final = 60.0
RESEND_CAP_S: Final = 3600.0


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str
    topic: str
    payload: bytes
    needs_receipt: bool
    attempts: int


@contextmanager
def bookkeeping(db: Database) -> Iterator[None]:
    """One transaction whose loss at a power cut costs only a republish, committed without
    waiting for the disk: a broker confirmation recorded, a receipt applied.

    Lost, the outbox still holds the item (published again, the receiver de-duplicates by id and
    answers again), so nothing a person relies on depends on it reaching the disk first. SQLite
    in WAL mode with ``synchronous=NORMAL`` (for this one commit) appends it to the WAL without an
    fsync; the next durable (``FULL``) commit syncs it along, and it is never half-written.
    Inside another transaction it simply joins that one."""
    connection = db.connection
    if db.in_transaction:
        with db.transaction():
            yield
        return
    (previous,) = connection.execute("PRAGMA synchronous").fetchone()
    connection.execute("PRAGMA synchronous=NORMAL")
    try:
        with db.transaction():
            yield
    finally:
        connection.execute(f"PRAGMA synchronous={int(previous)}")


def resend_delay(attempts: int, first_s: float = RESEND_FIRST_S, cap_s: float = RESEND_CAP_S) -> timedelta:
    return timedelta(seconds=min(cap_s, first_s * 2 ** min(32, max(0, attempts - 1))))


class Outbox:
    def __init__(self, db: Database, *, resend_first_s: float = RESEND_FIRST_S) -> None:
        self._db = db
        self._resend_first_s = resend_first_s

    def put(self, item_id: str, topic: str, payload: bytes, at: datetime, *, needs_receipt: bool) -> None:
        self._db.connection.execute(
            "INSERT OR IGNORE INTO outbox (id, topic, payload, created_at, needs_receipt)"
            " VALUES (?, ?, ?, ?, ?)",
            (item_id, topic, payload, at.isoformat(), int(needs_receipt)),
        )

    def due(self, now: datetime, limit: int = 100, exclude: Collection[str] = ()) -> list[OutboxItem]:
        """Items to publish now: confirmed long ago without a receipt (oldest first), then never
        published (in the order they were queued). ``exclude``: ids already being published (at
        most a few hundred).

        Two queries, each an ordered walk of the ``outbox_due`` index (its entries for one value
        are in rowid order): a drained outage of thousands of items costs ``limit`` rows per call,
        not a sort of the whole outbox."""
        skip = ",".join("?" * len(exclude))
        rows = self._db.connection.execute(
            "SELECT id, topic, payload, needs_receipt, attempts FROM outbox "  # noqa: S608 - placeholders only
            f"WHERE next_attempt_at <= ? AND id NOT IN ({skip}) ORDER BY created_at, rowid LIMIT ?",
            (now.isoformat(), *exclude, limit),
        ).fetchall()
        if len(rows) < limit:
            rows += self._db.connection.execute(
                "SELECT id, topic, payload, needs_receipt, attempts FROM outbox "  # noqa: S608 - placeholders only
                f"WHERE next_attempt_at IS NULL AND id NOT IN ({skip}) ORDER BY rowid LIMIT ?",
                (*exclude, limit - len(rows)),
            ).fetchall()
        return [
            OutboxItem(r["id"], r["topic"], bytes(r["payload"]), bool(r["needs_receipt"]), r["attempts"])
            for r in rows
        ]

    def mark_attempt(self, item_id: str) -> None:
        self._db.connection.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (item_id,))

    def confirmed(self, item: OutboxItem, now: datetime) -> None:
        """The broker confirmed: a receipt leaves; a signal waits for its receipt, then resends."""
        self.confirmed_all([item], now)

    def confirmed_all(self, items: Sequence[OutboxItem], now: datetime) -> None:
        """``confirmed`` for a batch of confirmations, in two statements."""
        self._db.connection.executemany(
            "DELETE FROM outbox WHERE id = ?", [(item.id,) for item in items if not item.needs_receipt]
        )
        self._db.connection.executemany(
            "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?",
            [
                ((now + resend_delay(item.attempts + 1, self._resend_first_s)).isoformat(), item.id)
                for item in items
                if item.needs_receipt
            ],
        )

    def receipts_arrived(self, item_ids: Sequence[str]) -> None:
        self._db.connection.executemany(
            "DELETE FROM outbox WHERE id = ?", [(item_id,) for item_id in item_ids]
        )

    def ids(self, prefix: str) -> list[str]:
        """Ids of items whose id starts with ``prefix`` (one-off and latest-wins kinds)."""
        rows = self._db.connection.execute("SELECT id FROM outbox WHERE id LIKE ?", (_like_prefix(prefix),))
        return [str(row[0]) for row in rows]

    def drop(self, prefix: str) -> int:
        """Forget every item whose id starts with ``prefix``; how many were dropped."""
        cursor = self._db.connection.execute("DELETE FROM outbox WHERE id LIKE ?", (_like_prefix(prefix),))
        return cursor.rowcount

    def __len__(self) -> int:
        (count,) = self._db.connection.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(count)

    def unconfirmed(self) -> int:
        """Items the broker has not confirmed yet (what an outage leaves behind)."""
        (count,) = self._db.connection.execute(
            "SELECT COUNT(*) FROM outbox WHERE next_attempt_at IS NULL",
        ).fetchone()
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


def _like_prefix(prefix: str) -> str:
    if any(c in prefix for c in "%_\\"):
        raise ValueError(f"an outbox id prefix is plain text, not a LIKE pattern: {prefix!r}")
    return prefix + "%"
