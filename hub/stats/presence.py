"""Presence and together time per day and week, streaks, and an hour-of-week pattern (numpy).

Sessions are (arrive, leave) epoch seconds. Each person's sessions are first united (they never
overlap after that), so everything below is differences of one cumulative function: seconds
present up to time t, evaluated with ``np.interp`` at day or hour boundaries. Days are local
calendar days in the couple's time zone (DST days are 23 or 25 h long and counted as such).

Nothing here compares the partners with each other; together time is shared by definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from hub.presence.batch import intersect_sorted

F64 = npt.NDArray[np.float64]
HOURS_PER_WEEK = 7 * 24


def union(arrive: F64, leave: F64) -> tuple[F64, F64]:
    """Merge overlapping or touching intervals; returns sorted, disjoint ones."""
    if arrive.size == 0:
        return np.empty(0), np.empty(0)
    order = np.argsort(arrive, kind="stable")
    a = arrive[order]
    b = leave[order]
    reach = np.maximum.accumulate(b)
    new = np.ones(a.size, dtype=bool)
    new[1:] = a[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], a.size) - 1
    return a[first], reach[last]


def intersect(a_lo: F64, a_hi: F64, b_lo: F64, b_hi: F64) -> tuple[F64, F64]:
    """Intersection of two sets of intervals (each given in any order, overlaps allowed)."""
    return intersect_sorted(*union(a_lo, a_hi), *union(b_lo, b_hi))


def covered(arrive: F64, leave: F64, edges: F64) -> F64:
    """Seconds inside the intervals between consecutive ``edges`` (len(edges) - 1 values)."""
    lo, hi = union(arrive, leave)
    if lo.size == 0:
        return np.zeros(max(edges.size - 1, 0))
    x = np.empty(2 * lo.size)
    x[0::2] = lo
    x[1::2] = hi
    y = np.zeros_like(x)
    y[1::2] = np.cumsum(hi - lo)
    y[2::2] = y[1:-1:2]
    cumulative = np.interp(edges, x, y, left=0.0, right=float(y[-1]))
    return np.diff(cumulative)


def day_edges(first: date, days: int, tz: ZoneInfo) -> F64:
    """Epoch seconds of local midnights from ``first`` for ``days`` days (days + 1 edges)."""
    return np.array(
        [datetime.combine(first + timedelta(days=i), time(), tz).timestamp() for i in range(days + 1)],
    )


@dataclass(frozen=True, slots=True)
class PresenceSummary:
    first_day: date
    presence_by_day: dict[str, F64]  # person -> seconds home, one per day
    together_by_day: F64  # seconds both were near this hub
    together_by_week: F64  # seconds per 7-day week from first_day
    together_streak_now: int  # days in a row, up to the last day, with time together
    together_streak_best: int
    hour_of_week: F64  # share (0-1) of each hour of the week, Monday 00:00 first, spent together


def both_present(sessions: dict[str, tuple[F64, F64]]) -> tuple[F64, F64]:
    """When everyone in ``sessions`` was present at once (empty for fewer than two people)."""
    people = sorted(sessions)
    if len(people) < 2:
        return np.empty(0), np.empty(0)
    lo, hi = sessions[people[0]]
    for person in people[1:]:
        lo, hi = intersect(lo, hi, *sessions[person])
    return lo, hi


def summarise(
    sessions: dict[str, tuple[F64, F64]],
    first: date,
    days: int,
    tz: ZoneInfo,
    elsewhere: Sequence[dict[str, tuple[F64, F64]]] = (),
) -> PresenceSummary:
    """Statistics for ``days`` local days from ``first``. ``sessions``: person -> (arrive, leave)
    at this home; ``elsewhere``: the same at other homes (a visit there), for together time."""
    edges = day_edges(first, days, tz)
    by_day = {person: covered(a, b, edges) for person, (a, b) in sessions.items()}
    spans = [both_present(sessions), *(both_present(other) for other in elsewhere)]
    lo, hi = union(np.concatenate([s[0] for s in spans]), np.concatenate([s[1] for s in spans]))
    together = covered(lo, hi, edges)
    weeks = -(-days // 7)
    padded = np.zeros(weeks * 7)
    padded[:days] = together
    by_week = padded.reshape(weeks, 7).sum(axis=1)
    now_streak, best = streaks(together > 0)
    pattern = hour_pattern(lo, hi, edges, tz)
    return PresenceSummary(first, by_day, together, by_week, now_streak, best, pattern)


def streaks(flags: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """(run of True ending at the last element, longest run of True)."""
    if flags.size == 0:
        return 0, 0
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    change = np.diff(padded)
    starts = np.flatnonzero(change == 1)
    ends = np.flatnonzero(change == -1)
    runs = ends - starts
    best = int(runs.max()) if runs.size else 0
    current = int(runs[-1]) if runs.size and ends[-1] == flags.size else 0
    return current, best


def hour_pattern(lo: F64, hi: F64, edges: F64, tz: ZoneInfo) -> F64:
    """Share of each hour of the week (Monday 00 first) covered by the intervals."""
    start = datetime.fromtimestamp(float(edges[0]), tz)
    hours = round(float(edges[-1] - edges[0]) / 3600.0)
    hour_edges = edges[0] + 3600.0 * np.arange(hours + 1)
    seconds = covered(lo, hi, hour_edges)
    slot = (start.weekday() * 24 + start.hour + np.arange(hours)) % HOURS_PER_WEEK
    total = np.bincount(slot, weights=seconds, minlength=HOURS_PER_WEEK)
    count = np.bincount(slot, minlength=HOURS_PER_WEEK)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(count > 0, total / (3600.0 * np.maximum(count, 1)), 0.0)
    return np.asarray(share, dtype=np.float64)


def describe(summary: PresenceSummary) -> list[str]:
    """A few warm sentences for the dashboard and ``heartline stats``."""
    lines: list[str] = []
    week = float(summary.together_by_week[-1]) if summary.together_by_week.size else 0.0
    if week > 0:
        lines.append(f"You shared {_hours(week)} together this week.")
    else:
        lines.append("No time side by side this week yet; a touch still says you are thinking of them.")
    if summary.together_streak_now >= 2:
        lines.append(f"{summary.together_streak_now} days in a row with time together.")
    if summary.together_streak_best > summary.together_streak_now and summary.together_streak_best >= 2:
        lines.append(f"Your longest run of days together so far: {summary.together_streak_best}.")
    if summary.hour_of_week.any():
        best = int(np.argmax(summary.hour_of_week))
        names = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
        day = names[best // 24]
        lines.append(f"Your favourite time together: {day} around {best % 24:02d}:00.")
    return lines


def _hours(seconds: float) -> str:
    hours = seconds / 3600.0
    if hours < 1:
        return f"{round(seconds / 60)} minutes"
    return f"{hours:.1f} hours"
