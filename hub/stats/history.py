"""Load stored presence sessions into the arrays ``hub.stats.presence`` works on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from hub.stats.presence import F64, PresenceSummary, summarise
from hub.store.presence import PresenceStore


def session_arrays(store: PresenceStore, hub: str, now: datetime) -> dict[str, tuple[F64, F64]]:
    """person -> (arrive, leave) epoch seconds; an open session counts up to ``now``."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for s in store.sessions(hub=hub):
        arrive, leave = out.setdefault(s.person, ([], []))
        arrive.append(s.arrived_at.timestamp())
        leave.append((s.left_at or now).timestamp())
    return {p: (np.array(a), np.array(b)) for p, (a, b) in out.items()}


def recent_summary(
    store: PresenceStore,
    hub: str,
    now: datetime,
    tz: ZoneInfo,
    days: int = 28,
) -> PresenceSummary:
    """The last ``days`` local days up to and including today."""
    today: date = now.astimezone(tz).date()
    return summarise(session_arrays(store, hub, now), today - timedelta(days=days - 1), days, tz)
