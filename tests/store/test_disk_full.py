"""A full disk (SQLite's page limit on a real database file: SQLITE_FULL, as ENOSPC gives) is a
DiskFullError, still a sqlite3.Error for every retrying caller; nothing half-written stays, and
the same write works once there is room."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.store.database import DiskFullError, open_database
from hub.store.meta import MetaStore


def test_a_full_disk_rolls_back_and_heals(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        meta = MetaStore(db)
        (pages,) = db.connection.execute("PRAGMA page_count").fetchone()
        db.connection.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(DiskFullError) as caught:  # noqa: PT012 - filling takes a loop
            for index in range(10_000):
                with db.transaction():
                    meta.put(f"filler-{index}", "x" * 2000)
        assert isinstance(caught.value, sqlite3.Error)
        assert str(tmp_path) in str(caught.value)
        assert "free some space" in str(caught.value)
        assert not db.in_transaction
        db.connection.execute("PRAGMA max_page_count = 1073741823")
        with db.transaction():
            meta.put("after", "room again")
        assert meta.get("after") == "room again"
    finally:
        db.close()
