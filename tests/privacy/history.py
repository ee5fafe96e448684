"""A small, known history in a real hub database, for the privacy tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from hub.events import Channel, Direction, Fate, SignalKind, SignalRecord
from hub.store.buttons import ButtonRegistry
from hub.store.database import Database
from hub.store.holds import HoldStore, SignalLinks
from hub.store.presence import PresenceStore
from hub.store.relay_queue import InboxLedger, Outbox
from hub.store.signals import SignalLog

NOW: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CUT: Final = datetime(2026, 2, 1, tzinfo=UTC)
KEY: Final = bytes.fromhex("00112233445566778899aabbccddeeff")


@dataclass(frozen=True, slots=True)
class Known:
    old_signals: int  # made before CUT, nothing waiting on them
    new_signals: int
    waiting_id: str  # before CUT, still in the outbox waiting for a receipt
    held_id: str  # before CUT, held for quiet hours


def signal(
    log: SignalLog,
    sid: str,
    at: datetime,
    *,
    direction: Direction = Direction.SENT,
    kind: SignalKind = SignalKind.THINKING_OF_YOU,
) -> None:
    log.add(
        SignalRecord(
            id=sid,
            direction=direction,
            kind=kind,
            sender="ana" if direction is Direction.SENT else "ben",
            seq=log.next_seq(),
            created_at=at,
            fate=Fate.DELIVERED,
            channel=Channel.BUTTON,
            reason=None,
            updated_at=at,
        )
    )


def populate(db: Database, *, old_days: int = 40, old_per_day: int = 3) -> Known:
    """Signals on ``old_days`` days before CUT and on 10 days after it, with links, holds,
    inbox ids, outbox rows, presence sessions and one button."""
    log, links, holds = SignalLog(db), SignalLinks(db), HoldStore(db)
    outbox, inbox, presence = Outbox(db), InboxLedger(db), PresenceStore(db)
    old = new = 0
    with db.transaction():
        ButtonRegistry(db).upsert("C0:FF:EE:00:00:0A", "heartline", KEY, "ana")
        for day in range(-old_days, 10):
            start = CUT + timedelta(days=day, hours=9)
            for i in range(old_per_day):
                at = start + timedelta(minutes=10 * i)
                received = f"r{day:+04d}{i}"
                signal(log, received, at, direction=Direction.RECEIVED)
                inbox.first_time(received, at)
                reply = f"s{day:+04d}{i}"
                signal(log, reply, at + timedelta(seconds=30), kind=SignalKind.FELT_IT)
                links.add(reply, "felt", received)
                if day < 0:
                    old += 2
                else:
                    new += 2
            session = presence.open_session("ana", "home", start, "run1", 0.0)
            presence.close(session, start + timedelta(hours=8), 0.9, "left", None)
        # A session across the cut keeps only its part after it; one still open stays as it is.
        spanning = presence.open_session("ben", "home", CUT - timedelta(hours=2), "run1", 100.0)
        presence.close(spanning, CUT + timedelta(hours=3), 0.8, "left", None)
        presence.open_session("ana", "home", NOW - timedelta(hours=1), "run2", 5.0)
        waiting = "waiting0"
        signal(log, waiting, CUT - timedelta(days=3))
        outbox.put(waiting, "hl/v1/c/h/in", b"sealed", CUT - timedelta(days=3), needs_receipt=True)
        held = "held0"
        signal(log, held, CUT - timedelta(hours=1), direction=Direction.RECEIVED)
        holds.put(held, "quiet_hours", CUT + timedelta(hours=7))
    return Known(old, new, waiting, held)


def count(db: Database, table: str) -> int:
    (n,) = db.connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    return int(n)
