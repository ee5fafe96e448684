"""``heartline forget --before DATE``: delete what was made before a date, and make it leave the disk.

Deleted, in one transaction: signals made before the date (with their links and holds), presence
sessions that ended before it (a stay that spans the date keeps only its part after it), and
the ids of relay messages received before it. Then the WAL is checkpointed and truncated and the
file is rebuilt (``VACUUM``), so the rows are not left behind in free pages or the journal.

Never deleted: anything still on its way. A signal whose outbox row is still waiting for the
broker or the partner's receipt, and a received signal held for later delivery (quiet hours, rate
limit), are kept with their rows until they settle; the next forget or retention pass takes them.
Inbox ids from the last ``INBOX_GUARD`` are kept too: they are what stops a late redelivery of a
message from buzzing the button a second time, and they are random ids and a time, nothing more.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from hub.errors import HeartlineError
from hub.store import forget as store_forget
from hub.store.database import Database
from hub.store.presence import forget_sessions_before

INBOX_GUARD: Final = timedelta(days=7)  # the relay's default MQTT session expiry


class ForgetError(HeartlineError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ForgetSummary:
    before: datetime
    signals: int = 0
    signal_links: int = 0
    presence_sessions: int = 0
    presence_sessions_trimmed: int = 0
    inbox_ids: int = 0
    kept_waiting_in_outbox: int = 0  # signals made before the date, still waiting for broker or receipt
    kept_held: int = 0  # received signals made before the date, held for later delivery
    kept_recent_inbox_ids: int = 0
    compacted: bool = False
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def deleted(self) -> int:
        return self.signals + self.signal_links + self.presence_sessions + self.inbox_ids

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["before"] = self.before.isoformat()
        out["deleted"] = self.deleted
        out["note"] = self.note()
        return out

    def note(self) -> str:
        kept = self.kept_waiting_in_outbox + self.kept_held
        if not kept:
            return "Nothing on its way was touched; the outbox is never part of a forget."
        return (
            f"Kept {kept} signal(s) from before the date that are still on their way (the outbox is never "
            "part of a forget: they wait there for the broker or the partner's receipt, or are held "
            "for later delivery); run forget again once they have arrived."
        )


def forget(
    db: Database,
    before: datetime,
    *,
    now: datetime | None = None,
    compact: bool = True,
) -> ForgetSummary:
    """Delete what was made before ``before`` (aware datetime, not after ``now``).

    ``compact``: always checkpoint and VACUUM (a person asked to forget); when False, only if
    something was deleted (the daily retention pass on a quiet day leaves the file alone).
    Must be called outside any transaction (VACUUM cannot run inside one).
    """
    if before.tzinfo is None:
        raise ForgetError("the forget date needs a time zone")
    now = now or datetime.now(UTC)
    if before > now:
        raise ForgetError(f"{before.date().isoformat()} is in the future; forget only what already happened")
    if db.in_transaction:
        raise ForgetError("forget must run outside a transaction (it compacts the database)")
    cut = before.astimezone(UTC)
    inbox_cut = min(before, now - INBOX_GUARD).astimezone(UTC)
    size_before = _size(db)
    with db.transaction():
        waiting = store_forget.count_signals_waiting_in_outbox(db, cut)
        held = store_forget.count_signals_held(db, cut)
        links = store_forget.delete_signal_links_before(db, cut)
        signals = store_forget.delete_signals_before(db, cut)
        sessions, trimmed = forget_sessions_before(db, cut)
        inbox = store_forget.delete_inbox_ids_before(db, inbox_cut)
        kept_inbox = store_forget.count_inbox_ids_before(db, cut)
    summary = ForgetSummary(
        before=before,
        signals=signals,
        signal_links=links,
        presence_sessions=sessions,
        presence_sessions_trimmed=trimmed,
        inbox_ids=inbox,
        kept_waiting_in_outbox=waiting,
        kept_held=held,
        kept_recent_inbox_ids=kept_inbox,
        bytes_before=size_before,
        bytes_after=size_before,
    )
    if not (compact or summary.deleted or trimmed):
        return summary
    compact_database(db)
    return replace(summary, compacted=True, bytes_after=_size(db))


def compact_database(db: Database) -> None:
    """Move the WAL into the file, rebuild the file without free pages, and truncate the WAL."""
    try:
        store_forget.compact(db)
    except sqlite3.Error as ex:
        raise ForgetError(
            f"the rows are deleted but compacting {db.path} failed ({ex}); it is retried next time"
        ) from ex


def _size(db: Database) -> int:
    total = 0
    for suffix in ("", "-wal"):
        path = db.path.with_name(db.path.name + suffix)
        if path.exists():
            total += path.stat().st_size
    return total


def local_midnight(day: str, tz: ZoneInfo) -> datetime:
    """``YYYY-MM-DD`` -> that day's start in ``tz``; ForgetError names the expected form."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError as ex:
        raise ForgetError(f"before must be a date like 2025-01-31, not {day!r}") from ex
    if len(day) != len("2025-01-31"):
        raise ForgetError(f"before must be a date like 2025-01-31, not {day!r}")
    return datetime.combine(parsed, time(), tz)
