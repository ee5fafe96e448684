"""The button registry: which buttons this hub trusts, their keys and counters."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from hub.store.database import Database


@dataclass(frozen=True, slots=True)
class ButtonRecord:
    id: int
    address: str
    kind: str  # "heartline" (ours: feedback over GATT) or "bthome" (off-the-shelf, input only)
    key: bytes
    owner: str
    command_counter: int
    advert_counter: int
    battery: int | None
    rssi: int | None
    last_seen: datetime | None

    def __repr__(self) -> str:  # keys never reach logs, not even through repr()
        return (
            f"ButtonRecord(id={self.id}, address={self.address!r}, kind={self.kind!r}, owner={self.owner!r})"
        )


class ButtonRegistry:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.transaction = db.transaction

    def upsert(self, address: str, kind: str, key: bytes, owner: str) -> ButtonRecord:
        """Register a button, or update its key/owner; a new key resets its counters."""
        address = address.upper()
        self._db.connection.execute(
            "INSERT INTO buttons (address, kind, key_hex, owner) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (address) DO UPDATE SET kind = excluded.kind, owner = excluded.owner, "
            "advert_counter = CASE WHEN key_hex = excluded.key_hex THEN advert_counter ELSE -1 END, "
            "command_counter = CASE WHEN key_hex = excluded.key_hex THEN command_counter ELSE 0 END, "
            "key_hex = excluded.key_hex",
            (address, kind, key.hex(), owner),
        )
        record = self.by_address(address)
        assert record is not None
        return record

    def remove(self, button_id: int) -> bool:
        cursor = self._db.connection.execute("DELETE FROM buttons WHERE id = ?", (button_id,))
        return cursor.rowcount == 1

    def all(self) -> list[ButtonRecord]:
        rows = self._db.connection.execute("SELECT * FROM buttons ORDER BY id").fetchall()
        return [_record(row) for row in rows]

    def by_address(self, address: str) -> ButtonRecord | None:
        row = self._db.connection.execute(
            "SELECT * FROM buttons WHERE address = ?",
            (address.upper(),),
        ).fetchone()
        return _record(row) if row else None

    def by_id(self, button_id: int) -> ButtonRecord | None:
        row = self._db.connection.execute("SELECT * FROM buttons WHERE id = ?", (button_id,)).fetchone()
        return _record(row) if row else None

    def by_owner(self, owner: str) -> list[ButtonRecord]:
        rows = self._db.connection.execute(
            "SELECT * FROM buttons WHERE owner = ? ORDER BY id",
            (owner,),
        ).fetchall()
        return [_record(row) for row in rows]

    def accept_advert(
        self,
        button_id: int,
        counter: int,
        at: datetime,
        *,
        battery: int | None,
        rssi: int,
    ) -> bool:
        """Record an advert counter; False if it is not newer than the stored one (a replay)."""
        cursor = self._db.connection.execute(
            "UPDATE buttons SET advert_counter = ?, battery = COALESCE(?, battery), rssi = ?, "
            "last_seen = ? WHERE id = ? AND advert_counter < ?",
            (counter, battery, rssi, at.isoformat(), button_id, counter),
        )
        return cursor.rowcount == 1

    def record_seen(
        self,
        button_id: int,
        counter: int,
        at: datetime,
        *,
        battery: int | None,
        rssi: int,
    ) -> None:
        """Persist what ingest already accepted in memory; the counter never moves backwards."""
        self._db.connection.execute(
            "UPDATE buttons SET advert_counter = MAX(advert_counter, ?), battery = COALESCE(?, battery), "
            "rssi = ?, last_seen = ? WHERE id = ?",
            (counter, battery, rssi, at.isoformat(), button_id),
        )

    def next_command_counter(self, button_id: int, at_least: int = 0) -> int:
        """Reserve the next command counter, durably, before the command is sent."""
        row = self._db.connection.execute(
            "UPDATE buttons SET command_counter = MAX(command_counter, ?) + 1 WHERE id = ? "
            "RETURNING command_counter",
            (at_least, button_id),
        ).fetchone()
        if row is None:
            raise KeyError(button_id)
        return int(row[0])


def _record(r: sqlite3.Row) -> ButtonRecord:
    return ButtonRecord(
        id=r["id"],
        address=r["address"],
        kind=r["kind"],
        key=bytes.fromhex(r["key_hex"]),
        owner=r["owner"],
        command_counter=r["command_counter"],
        advert_counter=r["advert_counter"],
        battery=r["battery"],
        rssi=r["rssi"],
        last_seen=datetime.fromisoformat(r["last_seen"]) if r["last_seen"] else None,
    )
