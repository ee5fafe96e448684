"""Presence sessions in SQLite: arrive, leave, duration, confidence, per person and hub."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.store.database import Database


@dataclass(frozen=True, slots=True)
class StoredSession:
    id: int
    person: str
    hub: str
    arrived_at: datetime
    left_at: datetime | None
    last_seen_at: datetime
    confidence: float
    close_reason: str | None
    run_id: str

    @property
    def duration(self) -> timedelta | None:
        return None if self.left_at is None else self.left_at - self.arrived_at


class PresenceStore:
    """Reads and writes ``presence_sessions``. Used only from the hub's event loop thread."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def open_session(self, person: str, hub: str, arrived: datetime, run_id: str, arrived_mono: float) -> int:
        cursor = self._db.connection.execute(
            "INSERT INTO presence_sessions (person, hub, arrived_at, last_seen_at, run_id, arrived_mono,"
            " last_seen_mono) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (person, hub, arrived.isoformat(), arrived.isoformat(), run_id, arrived_mono, arrived_mono),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def touch(self, session_id: int, last_seen: datetime, last_seen_mono: float) -> None:
        self._db.connection.execute(
            "UPDATE presence_sessions SET last_seen_at = ?, last_seen_mono = ? WHERE id = ?",
            (last_seen.isoformat(), last_seen_mono, session_id),
        )

    def close(
        self,
        session_id: int,
        left: datetime,
        confidence: float,
        reason: str,
        left_mono: float | None,
    ) -> None:
        self._db.connection.execute(
            "UPDATE presence_sessions SET left_at = ?, left_mono = ?, confidence = ?, close_reason = ?,"
            " last_seen_at = CASE WHEN last_seen_at > ? THEN ? ELSE last_seen_at END WHERE id = ?",
            (left.isoformat(), left_mono, confidence, reason, left.isoformat(), left.isoformat(), session_id),
        )

    def reopen(self, session_id: int, run_id: str) -> None:
        self._db.connection.execute(
            "UPDATE presence_sessions SET left_at = NULL, left_mono = NULL, close_reason = NULL, run_id = ?"
            " WHERE id = ?",
            (run_id, session_id),
        )

    def adopt(self, session_id: int, run_id: str, arrived_mono: float, last_seen_mono: float) -> None:
        """Carry an open session from an earlier hub run into this one."""
        self._db.connection.execute(
            "UPDATE presence_sessions SET run_id = ?, arrived_mono = ?, last_seen_mono = ? WHERE id = ?",
            (run_id, arrived_mono, last_seen_mono, session_id),
        )

    def restamp(self, run_id: str, wall_minus_mono: float) -> int:
        """Re-date this run's sessions from their monotonic instants after a wall-clock step."""
        rows = self._db.connection.execute(
            "SELECT id, arrived_mono, left_mono, last_seen_mono FROM presence_sessions WHERE run_id = ?",
            (run_id,),
        ).fetchall()
        for row in rows:
            arrived = _wall(row["arrived_mono"], wall_minus_mono)
            left = _wall(row["left_mono"], wall_minus_mono)
            seen = _wall(row["last_seen_mono"], wall_minus_mono)
            self._db.connection.execute(
                "UPDATE presence_sessions SET arrived_at = COALESCE(?, arrived_at),"
                " left_at = COALESCE(?, left_at), last_seen_at = COALESCE(?, last_seen_at) WHERE id = ?",
                (arrived, left, seen, row["id"]),
            )
        return len(rows)

    def get(self, session_id: int) -> StoredSession | None:
        row = self._db.connection.execute(
            "SELECT * FROM presence_sessions WHERE id = ?",
            (session_id,),
        ).fetchone()
        return _session(row) if row else None

    def open_sessions(self, hub: str) -> list[StoredSession]:
        rows = self._db.connection.execute(
            "SELECT * FROM presence_sessions WHERE hub = ? AND left_at IS NULL ORDER BY person",
            (hub,),
        ).fetchall()
        return [_session(r) for r in rows]

    def last_closed(self, person: str, hub: str) -> StoredSession | None:
        row = self._db.connection.execute(
            "SELECT * FROM presence_sessions WHERE person = ? AND hub = ? AND left_at IS NOT NULL"
            " ORDER BY left_at DESC LIMIT 1",
            (person, hub),
        ).fetchone()
        return _session(row) if row else None

    def sessions(
        self,
        *,
        person: str | None = None,
        hub: str | None = None,
        since: datetime | None = None,
    ) -> list[StoredSession]:
        """Sessions overlapping ``since`` or later, oldest first."""
        query = "SELECT * FROM presence_sessions WHERE 1 = 1"
        args: list[str] = []
        if person is not None:
            query += " AND person = ?"
            args.append(person)
        if hub is not None:
            query += " AND hub = ?"
            args.append(hub)
        if since is not None:
            query += " AND (left_at IS NULL OR left_at >= ?)"
            args.append(since.isoformat())
        rows = self._db.connection.execute(query + " ORDER BY arrived_at, id", args).fetchall()
        return [_session(r) for r in rows]


def _wall(mono: float | None, offset: float) -> str | None:
    if mono is None:
        return None
    from datetime import UTC  # noqa: PLC0415 - local to the one conversion

    return datetime.fromtimestamp(mono + offset, UTC).isoformat()


def _session(r: sqlite3.Row) -> StoredSession:
    return StoredSession(
        id=r["id"],
        person=r["person"],
        hub=r["hub"],
        arrived_at=datetime.fromisoformat(r["arrived_at"]),
        left_at=datetime.fromisoformat(r["left_at"]) if r["left_at"] else None,
        last_seen_at=datetime.fromisoformat(r["last_seen_at"]),
        confidence=float(r["confidence"]),
        close_reason=r["close_reason"],
        run_id=r["run_id"],
    )


def forget_sessions_before(db: Database, before: datetime) -> tuple[int, int]:
    """Delete sessions that ended before ``before``; a session that spans it (or is still open)
    keeps only its part from ``before`` on. Returns (deleted, trimmed). Call inside a transaction."""
    cut = before.isoformat()
    deleted = db.connection.execute(
        "DELETE FROM presence_sessions WHERE left_at IS NOT NULL AND julianday(left_at) < julianday(?)",
        (cut,),
    ).rowcount
    trimmed = db.connection.execute(
        "UPDATE presence_sessions SET"
        " arrived_mono = arrived_mono + (julianday(?) - julianday(arrived_at)) * 86400.0,"
        " last_seen_mono = CASE WHEN julianday(last_seen_at) < julianday(?)"
        "   THEN last_seen_mono + (julianday(?) - julianday(last_seen_at)) * 86400.0 ELSE last_seen_mono END,"
        " last_seen_at = CASE WHEN julianday(last_seen_at) < julianday(?) THEN ? ELSE last_seen_at END,"
        " arrived_at = ?"
        " WHERE julianday(arrived_at) < julianday(?)",
        (cut, cut, cut, cut, cut, cut, cut),
    ).rowcount
    return deleted, trimmed
