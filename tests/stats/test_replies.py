""" "Felt it" response times and shared moments, in the stats report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.events import Direction, SignalKind
from hub.stats.replies import describe_replies, reply_stats
from hub.stats.report import stats_report
from hub.store.database import Database, open_database
from hub.store.holds import SignalLinks
from hub.store.presence import PresenceStore
from hub.store.signals import SignalLog
from tests.privacy.history import signal

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _history(db: Database) -> None:
    log, links = SignalLog(db), SignalLinks(db)
    with db.transaction():
        # Ana answered three of Ben's touches after 30 s, 60 s and 10 min.
        for i, delay in enumerate((30, 60, 600)):
            at = NOW - timedelta(days=1, hours=i)
            signal(log, f"b{i}", at, direction=Direction.RECEIVED)
            signal(log, f"a{i}", at + timedelta(seconds=delay), kind=SignalKind.FELT_IT)
            links.add(f"a{i}", "felt", f"b{i}")
        # Ben answered one of Ana's after 2 minutes; a small clock skew makes another look early.
        signal(log, "a9", NOW - timedelta(hours=3))
        signal(log, "b9", NOW - timedelta(hours=3) + timedelta(seconds=120), direction=Direction.RECEIVED)
        links.add("b9", "felt", "a9")
        signal(log, "a8", NOW - timedelta(hours=2))
        signal(log, "b8", NOW - timedelta(hours=2) - timedelta(seconds=1), direction=Direction.RECEIVED)
        links.add("b8", "felt", "a8")
        # Two shared moments; the second was linked by both hubs (it counts once).
        signal(log, "a7", NOW - timedelta(hours=1))
        signal(log, "b7", NOW - timedelta(hours=1), direction=Direction.RECEIVED)
        links.add("a7", "moment", "b7")
        signal(log, "a6", NOW - timedelta(minutes=30))
        signal(log, "b6", NOW - timedelta(minutes=30), direction=Direction.RECEIVED)
        links.add("a6", "moment", "b6")
        links.add("b6", "moment", "a6")
        # Long ago: outside the window.
        signal(log, "b_old", NOW - timedelta(days=60), direction=Direction.RECEIVED)
        signal(log, "a_old", NOW - timedelta(days=60) + timedelta(seconds=5), kind=SignalKind.FELT_IT)
        links.add("a_old", "felt", "b_old")
        links.add("a_old", "moment", "b_old")


def test_felt_it_response_times_both_ways_and_shared_moments(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    _history(db)
    stats = reply_stats(db, NOW - timedelta(days=28))
    assert (stats.sent_count, stats.sent_median_s) == (3, 60.0)
    assert (stats.received_count, stats.received_median_s) == (2, 60.0)  # median of 120 s and 0 s
    assert stats.all_median_s == 60.0
    assert stats.shared_moments == 2
    text = " ".join(describe_replies(stats))
    assert '"felt it" 5 times, usually within a minute or so' in text
    assert "2 shared moments" in text


def test_no_replies_yet_says_nothing(tmp_path: Path) -> None:
    stats = reply_stats(open_database(tmp_path), NOW - timedelta(days=28))
    assert (stats.sent_count, stats.sent_median_s, stats.received_median_s, stats.shared_moments) == (
        0,
        None,
        None,
        0,
    )
    assert describe_replies(stats) == []


def test_the_report_carries_the_new_keys_with_a_database(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    _history(db)
    args = (PresenceStore(db), SignalLog(db))
    plain = stats_report(*args, hub="home", now=NOW, tz=ZoneInfo("UTC"))
    assert "felt_it_sent_count" not in plain
    report = stats_report(*args, hub="home", now=NOW, tz=ZoneInfo("UTC"), db=db)
    assert report["felt_it_sent_count"] == 3
    assert report["felt_it_sent_median_s"] == 60.0
    assert report["felt_it_received_count"] == 2
    assert report["felt_it_received_median_s"] == 60.0
    assert report["shared_moments"] == 2
    assert any("felt it" in line for line in report["summary"])
