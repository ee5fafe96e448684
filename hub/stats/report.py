"""The statistics a couple sees (``GET /api/stats``, ``heartline stats``): time at home and
together, touches given and received, streaks and the shape of their week. Never a ranking."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from hub.stats.history import recent_summary
from hub.stats.presence import describe
from hub.stats.replies import describe_replies, reply_stats
from hub.store.database import Database
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
    db: Database | None = None,
) -> dict[str, Any]:
    """The report; with ``db`` also "felt it" response times and shared moments (the ``felt_it_*``
    and ``shared_moments`` keys, present only then)."""
    summary = recent_summary(presence, hub, now, tz, days=days)
    counts = signals.counts_since(now - timedelta(days=days))
    sent = {kind: n for (direction, kind), n in counts.items() if direction == "sent"}
    received = {kind: n for (direction, kind), n in counts.items() if direction == "received"}
    lines = describe(summary)
    total = sum(sent.values()) + sum(received.values())
    if total:
        lines.append(f"{total} {'touch' if total == 1 else 'touches'} shared in the last {days} days.")
    replies: dict[str, Any] = {}
    if db is not None:
        answered = reply_stats(db, now - timedelta(days=days))
        lines.extend(describe_replies(answered))
        replies = {
            "felt_it_sent_count": answered.sent_count,
            "felt_it_sent_median_s": answered.sent_median_s,
            "felt_it_received_count": answered.received_count,
            "felt_it_received_median_s": answered.received_median_s,
            "shared_moments": answered.shared_moments,
        }
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
        **replies,
        "summary": lines,
    }
