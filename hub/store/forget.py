"""Deleting history made before a cut, and compacting the file so deleted rows leave the disk.

What may be deleted is decided here once: a signal made before the cut that nothing still waits
on (no outbox row waiting for the broker or the receipt, no hold waiting for its release). The
deletes and counts join the caller's transaction; ``compact`` must run outside one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from hub.store.database import Database

# Signals made before the cut that nothing still waits on.
_FORGETTABLE: Final = (
    "SELECT id FROM signals WHERE julianday(created_at) < julianday(:cut)"
    " AND id NOT IN (SELECT id FROM outbox) AND id NOT IN (SELECT signal_id FROM holds)"
)


def count_signals_waiting_in_outbox(db: Database, before: datetime) -> int:
    """Signals made before ``before`` whose outbox row still waits for the broker or the receipt."""
    return _count(
        db,
        "SELECT COUNT(*) FROM signals WHERE julianday(created_at) < julianday(:cut)"
        " AND id IN (SELECT id FROM outbox)",
        before,
    )


def count_signals_held(db: Database, before: datetime) -> int:
    """Signals made before ``before`` held for later delivery (and not also in the outbox)."""
    return _count(
        db,
        "SELECT COUNT(*) FROM signals WHERE julianday(created_at) < julianday(:cut)"
        " AND id IN (SELECT signal_id FROM holds) AND id NOT IN (SELECT id FROM outbox)",
        before,
    )


def delete_signal_links_before(db: Database, before: datetime) -> int:
    """Delete links from or to a forgettable signal; call before ``delete_signals_before``."""
    return db.connection.execute(
        f"DELETE FROM signal_links WHERE signal_id IN ({_FORGETTABLE}) OR ref IN ({_FORGETTABLE})",  # noqa: S608
        {"cut": before.isoformat()},
    ).rowcount


def delete_signals_before(db: Database, before: datetime) -> int:
    """Delete signals made before ``before`` that nothing still waits on; returns how many."""
    return db.connection.execute(
        f"DELETE FROM signals WHERE id IN ({_FORGETTABLE})",  # noqa: S608
        {"cut": before.isoformat()},
    ).rowcount


def delete_inbox_ids_before(db: Database, before: datetime) -> int:
    """Delete the ids of relay messages received before ``before``; returns how many."""
    return db.connection.execute(
        "DELETE FROM inbox WHERE julianday(received_at) < julianday(?)", (before.isoformat(),)
    ).rowcount


def count_inbox_ids_before(db: Database, before: datetime) -> int:
    return _count(db, "SELECT COUNT(*) FROM inbox WHERE julianday(received_at) < julianday(:cut)", before)


def compact(db: Database) -> None:
    """Move the WAL into the file, rebuild the file without free pages, and truncate the WAL.

    Outside any transaction only (VACUUM cannot run inside one). Raises ``sqlite3.Error``.
    """
    connection = db.connection
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    connection.execute("VACUUM")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def _count(db: Database, query: str, before: datetime) -> int:
    (n,) = db.connection.execute(query, {"cut": before.isoformat()}).fetchone()
    return int(n)
