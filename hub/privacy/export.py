"""Everything this hub stores about the couple, as one JSON document or a folder of CSV files.

Rows are streamed table by table (``fetchmany``), never loaded whole, so a year of presence
history exports in constant memory. One read transaction covers the whole export: a hub writing
meanwhile (WAL) never makes the tables disagree with each other.

Two columns are left out on purpose and the export says so: each button's AES key (whoever holds
it can forge that button's touches and read its adverts) and the outbox's sealed envelopes
(encrypted copies of signals already listed in ``signals``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal

from hub.errors import HeartlineError
from hub.store import export as store_export
from hub.store.database import Database
from hub.store.database import open_read_only as open_database_read_only

ExportFormat = Literal["json", "csv"]
Progress = Callable[[str, int], None]  # (table, rows written) once per table

EXPORT_FORMAT: Final = "heartline-export"
EXPORT_VERSION: Final = 1
FETCH_ROWS: Final = 500
FILE_MODE: Final = 0o600  # the export is as private as the database it came from
DIR_MODE: Final = 0o700
# Tables in the order a reader meets them; any table a later schema adds follows, by name.
TABLE_ORDER: Final = (
    "meta",
    "buttons",
    "signals",
    "signal_links",
    "holds",
    "presence_sessions",
    "inbox",
    "outbox",
)
OMITTED_COLUMNS: Final[dict[str, dict[str, str]]] = {
    "buttons": {
        "key_hex": "omitted on purpose: a button's key lets whoever holds it forge its touches; "
        "it never leaves the hub",
    },
    "outbox": {
        "payload": "omitted: sealed (encrypted) copies of signals already listed in signals",
    },
}
# meta rows whose key looks like a secret are left out the same way (none today; future-proof).
SECRET_META: Final = re.compile(r"key|secret|token|password", re.IGNORECASE)


class ExportError(HeartlineError, OSError):
    pass


@dataclass(frozen=True, slots=True)
class ExportSummary:
    format: ExportFormat
    path: Path
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows written
    omitted: dict[str, str] = field(default_factory=dict)  # "table.column" -> why

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "path": str(self.path),
            "counts": dict(self.counts),
            "total": self.total,
            "omitted": dict(self.omitted),
        }


def export(
    db: Database,
    out: Path,
    fmt: ExportFormat,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ExportSummary:
    """Write the export to ``out`` (a new file for json, a new or empty folder for csv)."""
    if fmt not in ("json", "csv"):
        raise ExportError(f"unknown export format {fmt!r}; use json or csv")
    stamp = (now or datetime.now(UTC)).isoformat()
    with store_export.snapshot(db):
        tables = _tables(db)
        header = _header(db, stamp, tables)
        if fmt == "json":
            counts = _write_json(db, out, tables, header, progress)
        else:
            counts = _write_csv(db, out, tables, header, progress)
    return ExportSummary(fmt, out, counts, _omitted(tables))


def export_file(
    database: Path, out: Path, fmt: ExportFormat, *, progress: Progress | None = None
) -> ExportSummary:
    """Export from a read-only connection of its own, so a running hub is never stalled (a WAL
    reader sees one snapshot and never blocks the writer); call it in a worker thread."""
    db = open_read_only(database)
    try:
        return export(db, out, fmt, progress=progress)
    finally:
        db.close()


def open_read_only(path: Path) -> Database:
    """A read-only connection to a hub's database; safe while the hub runs (WAL readers never block)."""
    if not path.is_file():
        raise ExportError(f"no database at {path}; check hub.data_dir in the config")
    try:
        return open_database_read_only(path)
    except sqlite3.Error as ex:
        raise ExportError(f"cannot read {path} ({ex}); check its permissions") from ex


def _tables(db: Database) -> list[tuple[str, list[str]]]:
    """(table, exported columns) in TABLE_ORDER, then any other table by name."""
    names = store_export.table_names(db)
    ordered = [n for n in TABLE_ORDER if n in names] + [n for n in names if n not in TABLE_ORDER]
    out: list[tuple[str, list[str]]] = []
    for name in ordered:
        skip = OMITTED_COLUMNS.get(name, {})
        out.append((name, [c for c in store_export.column_names(db, name) if c not in skip]))
    return out


def _omitted(tables: list[tuple[str, list[str]]]) -> dict[str, str]:
    present = {name for name, _ in tables}
    omitted = {
        f"{table}.{column}": why
        for table, columns in OMITTED_COLUMNS.items()
        if table in present
        for column, why in columns.items()
    }
    if "meta" in present:
        omitted["meta (secret-looking keys)"] = "rows whose key names a key, secret, token or password"
    return omitted


def _header(db: Database, stamp: str, tables: list[tuple[str, list[str]]]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": stamp,
        "schema_version": db.schema_version(),
        "note": "Everything this Heartline hub stores about you two. Button keys are omitted on "
        "purpose: they never leave the hub.",
        "omitted": _omitted(tables),
    }


def _rows(db: Database, table: str, columns: list[str]) -> Iterator[dict[str, Any]]:
    for row in store_export.table_rows(db, table, columns, FETCH_ROWS):
        values = {c: _plain(row[i]) for i, c in enumerate(columns)}
        if table == "meta" and SECRET_META.search(str(values.get("key", ""))):
            continue
        yield values


def _plain(value: object) -> object:
    return value.hex() if isinstance(value, bytes) else value


def _create(path: Path) -> IO[str]:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError as ex:
        raise ExportError(f"{path} already exists; choose a new path or remove it first") from ex
    except OSError as ex:
        raise ExportError(f"cannot create {path}: {ex.strerror}") from ex
    return open(fd, "w", encoding="utf-8", newline="")  # noqa: PTH123 - wraps a descriptor


def _write_json(
    db: Database,
    out: Path,
    tables: list[tuple[str, list[str]]],
    header: dict[str, Any],
    progress: Progress | None,
) -> dict[str, int]:
    counts: dict[str, int] = {}
    with _create(out) as handle:
        handle.write("{\n")
        for key, value in header.items():
            handle.write(f"  {json.dumps(key)}: {json.dumps(value)},\n")
        handle.write('  "tables": {')
        for index, (table, columns) in enumerate(tables):
            handle.write(f"{',' if index else ''}\n    {json.dumps(table)}: [")
            n = 0
            for row in _rows(db, table, columns):
                handle.write(f"{',' if n else ''}\n      {json.dumps(row, ensure_ascii=False)}")
                n += 1
            handle.write("\n    ]" if n else "]")
            counts[table] = n
            if progress:
                progress(table, n)
        handle.write("\n  }\n}\n")
    return counts


def _write_csv(
    db: Database,
    out: Path,
    tables: list[tuple[str, list[str]]],
    header: dict[str, Any],
    progress: Progress | None,
) -> dict[str, int]:
    try:
        out.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as ex:
        raise ExportError(f"cannot create folder {out}: {ex.strerror}") from ex
    if any(out.iterdir()):
        raise ExportError(f"{out} is not empty; choose a new folder")
    counts: dict[str, int] = {}
    for table, columns in tables:
        with _create(out / f"{table}.csv") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            n = 0
            for row in _rows(db, table, columns):
                writer.writerow(["" if v is None else v for v in row.values()])
                n += 1
        counts[table] = n
        if progress:
            progress(table, n)
    with _create(out / "manifest.json") as handle:
        json.dump({**header, "counts": counts, "files": [f"{t}.csv" for t, _ in tables]}, handle, indent=2)
        handle.write("\n")
    return counts
