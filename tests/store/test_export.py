"""Reading every table for an export: one snapshot, names quoted, rows streamed in rowid order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import export
from hub.store.database import Database, open_database, open_read_only


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path)
    yield database
    database.close()


def test_tables_are_listed_by_name_without_sqlites_own_or_odd_names(db: Database) -> None:
    db.connection.execute('CREATE TABLE "odd name" (x)')
    db.connection.execute("CREATE TABLE zz_later (x)")
    names = export.table_names(db)
    assert names == sorted(names)
    assert {"meta", "signals", "outbox", "zz_later"} <= set(names)
    assert "odd name" not in names
    assert not [n for n in names if n.startswith("sqlite_")]


def test_columns_in_declared_order_and_rows_in_rowid_order_in_batches(db: Database) -> None:
    db.connection.execute('CREATE TABLE t (b, a, "say ""hi""")')
    db.connection.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, b"\x01", "x") for i in range(7)])
    assert export.column_names(db, "t") == ["b", "a", 'say "hi"']
    rows = list(export.table_rows(db, "t", ["a", 'say "hi"', "b"], batch_size=3))
    assert rows == [(b"\x01", "x", i) for i in range(7)]
    assert list(export.table_rows(db, "t", [], batch_size=3)) == []


def test_a_snapshot_does_not_see_a_write_made_while_it_reads(db: Database) -> None:
    db.connection.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
    reader = open_read_only(db.path)
    try:
        open_transaction = []
        with export.snapshot(reader):
            open_transaction.append(reader.in_transaction)
            before = list(export.table_rows(reader, "meta", ["key"], batch_size=10))
            db.connection.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
            assert list(export.table_rows(reader, "meta", ["key"], batch_size=10)) == before
        open_transaction.append(reader.in_transaction)
        assert open_transaction == [True, False]
        assert ("b",) in export.table_rows(reader, "meta", ["key"], batch_size=10)
    finally:
        reader.close()


def test_a_snapshot_inside_a_transaction_joins_it(db: Database) -> None:
    with db.transaction():
        with export.snapshot(db):
            pass
        assert db.in_transaction  # the snapshot did not commit the caller's transaction
    assert not db.in_transaction
