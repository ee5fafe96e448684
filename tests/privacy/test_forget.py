"""Forget and retention: rows before the date go (and leave the disk); later ones and pending work stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.clock import ManualClock
from hub.privacy.forget import ForgetError, forget
from hub.privacy.retention import DEFAULT_RETENTION_DAYS, apply_retention, retention_task
from hub.store.database import Database, open_database
from hub.store.presence import PresenceStore
from tests.privacy.history import CUT, NOW, count, populate


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "data")


def _before(db: Database, table: str, column: str) -> int:
    (n,) = db.connection.execute(
        f"SELECT COUNT(*) FROM {table} WHERE julianday({column}) < julianday(?)",
        (CUT.isoformat(),),
    ).fetchone()
    return int(n)


def test_forget_removes_rows_before_the_date_and_keeps_later_ones_and_pending_work(db: Database) -> None:
    known = populate(db)
    signals_before = count(db, "signals")
    summary = forget(db, CUT, now=NOW)
    assert summary.signals == known.old_signals
    assert count(db, "signals") == signals_before - known.old_signals
    # Only what is still on its way remains from before the date: its outbox row and its hold too.
    remaining = {
        r[0] for r in db.connection.execute("SELECT id FROM signals WHERE created_at < ?", (CUT.isoformat(),))
    }
    assert remaining == {known.waiting_id, known.held_id}
    assert count(db, "outbox") == 1
    assert count(db, "holds") == 1
    assert (summary.kept_waiting_in_outbox, summary.kept_held) == (1, 1)
    assert "outbox is never part of a forget" in summary.note()
    # Links of forgotten signals go; the ones after the date stay.
    assert summary.signal_links == known.old_signals // 2
    assert count(db, "signal_links") == known.new_signals // 2
    assert _before(db, "inbox", "received_at") == 0
    assert count(db, "inbox") == known.new_signals // 2
    # Presence: sessions that ended before the date go; one spanning it starts at the date now.
    assert _before(db, "presence_sessions", "arrived_at") == 0
    ben = PresenceStore(db).sessions(person="ben")
    assert [s.arrived_at for s in ben] == [CUT]
    assert summary.presence_sessions_trimmed == 1
    assert len(PresenceStore(db).open_sessions("home")) == 1
    assert summary.compacted


def test_forget_really_leaves_the_disk(db: Database) -> None:
    populate(db, old_days=400)
    db.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = db.path.stat().st_size
    summary = forget(db, CUT, now=NOW)
    (freelist,) = db.connection.execute("PRAGMA freelist_count").fetchone()
    assert freelist == 0
    assert db.path.stat().st_size < size
    wal = db.path.with_name(db.path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert summary.bytes_after < summary.bytes_before
    # A forgotten id is nowhere in the file any more.
    assert b"r-400" not in db.path.read_bytes()


def test_recent_inbox_ids_are_kept_so_a_redelivery_is_still_recognised(db: Database) -> None:
    populate(db)
    now = CUT + timedelta(days=10)
    summary = forget(db, now - timedelta(days=1), now=now)
    assert summary.kept_recent_inbox_ids == 6 * 3  # received in the 7 days before now, before the date
    (oldest,) = db.connection.execute("SELECT MIN(received_at) FROM inbox").fetchone()
    assert datetime.fromisoformat(oldest) >= now - timedelta(days=7)


def test_forget_refuses_a_future_date_a_naive_date_and_an_open_transaction(db: Database) -> None:
    with pytest.raises(ForgetError, match="future"):
        forget(db, NOW + timedelta(days=1), now=NOW)
    with pytest.raises(ForgetError, match="time zone"):
        forget(db, datetime(2026, 1, 1), now=NOW)  # noqa: DTZ001 - the mistake under test
    with db.transaction(), pytest.raises(ForgetError, match="outside a transaction"):
        forget(db, CUT, now=NOW)


def test_retention_forgets_what_is_older_than_the_period(db: Database) -> None:
    populate(db)
    summary = apply_retention(db, NOW, 28)
    assert summary.before == NOW - timedelta(days=28)
    assert summary.signals > 0
    assert _before(db, "signals", "created_at") == 2  # the two still on their way


def test_retention_zero_keeps_everything_and_a_quiet_day_does_not_compact(db: Database) -> None:
    populate(db)
    signals = count(db, "signals")
    assert apply_retention(db, NOW, 0).deleted == 0
    assert count(db, "signals") == signals
    quiet = apply_retention(db, NOW, DEFAULT_RETENTION_DAYS)
    assert (quiet.deleted, quiet.compacted) == (0, False)
    with pytest.raises(ForgetError, match="retention_days"):
        apply_retention(db, NOW, -1)


async def test_the_daily_task_applies_retention_at_start(db: Database) -> None:
    populate(db)
    clock = ManualClock(NOW)
    task = asyncio.create_task(retention_task(db, clock, (NOW - CUT).days, interval_s=3600))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _before(db, "signals", "created_at") == 2
    await retention_task(db, clock, 0)  # 0: returns at once, keeping everything


def test_forget_at_midnight_in_another_zone(db: Database) -> None:
    populate(db)
    cut = datetime(2026, 2, 1, tzinfo=ZoneInfo("America/New_York"))
    forget(db, cut, now=NOW)
    (oldest,) = db.connection.execute(
        "SELECT MIN(created_at) FROM signals WHERE id NOT IN ('waiting0', 'held0')"
    ).fetchone()
    assert datetime.fromisoformat(oldest) >= cut.astimezone(UTC)
