"""Which relay commits wait for the disk: a sent signal is on disk (synchronous=FULL) before it
is published; broker confirmations and receipts are bookkeeping, committed without an fsync
(hub.store.relay_queue.bookkeeping), because losing them only costs a republish; a received
signal is committed without waiting too, and its log synced before its PUBACK
(tests/relay/test_ack_after_sync.py). Seen through SQLite's own statement trace on real hubs'
databases, over the real broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.events import Fate
from hub.store.database import open_database
from hub.store.relay_queue import bookkeeping
from tests.relay.node import started_pair
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually

FULL = 2
NORMAL = 1


def _synchronous(db_path: Path) -> int:
    db = open_database(db_path)
    try:
        (value,) = db.connection.execute("PRAGMA synchronous").fetchone()
        return int(value)
    finally:
        db.close()


def test_bookkeeping_commits_without_fsync_and_restores_full(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        statements: list[str] = []
        db.connection.set_trace_callback(statements.append)
        with bookkeeping(db):
            (inside,) = db.connection.execute("PRAGMA synchronous").fetchone()
            db.connection.execute(
                "INSERT INTO inbox (id, received_at) VALUES ('x', '2026-01-01T00:00:00+00:00')"
            )
        (after,) = db.connection.execute("PRAGMA synchronous").fetchone()
        assert (inside, after) == (NORMAL, FULL)
        assert statements.index("PRAGMA synchronous=NORMAL") < statements.index("COMMIT")
        # Inside a durable transaction it joins it: the outer commit stays FULL.
        with db.transaction():
            with bookkeeping(db):
                (joined,) = db.connection.execute("PRAGMA synchronous").fetchone()
            db.connection.execute(
                "INSERT INTO inbox (id, received_at) VALUES ('y', '2026-01-01T00:00:00+00:00')"
            )
        assert joined == FULL
        (count,) = db.connection.execute("SELECT COUNT(*) FROM inbox").fetchone()
        assert count == 2
    finally:
        db.close()


def test_a_failed_bookkeeping_commit_rolls_back_and_restores_full(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:

        def failing_handler() -> None:
            with bookkeeping(db):
                db.connection.execute("INSERT INTO inbox (id, received_at) VALUES ('x', 'now')")
                raise RuntimeError("a handler failed")

        with pytest.raises(RuntimeError):
            failing_handler()
        (count,) = db.connection.execute("SELECT COUNT(*) FROM inbox").fetchone()
        (after,) = db.connection.execute("PRAGMA synchronous").fetchone()
        assert (count, after) == (0, FULL)
    finally:
        db.close()


def _sync_of_commits(statements: list[str], marker: str) -> list[int]:
    """For each transaction containing ``marker``, the synchronous level it committed with."""
    levels: list[int] = []
    level, seen = FULL, False
    for statement in statements:
        if statement.startswith("PRAGMA synchronous="):
            level = int(statement.rsplit("=", 1)[1]) if statement[-1].isdigit() else NORMAL
        elif statement == "BEGIN IMMEDIATE":
            seen = False
        elif marker in statement:
            seen = True
        elif statement == "COMMIT" and seen:
            levels.append(level)
            seen = False
    return levels


@pytest.mark.broker
async def test_signal_is_durable_confirmations_and_receipts_are_bookkeeping(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    traced: dict[str, list[str]] = {"a": [], "b": []}
    a.db.connection.set_trace_callback(traced["a"].append)
    b.db.connection.set_trace_callback(traced["b"].append)
    try:
        record = a.send()

        def delivered() -> bool:
            fates = {s.id: s.fate for s in a.sent()}
            return fates.get(record.id) is Fate.DELIVERED and a.relay.outbox_depth == 0

        await eventually(delivered, what="the signal's receipt at the sender")
        await eventually(lambda: b.relay.outbox_depth == 0, what="the receipt's confirmation")
    finally:
        a.db.connection.set_trace_callback(None)
        b.db.connection.set_trace_callback(None)
        await a.stop()
        await b.stop()
    assert b.person.shown == [record.id]
    # The received signal: its inbox id and the signal row in one commit that does not wait for
    # the disk (delivery starts at once); the log is synced before the PUBACK.
    assert _sync_of_commits(traced["b"], "INTO signals") == [NORMAL]
    # The sender's own send is durable; its confirmation (fate "sent") and the receipt that
    # made it "delivered" are bookkeeping, and so is the partner's receipt leaving its outbox.
    assert _sync_of_commits(traced["a"], "INSERT OR IGNORE INTO outbox") == [FULL]
    assert set(_sync_of_commits(traced["a"], "UPDATE outbox SET next_attempt_at")) == {NORMAL}
    assert set(_sync_of_commits(traced["a"], "DELETE FROM outbox")) == {NORMAL}
    assert set(_sync_of_commits(traced["b"], "DELETE FROM outbox")) == {NORMAL}
