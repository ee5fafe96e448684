"""Presence and together time per day and week, streaks and the hour-of-week pattern."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from hub.stats.presence import covered, describe, intersect, streaks, summarise, union

TZ = ZoneInfo("Europe/Amsterdam")


def at(day: int, hour: float, month: int = 3) -> float:
    return datetime(2025, month, day, tzinfo=TZ).timestamp() + hour * 3600.0


def test_union_and_intersect() -> None:
    lo, hi = union(np.array([5.0, 0.0, 20.0]), np.array([12.0, 6.0, 30.0]))
    assert lo.tolist() == [0.0, 20.0]
    assert hi.tolist() == [12.0, 30.0]
    lo, hi = intersect(np.array([0.0, 20.0]), np.array([12.0, 30.0]), np.array([10.0]), np.array([25.0]))
    assert lo.tolist() == [10.0, 20.0]
    assert hi.tolist() == [12.0, 25.0]


def test_a_session_across_midnight_counts_on_both_days() -> None:
    edges = np.array([at(3, 0), at(4, 0), at(5, 0)])
    assert covered(np.array([at(3, 22)]), np.array([at(4, 7)]), edges).tolist() == [7200.0, 25200.0]


def test_a_dst_day_is_23_hours_long() -> None:
    summary = summarise({"ana": (np.array([at(29, 0)]), np.array([at(31, 0)]))}, date(2025, 3, 29), 2, TZ)
    assert summary.presence_by_day["ana"].tolist() == [24 * 3600.0, 23 * 3600.0]


def test_together_time_streaks_and_pattern() -> None:
    ana = (np.array([at(d, 18) for d in range(3, 10)]), np.array([at(d, 23) for d in range(3, 10)]))
    days = [d for d in range(3, 10) if d != 5]
    ben = (np.array([at(d, 20) for d in days]), np.array([at(d, 22) for d in days]))
    summary = summarise({"ana": ana, "ben": ben}, date(2025, 3, 3), 7, TZ)  # Monday 3 March
    assert summary.together_by_day.tolist() == [7200.0, 7200.0, 0.0, 7200.0, 7200.0, 7200.0, 7200.0]
    assert summary.together_by_week.tolist() == [6 * 7200.0]
    assert (summary.together_streak_now, summary.together_streak_best) == (4, 4)
    assert summary.hour_of_week[20] == 1.0  # Monday 20:00
    assert summary.hour_of_week[2 * 24 + 20] == 0.0  # not on Wednesday
    text = " ".join(describe(summary))
    assert "12.0 hours together this week" in text
    assert "4 days in a row" in text


def test_streaks() -> None:
    assert streaks(np.array([True, True, False, True])) == (1, 2)
    assert streaks(np.array([], dtype=bool)) == (0, 0)


def test_together_at_the_partners_home_counts_beside_this_homes() -> None:
    here = {
        "Alex": (np.array([at(3, 8)]), np.array([at(3, 20)])),
        "Sam": (np.array([at(3, 19)]), np.array([at(3, 20)])),
    }
    # Friday evening at Sam's home, as Sam's hub told it: both there 19:00-22:00 on the 4th.
    there = {
        "Alex": (np.array([at(4, 19)]), np.array([at(4, 22)])),
        "Sam": (np.array([at(4, 19)]), np.array([at(4, 22)])),
    }
    summary = summarise(here, date(2025, 3, 3), 2, TZ, elsewhere=[there])
    assert summary.together_by_day.tolist() == [3600.0, 3 * 3600.0]
    assert summary.presence_by_day["Alex"].tolist() == [12 * 3600.0, 0.0]  # home time is this home's only
    alone = summarise(here, date(2025, 3, 3), 2, TZ)
    assert alone.together_by_day.tolist() == [3600.0, 0.0]
