"""Open, check and migrate the hub's SQLite database.

WAL journal so readers never block the writer; ``synchronous=FULL`` because an
acknowledged signal must survive a power cut (a Pi's most common way to stop).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.errors import StoreError
from hub.store.schema import MIGRATIONS, SCHEMA_VERSION

_LOGGER = logging.getLogger(__name__)

DATABASE_FILE: Final = "heartline.db"
# The database holds button keys and the couple's history: owner read/write only.
FILE_MODE: Final = 0o600
# A busy database (e.g. an export reading) makes a writer wait this long, not fail at once.
BUSY_TIMEOUT_MS: Final = 5000


class DiskFullError(StoreError, sqlite3.OperationalError):
    """A write found the disk (or the database's page limit) full. Nothing of that transaction was
    stored; the hub keeps running and the same write works again once there is room. A
    ``sqlite3.Error`` too, so every path that retries a failed write retries this one."""


def is_disk_full(ex: BaseException) -> bool:
    return (
        isinstance(ex, sqlite3.OperationalError)
        and getattr(ex, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    )


class Database:
    """The hub's one SQLite connection. Used only from the hub's event loop thread."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._depth = 0
        # Work that joins the open transaction at its end, just before COMMIT (writes gathered
        # while it ran: hub.relay.relay gathers receipts). Dropped with a transaction that fails.
        self._before_commit: list[Callable[[], None]] = []
        self._serial = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic, durable write: committed (fsynced) when the outermost block ends.

        Blocks nest: an inner block joins the outer transaction, so a caller can make several
        rooms' writes (an advert counter and the signal it caused) land together or not at all.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.connection.execute("BEGIN IMMEDIATE")
        self._depth = 1
        self._serial += 1
        try:
            yield
            while self._before_commit:  # one may add another
                self._before_commit.pop(0)()
            self.connection.execute("COMMIT")
        except BaseException as ex:
            if self.connection.in_transaction:  # a COMMIT that failed leaves it open
                self.connection.execute("ROLLBACK")
            if is_disk_full(ex) and not isinstance(ex, DiskFullError):
                raise DiskFullError(self.disk_full_text()) from ex
            raise
        finally:
            self._depth = 0
            self._before_commit.clear()

    @property
    def transaction_serial(self) -> int | None:
        """A number for the open transaction, new for each (None: none is open)."""
        return self._serial if self._depth else None

    def before_commit(self, work: Callable[[], None]) -> None:
        """Run ``work`` inside the open transaction, after the rest of its block, before COMMIT;
        it is dropped if the transaction fails first."""
        if not self._depth:
            raise RuntimeError("before_commit needs an open transaction")
        self._before_commit.append(work)

    def disk_full_text(self) -> str:
        """What a full disk means, in one line: what was not stored and what to do."""
        return (
            f"the disk holding {self.path.parent} is full, so nothing new can be stored; "
            "free some space there (nothing already stored is lost, and the hub carries on by itself)"
        )

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open on this connection (ours or a snapshot's)."""
        return self.connection.in_transaction

    def schema_version(self) -> int:
        return _schema_version(self.connection)

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True, slots=True)
class FileHealth:
    integrity: str  # "ok", or what SQLite's quick_check found wrong
    schema_version: int


def open_read_only(path: Path) -> Database:
    """A query-only connection to an existing database file, safe while the hub runs (WAL readers
    never block the writer). Raises ``sqlite3.Error`` if the file cannot be read as a database."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA query_only=ON")
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except BaseException:
        connection.close()
        raise
    return Database(connection, path)


def check_file(path: Path) -> FileHealth:
    """Integrity and schema version of an existing database file, read-only: nothing is created,
    repaired or migrated. Raises ``sqlite3.Error`` if the file cannot be read as a database."""
    db = open_read_only(path)
    try:
        return FileHealth(_quick_check(db.connection), db.schema_version())
    finally:
        db.close()


def open_database(data_dir: Path) -> Database:
    """Open (creating if needed), integrity-check and migrate the database in ``data_dir``.

    Every failure is a StoreError of one line naming the directory or file and the fix. A
    damaged database, or one a newer Heartline wrote, is refused before anything writes to it:
    the file is left exactly as it was, for a backup restore or a newer version."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as ex:
        raise StoreError(
            f"cannot create the data directory {data_dir} ({ex.strerror}); create it, writable by "
            "the user the hub runs as, or set hub.data_dir to such a directory"
        ) from ex
    path = data_dir / DATABASE_FILE
    new = not path.exists()
    try:
        if new:
            # Create with the right mode before SQLite opens it, so keys are never world-readable.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
            os.close(fd)
        connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as ex:
        raise StoreError(_unwritable(data_dir, path, ex)) from ex
    connection.row_factory = sqlite3.Row
    try:
        _check_integrity(connection, path)
        _check_not_newer(connection, path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as ex:  # WAL needs to write beside the file: a read-only directory
            raise StoreError(_unwritable(data_dir, path, ex)) from ex
        _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return Database(connection, path)


def _unwritable(data_dir: Path, path: Path, ex: Exception) -> str:
    detail = ex.strerror if isinstance(ex, OSError) and ex.strerror else str(ex)
    return (
        f"cannot open {path} for writing ({detail}); make {data_dir} and its files writable by the "
        "user the hub runs as, or set hub.data_dir to a writable directory"
    )


def _quick_check(connection: sqlite3.Connection) -> str:
    (result,) = connection.execute("PRAGMA quick_check").fetchone()
    return str(result)


def _schema_version(connection: sqlite3.Connection) -> int:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    return int(version)


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    try:
        result = _quick_check(connection)
    except sqlite3.DatabaseError as ex:
        raise StoreError(
            f"{path} is not a readable database ({ex}); it was left untouched: {_ASIDE}",
        ) from ex
    if result != "ok":
        raise StoreError(f"{path} failed its integrity check ({result}); it was left untouched: {_ASIDE}")


# What to do with a database this hub will not use.
_ASIDE: Final = (
    "move it aside and restore a backup, or start fresh and re-pair buttons (the hub makes a new one)"
)


def _check_not_newer(connection: sqlite3.Connection, path: Path) -> None:
    version = _schema_version(connection)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer Heartline (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); it was left untouched: upgrade Heartline, or move it aside to start "
            "fresh and re-pair buttons",
        )


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    version = _schema_version(connection)
    if version == SCHEMA_VERSION:
        return
    _LOGGER.info("migrating %s from schema %d to %d", path, version, SCHEMA_VERSION)
    try:
        connection.execute("BEGIN IMMEDIATE")
        for step in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[step]):
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except sqlite3.Error as ex:
        connection.execute("ROLLBACK")
        raise StoreError(f"migrating {path} failed and was rolled back: {ex}") from ex


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return [s for s in statements if s.strip(" ;\n")]
