"""Delivery's durable state: signals held until a release time, and links between signals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hub.events import Direction
from hub.store.database import Database

HoldReason = Literal["quiet_hours", "rate_limit"]
Relation = Literal["felt", "moment"]


@dataclass(frozen=True, slots=True)
class FeltReply:
    """A "felt it" reply and the signal it answered, each made at its own hub's clock."""

    direction: Direction  # the reply's: sent by this home, or received from the partner
    replied_at: datetime
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class Hold:
    signal_id: str
    reason: HoldReason
    release_at: datetime


class HoldStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, signal_id: str, reason: HoldReason, release_at: datetime) -> None:
        self._db.connection.execute(
            "INSERT INTO holds (signal_id, reason, release_at) VALUES (?, ?, ?) ON CONFLICT (signal_id)"
            " DO UPDATE SET reason = excluded.reason, release_at = excluded.release_at",
            (signal_id, reason, release_at.isoformat()),
        )

    def postpone(self, reason: HoldReason, release_at: datetime) -> None:
        """Move every hold of ``reason`` to ``release_at`` (a flood still going on)."""
        self._db.connection.execute(
            "UPDATE holds SET release_at = ? WHERE reason = ?", (release_at.isoformat(), reason)
        )

    def all(self) -> list[Hold]:
        rows = self._db.connection.execute(
            "SELECT signal_id, reason, release_at FROM holds ORDER BY release_at, rowid"
        ).fetchall()
        return [Hold(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]

    def get(self, signal_id: str) -> Hold | None:
        row = self._db.connection.execute(
            "SELECT signal_id, reason, release_at FROM holds WHERE signal_id = ?", (signal_id,)
        ).fetchone()
        return Hold(row[0], row[1], datetime.fromisoformat(row[2])) if row else None

    def release(self, signal_id: str) -> None:
        self._db.connection.execute("DELETE FROM holds WHERE signal_id = ?", (signal_id,))


class SignalLinks:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, signal_id: str, relation: Relation, ref: str) -> None:
        self._db.connection.execute(
            "INSERT OR IGNORE INTO signal_links (signal_id, relation, ref) VALUES (?, ?, ?)",
            (signal_id, relation, ref),
        )

    def ref(self, signal_id: str, relation: Relation) -> str | None:
        row = self._db.connection.execute(
            "SELECT ref FROM signal_links WHERE signal_id = ? AND relation = ?", (signal_id, relation)
        ).fetchone()
        return str(row[0]) if row else None

    def answered(self, ref: str, relation: Relation) -> bool:
        row = self._db.connection.execute(
            "SELECT 1 FROM signal_links WHERE ref = ? AND relation = ?", (ref, relation)
        ).fetchone()
        return row is not None

    def felt_replies_since(self, since: datetime) -> list[FeltReply]:
        """Every "felt it" reply made since ``since``, with the time of the signal it answered."""
        rows = self._db.connection.execute(
            "SELECT s.direction, s.created_at, r.created_at FROM signal_links AS l"
            " JOIN signals AS s ON s.id = l.signal_id JOIN signals AS r ON r.id = l.ref"
            " WHERE l.relation = 'felt' AND julianday(s.created_at) >= julianday(?)",
            (since.isoformat(),),
        ).fetchall()
        return [
            FeltReply(Direction(direction), datetime.fromisoformat(replied), datetime.fromisoformat(answered))
            for direction, replied, answered in rows
        ]

    def shared_moments_since(self, since: datetime) -> int:
        """Shared moments linked since ``since``; a pair both hubs linked counts once."""
        (moments,) = self._db.connection.execute(
            "SELECT COUNT(DISTINCT min(l.signal_id, l.ref) || ' ' || max(l.signal_id, l.ref))"
            " FROM signal_links AS l JOIN signals AS s ON s.id = l.signal_id"
            " WHERE l.relation = 'moment' AND julianday(s.created_at) >= julianday(?)",
            (since.isoformat(),),
        ).fetchone()
        return int(moments)
