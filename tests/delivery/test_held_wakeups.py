"""The delivery loop knows its next wake-up without reading the holds: with many signals held by
the rate limit, a loop turn reads no hold rows (seen through SQLite's own statement trace), and
the flood still ends in one summary once it is over. A burst's holds are stored together, each
receipt queued in the same transaction as its fate (so it cannot be published before it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Final

from hub.bus import UpdateBus
from hub.clock import ManualClock
from hub.delivery.moments import Moments
from hub.delivery.rate_limit import RateLimiter
from hub.delivery.service import RATE_QUIET_S, DeliveryService
from hub.events import Direction, Fate, SignalKind, SignalRecord
from hub.store.database import open_database
from hub.store.holds import SignalLinks
from hub.store.signals import SignalLog
from tests.relay.node import Person
from tests.support.waiting import eventually

START: Final = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HELD_FIRST: Final = 60  # held before the traced turns
TRACED: Final = 20  # signals handed over one at a time, each its own loop turn


def _touch(index: int, at: datetime) -> SignalRecord:
    return SignalRecord(
        f"t{index}",
        Direction.RECEIVED,
        SignalKind.THINKING_OF_YOU,
        "Alex",
        index,
        at,
        Fate.RECEIVED,
        None,
        None,
        at,
    )


def _holds_read(statements: list[str]) -> int:
    reads = [s.upper() for s in statements if s.lstrip().upper().startswith("SELECT")]
    return sum(1 for s in reads if " FROM HOLDS" in s)


async def test_a_loop_turn_reads_no_holds_however_many_are_held(tmp_path: Path) -> None:
    clock = ManualClock(START)
    db = open_database(tmp_path)
    person = Person()
    log = SignalLog(db)
    committed_at_receipt: list[bool] = []

    def receipt(ref: str, fate: Fate, channel: object, reason: str | None) -> None:
        del channel, reason
        # Queued inside the fate's own transaction, after the fate: both commit together.
        stored = log.get(ref)
        committed_at_receipt.append(db.in_transaction and stored is not None and stored.fate is fate)

    service = DeliveryService(
        db=db,
        reach=person,
        receipts=receipt,
        clock=clock,
        bus=UpdateBus(),
        moments=Moments(SignalLinks(db), clock, felt_it_window_s=60, shared_s=5),
        limiter=RateLimiter(1, clock),
    )
    touches = [_touch(i, START) for i in range(HELD_FIRST + TRACED + 1)]
    with db.transaction():
        for touch in touches:
            log.add(touch)

    def held(count: int) -> bool:
        return sum(1 for t in touches if (r := log.get(t.id)) is not None and r.fate is Fate.HELD) >= count

    statements: list[str] = []
    try:
        async with asyncio.TaskGroup() as group:
            runner = group.create_task(service.run())
            for touch in touches[: HELD_FIRST + 1]:  # one delivered, then a burst held
                service.submit(touch)
            await eventually(lambda: held(HELD_FIRST), what="the burst held by the rate limit")
            db.connection.set_trace_callback(statements.append)
            for index, touch in enumerate(touches[HELD_FIRST + 1 :], 1):
                service.submit(touch)
                await eventually(partial(held, HELD_FIRST + index), what="one more held")
            db.connection.set_trace_callback(None)
            assert _holds_read(statements) == 0, [s for s in statements if "holds" in s.lower()]
            assert person.shown == ["t0"]
            clock.advance(RATE_QUIET_S + 1)
            await eventually(lambda: len(person.summaries) == 1, what="the flood's summary")
            assert sorted(person.summaries[0]) == sorted(t.id for t in touches[1:])
            assert all(committed_at_receipt)
            delivered = [log.get(t.id) for t in touches]
            assert all(r is not None and r.fate is Fate.DELIVERED for r in delivered)
            runner.cancel()
    except* asyncio.CancelledError:
        pass
    finally:
        db.close()
