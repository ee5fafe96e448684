"""How partners answer each other: "felt it" response times and shared moments (numpy).

A "felt it" reply names the signal it answers (``signal_links``, relation ``felt``). Its response
time runs from when the answered signal was made to when the reply was made, each on the clock of
the hub that made it (both hubs keep NTP time; a negative difference from a small skew counts as
0). "Yours" are replies this home sent to the partner's signals; "theirs" the partner's replies to
this home's. A shared moment (relation ``moment``) is counted once even if both hubs linked it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from hub.events import Direction
from hub.store.database import Database
from hub.store.holds import SignalLinks


@dataclass(frozen=True, slots=True)
class ReplyStats:
    sent_count: int  # "felt it" replies this home sent
    sent_median_s: float | None
    received_count: int  # "felt it" replies from the partner
    received_median_s: float | None
    shared_moments: int
    all_median_s: float | None  # both directions together (what the summary sentence says)


def reply_stats(db: Database, since: datetime) -> ReplyStats:
    """Replies and shared moments made since ``since``."""
    links = SignalLinks(db)
    sent: list[float] = []
    received: list[float] = []
    for reply in links.felt_replies_since(since):
        seconds = (reply.replied_at - reply.answered_at).total_seconds()
        (sent if reply.direction is Direction.SENT else received).append(seconds)
    moments = links.shared_moments_since(since)
    return ReplyStats(
        sent_count=len(sent),
        sent_median_s=_median(sent),
        received_count=len(received),
        received_median_s=_median(received),
        shared_moments=moments,
        all_median_s=_median(sent + received),
    )


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    return round(float(np.median(np.maximum(np.asarray(values, dtype=np.float64), 0.0))), 1)


def describe_replies(stats: ReplyStats) -> list[str]:
    """Warm words, for both of you together: never a comparison between the partners."""
    lines: list[str] = []
    replies = stats.sent_count + stats.received_count
    if replies and stats.all_median_s is not None:
        noun = "time" if replies == 1 else "times"
        lines.append(
            f'You answered each other with "felt it" {replies} {noun}, usually {_after(stats.all_median_s)}.'
        )
    if stats.shared_moments:
        noun = "moment" if stats.shared_moments == 1 else "moments"
        lines.append(f"{stats.shared_moments} shared {noun}: you reached for each other at the same time.")
    return lines


def _after(seconds: float) -> str:
    if seconds < 90:
        return "within a minute or so"
    if seconds < 3600:
        return f"within about {round(seconds / 60)} minutes"
    return f"within about {seconds / 3600:.1f} hours"
