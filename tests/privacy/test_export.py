"""Export: everything the hub stores, as JSON or CSV, with button keys left out on purpose."""

from __future__ import annotations

import csv
import json
import sqlite3
import stat
from pathlib import Path

import pytest

from hub.privacy.export import ExportError, export, open_read_only
from hub.store.database import Database, open_database
from tests.privacy.history import KEY, NOW, count, populate

TABLES = ("meta", "buttons", "signals", "signal_links", "holds", "presence_sessions", "inbox", "outbox")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "data")
    populate(database)
    return database


def test_json_round_trips_every_table_and_its_counts(db: Database, tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []
    out = tmp_path / "export.json"
    summary = export(db, out, "json", progress=lambda t, n: seen.append((t, n)), now=NOW)
    document = json.loads(out.read_text())
    assert tuple(document["tables"]) == TABLES
    for table in TABLES:
        assert len(document["tables"][table]) == count(db, table) == summary.counts[table]
    assert seen == [(t, summary.counts[t]) for t in TABLES]
    assert document["format"] == "heartline-export"
    assert document["exported_at"] == NOW.isoformat()
    signal = document["tables"]["signals"][0]
    assert {"id", "direction", "kind", "created_at", "fate", "channel"} <= signal.keys()
    assert summary.total == sum(summary.counts.values())
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_csv_round_trips_every_table_and_its_counts(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "export"
    summary = export(db, out, "csv")
    for table in TABLES:
        with (out / f"{table}.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == count(db, table) == summary.counts[table]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == summary.counts
    assert "buttons.key_hex" in manifest["omitted"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_button_keys_never_leave_and_the_export_says_so(db: Database, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"export-{fmt}"
    summary = export(db, out, "json" if fmt == "json" else "csv")
    files = [out] if out.is_file() else sorted(out.iterdir())
    text = "".join(f.read_text() for f in files)
    assert KEY.hex() not in text.lower()
    assert "key_hex" not in (json.loads(text)["tables"]["buttons"][0] if fmt == "json" else {})
    assert "omitted on purpose" in summary.omitted["buttons.key_hex"]
    assert b"sealed".hex() not in text  # nor the outbox's sealed payloads
    assert "C0:FF:EE:00:00:0A" in text  # the button itself is listed


def test_secret_looking_meta_rows_are_left_out(db: Database, tmp_path: Path) -> None:
    db.connection.execute("INSERT INTO meta (key, value) VALUES ('session_secret', 'hush')")
    export(db, tmp_path / "e.json", "json")
    meta = json.loads((tmp_path / "e.json").read_text())["tables"]["meta"]
    assert [row["key"] for row in meta] == ["seq"]


def test_export_reads_read_only_while_the_hub_holds_the_database(db: Database, tmp_path: Path) -> None:
    reader = open_read_only(db.path)
    try:
        summary = export(reader, tmp_path / "e.json", "json")
        with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only"):
            reader.connection.execute("DELETE FROM signals")
    finally:
        reader.close()
    assert summary.counts["signals"] == count(db, "signals")
    # The hub can still write while a reader holds a snapshot.
    db.connection.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")


def test_export_refuses_to_overwrite(db: Database, tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text("mine")
    with pytest.raises(ExportError, match="already exists"):
        export(db, tmp_path / "e.json", "json")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        export(db, tmp_path / "full", "csv")
    with pytest.raises(ExportError, match="no database"):
        open_read_only(tmp_path / "missing.db")


def test_a_large_table_streams_in_batches(tmp_path: Path) -> None:
    database = open_database(tmp_path / "data")
    populate(database, old_days=400, old_per_day=3)  # more rows than one fetch batch
    summary = export(database, tmp_path / "big.json", "json")
    assert summary.counts["signals"] == count(database, "signals") > 2000
    json.loads((tmp_path / "big.json").read_text())
