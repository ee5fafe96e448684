"""The outbox hands the publisher what is due: resends that waited long enough (oldest first),
then never-published items in the order they were queued, never one already in flight, at most
``limit``; and it finds them by walking its index, not by sorting the whole outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.store.database import open_database
from hub.store.relay_queue import Outbox

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_resends_first_then_fresh_in_queue_order(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        outbox = Outbox(db, resend_first_s=60)
        with db.transaction():
            for number in range(6):
                outbox.put(f"m{number}", "t", b"x", T0 + timedelta(seconds=number), needs_receipt=True)
            for item in outbox.due(T0, limit=2):  # m0, m1 confirmed: they wait for a receipt
                outbox.confirmed(item, T0)
        assert [i.id for i in outbox.due(T0, limit=10)] == ["m2", "m3", "m4", "m5"]
        later = T0 + timedelta(seconds=61)
        assert [i.id for i in outbox.due(later, limit=3)] == ["m0", "m1", "m2"]
        assert [i.id for i in outbox.due(later, limit=10, exclude={"m1", "m3"})] == ["m0", "m2", "m4", "m5"]
        assert [(i.id, i.attempts) for i in outbox.due(later, limit=1)] == [("m0", 1)]
    finally:
        db.close()


def test_fresh_items_come_from_the_index_without_a_sort(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        plans: list[str] = []
        db.connection.set_trace_callback(plans.append)
        Outbox(db).due(T0, limit=5, exclude={"a"})
        db.connection.set_trace_callback(None)
        fresh = next(p for p in plans if "next_attempt_at IS NULL" in p)
        plan = [str(tuple(row)[-1]) for row in db.connection.execute(f"EXPLAIN QUERY PLAN {fresh}")]
        assert plan == ["SEARCH outbox USING INDEX outbox_due (next_attempt_at=?)"], plan
    finally:
        db.close()
