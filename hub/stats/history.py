"""Load stored presence sessions into the arrays ``hub.stats.presence`` works on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from hub.stats.presence import F64, PresenceSummary, summarise
from hub.store.presence import PresenceStore


def session_arrays(store: PresenceStore, hub: str, now: datetime) -> dict[str, tuple[F64, F64]]:
    """person -> (arrive, leave) epoch seconds; an open session counts up to ``now``."""
    return _by_hub(store, now).get(hub, {})


def _by_hub(store: PresenceStore, now: datetime) -> dict[str, dict[str, tuple[F64, F64]]]:
    """hub -> person -> (arrive, leave): this home's sessions and those the partner's hub told of
    (both people at its home: hub.presence.together)."""
    out: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for s in store.sessions():
        arrive, leave = out.setdefault(s.hub, {}).setdefault(s.person, ([], []))
        arrive.append(s.arrived_at.timestamp())
        leave.append((s.left_at or now).timestamp())
    return {
        hub: {
            p: (np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)) for p, (a, b) in people.items()
        }
        for hub, people in out.items()
    }


def recent_summary(
    store: PresenceStore,
    hub: str,
    now: datetime,
    tz: ZoneInfo,
    days: int = 28,
) -> PresenceSummary:
    """The last ``days`` local days up to and including today."""
    today: date = now.astimezone(tz).date()
    hubs = _by_hub(store, now)
    here = hubs.pop(hub, {})
    return summarise(here, today - timedelta(days=days - 1), days, tz, elsewhere=list(hubs.values()))
