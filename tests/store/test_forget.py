"""Deleting history before a cut: what is kept because something still waits on it, and compaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.store import forget
from hub.store.database import open_database
from tests.privacy.history import CUT, count, populate


def test_counts_and_deletes_before_the_cut_keep_what_is_still_on_its_way(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        known = populate(db, old_days=2, old_per_day=1)
        inbox_before_cut = known.old_signals // 2
        with db.transaction():
            assert forget.count_signals_waiting_in_outbox(db, CUT) == 1
            assert forget.count_signals_held(db, CUT) == 1
            assert forget.delete_signal_links_before(db, CUT) == known.old_signals // 2
            assert forget.delete_signals_before(db, CUT) == known.old_signals
            assert forget.count_inbox_ids_before(db, CUT) == inbox_before_cut
            assert forget.delete_inbox_ids_before(db, CUT) == inbox_before_cut
            assert forget.count_inbox_ids_before(db, CUT) == 0
        assert forget.delete_signals_before(db, CUT) == 0  # the waiting and the held one stay
        assert count(db, "signals") == known.new_signals + 2
    finally:
        db.close()


def test_compact_leaves_no_free_pages_and_refuses_to_run_inside_a_transaction(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        populate(db, old_days=50)
        with db.transaction():
            forget.delete_signal_links_before(db, CUT)
            forget.delete_signals_before(db, CUT)
            with pytest.raises(sqlite3.OperationalError):
                forget.compact(db)
        forget.compact(db)
        assert db.connection.execute("PRAGMA freelist_count").fetchone()[0] == 0
        wal = db.path.with_name(db.path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        db.close()
