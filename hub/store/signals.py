"""The signal log: every signal sent or received, with its current fate."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final

from hub.events import Channel, Direction, Fate, SignalKind, SignalRecord
from hub.store.database import Database

# Well below SQLite's bound on parameters in one statement (32766 since 3.32, 999 before).
MAX_IDS_PER_STATEMENT: Final = 500


class SignalLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def next_seq(self) -> int:
        """The next per-hub sequence number, durable across restarts."""
        row = self._db.connection.execute(
            "INSERT INTO meta (key, value) VALUES ('seq', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 "
            "RETURNING value",
        ).fetchone()
        return int(row[0])

    def add(self, record: SignalRecord) -> bool:
        """Insert; returns False if a signal with this id is already known."""
        cursor = self._db.connection.execute(
            "INSERT OR IGNORE INTO signals (id, direction, kind, sender, seq, created_at, fate,"
            " channel, reason, updated_at, made_at, made_away)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.direction.value,
                record.kind.value,
                record.sender,
                record.seq,
                record.created_at.isoformat(),
                record.fate.value,
                record.channel.value if record.channel else None,
                record.reason,
                record.updated_at.isoformat(),
                record.made_at.isoformat() if record.made_at else None,
                int(record.made_away),
            ),
        )
        return cursor.rowcount == 1

    def set_fate(
        self,
        signal_id: str,
        fate: Fate,
        at: datetime,
        *,
        channel: Channel | None = None,
        reason: str | None = None,
        only_from: Collection[Fate] | None = None,
        direction: Direction | None = None,
    ) -> SignalRecord | None:
        """Move a signal to ``fate``; the record as it is now, or None if no signal changed
        (none with this id, or not of ``direction``, or not in one of the fates ``only_from``)."""
        changed = self.set_fates(
            [signal_id], fate, at, channel=channel, reason=reason, only_from=only_from, direction=direction
        )
        return changed[0] if changed else None

    def set_fates(
        self,
        signal_ids: Sequence[str],
        fate: Fate,
        at: datetime,
        *,
        channel: Channel | None = None,
        reason: str | None = None,
        only_from: Collection[Fate] | None = None,
        direction: Direction | None = None,
    ) -> list[SignalRecord]:
        """``set_fate`` for many signals in one statement (a batch of confirmations, a receipt
        answering many): the records that changed, in no particular order. At most
        MAX_IDS_PER_STATEMENT ids."""
        if len(signal_ids) > MAX_IDS_PER_STATEMENT:
            raise ValueError(f"at most {MAX_IDS_PER_STATEMENT} ids in one statement")
        if not signal_ids:
            return []
        where, args = f"id IN ({','.join('?' * len(signal_ids))})", list(signal_ids)
        if direction is not None:
            where += " AND direction = ?"
            args.append(direction.value)
        if only_from is not None:
            where += f" AND fate IN ({','.join('?' * len(only_from))})"
            args.extend(f.value for f in only_from)
        rows = self._db.connection.execute(
            "UPDATE signals SET fate = ?, channel = COALESCE(?, channel), reason = ?, updated_at = ?"  # noqa: S608 - placeholders only
            f" WHERE {where} RETURNING *",
            (fate.value, channel.value if channel else None, reason, at.isoformat(), *args),
        ).fetchall()
        return [_record(row) for row in rows]

    def set_kind(self, signal_id: str, kind: SignalKind, direction: Direction) -> None:
        """A signal's meaning, once its shared moment is known (hub.delivery.moments)."""
        self._db.connection.execute(
            "UPDATE signals SET kind = ? WHERE id = ? AND direction = ?",
            (kind.value, signal_id, direction.value),
        )

    def counts_since(self, since: datetime) -> dict[tuple[str, str], int]:
        """(direction, kind) -> how many signals were created since ``since``."""
        rows = self._db.connection.execute(
            "SELECT direction, kind, COUNT(*) FROM signals WHERE created_at >= ? GROUP BY direction, kind",
            (since.isoformat(),),
        ).fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def count_by_fate(self) -> dict[Fate, int]:
        """How many signals are in each fate now; a fate no signal is in is left out."""
        rows = self._db.connection.execute("SELECT fate, COUNT(*) FROM signals GROUP BY fate").fetchall()
        return {Fate(r[0]): int(r[1]) for r in rows}

    def get(self, signal_id: str) -> SignalRecord | None:
        row = self._db.connection.execute("SELECT * FROM signals WHERE id = ?", (signal_id,)).fetchone()
        return _record(row) if row else None

    def recent(self, limit: int = 100) -> list[SignalRecord]:
        rows = self._db.connection.execute(
            "SELECT * FROM signals ORDER BY created_at DESC, seq DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [_record(row) for row in rows]


def _record(r: sqlite3.Row) -> SignalRecord:
    return SignalRecord(
        id=r["id"],
        direction=Direction(r["direction"]),
        kind=SignalKind(r["kind"]),
        sender=r["sender"],
        seq=r["seq"],
        created_at=datetime.fromisoformat(r["created_at"]),
        fate=Fate(r["fate"]),
        channel=Channel(r["channel"]) if r["channel"] else None,
        reason=r["reason"],
        updated_at=datetime.fromisoformat(r["updated_at"]),
        made_at=datetime.fromisoformat(r["made_at"]) if r["made_at"] else None,
        made_away=bool(r["made_away"]),
    )
