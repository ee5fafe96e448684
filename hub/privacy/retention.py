"""Keep the couple's history only as long as it is useful: ``privacy.retention_days``.

The default, 400 days, is a year of memories ("this day last year" and a whole year's statistics)
plus a month's margin. 0 keeps everything forever. The hub applies it at start and then once a
day; what is still on its way is never deleted (see ``hub.privacy.forget``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from hub.clock import Clock
from hub.privacy.forget import ForgetError, ForgetSummary, forget
from hub.store.database import Database

_LOGGER = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS: Final = 400
RETENTION_INTERVAL_S: Final = 24 * 3600.0


def apply_retention(db: Database, now: datetime, days: int) -> ForgetSummary:
    """Forget what is older than ``days`` (0: keep forever). Compacts only if something went."""
    if days < 0:
        raise ForgetError(f"retention_days must be 0 (keep forever) or more, not {days}")
    if days == 0:
        return ForgetSummary(before=now)
    return forget(db, now - timedelta(days=days), now=now, compact=False)


async def retention_task(
    db: Database,
    clock: Clock,
    days: int | Callable[[], int],
    *,
    interval_s: float = RETENTION_INTERVAL_S,
) -> None:
    """The hub's daily retention pass (runs on the hub's event loop: the one writer).

    ``days`` is a number, or a function read before each pass (settings change at run time).
    """
    if days == 0:
        _LOGGER.info("retention: keeping the history forever (privacy.retention_days = 0)")
        return
    while True:
        current = days() if callable(days) else days
        try:
            summary = apply_retention(db, clock.now(), current)
        except ForgetError as ex:
            _LOGGER.warning("retention pass failed, retrying in a day: %s", ex)
        else:
            if summary.deleted or summary.presence_sessions_trimmed:
                _LOGGER.info(
                    "retention: forgot %d signals, %d presence sessions, %d inbox ids older than %d days",
                    summary.signals,
                    summary.presence_sessions,
                    summary.inbox_ids,
                    current,
                )
        await asyncio.sleep(interval_s)
