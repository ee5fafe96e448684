"""The SQLite store: created private, WAL, versioned, and a broken file is reported, not used."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.errors import StoreError
from hub.store.buttons import ButtonRegistry
from hub.store.database import DATABASE_FILE, FileHealth, check_file, open_database, open_read_only
from hub.store.schema import SCHEMA_VERSION

KEY = bytes(range(16))


def test_a_new_database_is_private_wal_and_current(tmp_path: Path) -> None:
    db = open_database(tmp_path / "data")
    try:
        path = tmp_path / "data" / DATABASE_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        assert db.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    ButtonRegistry(db).upsert("c0:ff:ee:00:00:0a", "heartline", KEY, "Alex")
    db.close()
    db = open_database(tmp_path)
    try:
        (button,) = ButtonRegistry(db).all()
        assert button.address == "C0:FF:EE:00:00:0A"
        assert button.key == KEY
        assert KEY.hex() not in repr(button)  # keys never reach logs through repr()
    finally:
        db.close()


def test_a_file_that_is_not_a_database_is_reported_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / DATABASE_FILE).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="move it aside"):
        open_database(tmp_path)


def test_a_database_from_a_newer_heartline_is_refused(tmp_path: Path) -> None:
    open_database(tmp_path).close()
    connection = sqlite3.connect(tmp_path / DATABASE_FILE)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(StoreError, match="upgrade Heartline"):
        open_database(tmp_path)


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        registry = ButtonRegistry(db)

        def register_then_fail() -> None:
            with db.transaction():
                registry.upsert("C0:FF:EE:00:00:0A", "heartline", KEY, "Alex")
                raise RuntimeError

        with pytest.raises(RuntimeError):
            register_then_fail()
        assert registry.all() == []
    finally:
        db.close()


def test_advert_counters_only_move_forward(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        registry = ButtonRegistry(db)
        button = registry.upsert("C0:FF:EE:00:00:0A", "heartline", KEY, "Alex")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        assert registry.accept_advert(button.id, 5, now, battery=90, rssi=-60)
        assert not registry.accept_advert(button.id, 5, now, battery=90, rssi=-60)
        assert not registry.accept_advert(button.id, 4, now, battery=90, rssi=-60)
        assert registry.next_command_counter(button.id) == 1
        assert registry.next_command_counter(button.id, at_least=41) == 42
        # A new key (re-pairing) resets both counters; the same key keeps them.
        registry.upsert(button.address, "heartline", KEY, "Alex")
        assert registry.by_address(button.address).advert_counter == 5  # type: ignore[union-attr]
        registry.upsert(button.address, "heartline", bytes(16), "Alex")
        again = registry.by_address(button.address)
        assert again is not None
        assert (again.advert_counter, again.command_counter) == (-1, 0)
    finally:
        db.close()


def test_a_read_only_connection_reads_but_never_writes(tmp_path: Path) -> None:
    open_database(tmp_path).close()
    reader = open_read_only(tmp_path / DATABASE_FILE)
    try:
        assert reader.schema_version() == SCHEMA_VERSION
        with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
            reader.connection.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    finally:
        reader.close()
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        open_read_only(tmp_path / "junk.db")


def test_checking_a_file_reports_integrity_and_schema_without_migrating(tmp_path: Path) -> None:
    open_database(tmp_path).close()
    path = tmp_path / DATABASE_FILE
    assert check_file(path) == FileHealth("ok", SCHEMA_VERSION)
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    assert check_file(path).schema_version == SCHEMA_VERSION + 1  # reported, not refused
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        check_file(tmp_path / "junk.db")


def test_in_transaction_follows_the_outermost_block(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        seen = [db.in_transaction]
        with db.transaction():
            with db.transaction():
                seen.append(db.in_transaction)
            seen.append(db.in_transaction)
        seen.append(db.in_transaction)
        assert seen == [False, True, True, False]
    finally:
        db.close()
