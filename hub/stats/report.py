"""The statistics a couple sees (``GET /api/stats``, ``heartline stats``): time at home and
together, touches given and received, streaks and the shape of their week. Never a ranking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from hub.stats.history import recent_summary
from hub.stats.presence import describe
from hub.store.presence import PresenceStore
from hub.store.signals import SignalLog

DEFAULT_DAYS: Final = 28
SECONDS_PER_HOUR: Final = 3600.0


def stats_report(
    presence: PresenceStore,
    signals: SignalLog,
    *,
    hub: str,
    now: datetime,
    tz: ZoneInfo,
    days: int = DEFAULT_DAYS,
) -> dict[str, Any]:
    summary = recent_summary(presence, hub, now, tz, days=days)
    counts = signals.counts_since(now - timedelta(days=days))
    sent = {kind: n for (direction, kind), n in counts.items() if direction == "sent"}
    received = {kind: n for (direction, kind), n in counts.items() if direction == "received"}
    lines = describe(summary)
    total = sum(sent.values()) + sum(received.values())
    if total:
        lines.append(f"{total} touches shared in the last {days} days.")
    return {
        "days": days,
        "first_day": summary.first_day.isoformat(),
        "timezone": str(tz),
        "presence_hours_by_day": {
            person: [round(float(v) / SECONDS_PER_HOUR, 2) for v in values]
            for person, values in summary.presence_by_day.items()
        },
        "together_hours_by_day": [round(float(v) / SECONDS_PER_HOUR, 2) for v in summary.together_by_day],
        "together_hours_by_week": [round(float(v) / SECONDS_PER_HOUR, 2) for v in summary.together_by_week],
        "together_streak_days": summary.together_streak_now,
        "together_streak_best_days": summary.together_streak_best,
        "together_hour_of_week": [round(float(v), 3) for v in summary.hour_of_week],
        "touches_sent": sent,
        "touches_received": received,
        "summary": lines,
    }
