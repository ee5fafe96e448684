"""Links between signals, read back for the stats: "felt it" replies and shared moments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.events import Direction, SignalKind
from hub.store.database import open_database
from hub.store.holds import FeltReply, SignalLinks
from hub.store.signals import SignalLog
from tests.privacy.history import signal

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=7)


def test_felt_replies_come_with_both_times_and_only_since_the_window(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        log, links = SignalLog(db), SignalLinks(db)
        asked = NOW - timedelta(hours=1)
        signal(log, "b1", asked, direction=Direction.RECEIVED)
        signal(log, "a1", asked + timedelta(seconds=40), kind=SignalKind.FELT_IT)
        links.add("a1", "felt", "b1")
        signal(log, "b_old", NOW - timedelta(days=30), direction=Direction.RECEIVED)
        signal(log, "a_old", NOW - timedelta(days=30), kind=SignalKind.FELT_IT)
        links.add("a_old", "felt", "b_old")
        links.add("a1", "moment", "b1")  # another relation: not a reply
        assert links.felt_replies_since(SINCE) == [
            FeltReply(Direction.SENT, asked + timedelta(seconds=40), asked)
        ]
    finally:
        db.close()


def test_a_shared_moment_linked_by_both_hubs_counts_once(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        log, links = SignalLog(db), SignalLinks(db)
        assert links.shared_moments_since(SINCE) == 0
        for mine, theirs, at in (
            ("a1", "b1", NOW - timedelta(hours=2)),
            ("a2", "b2", NOW - timedelta(days=9)),
        ):
            signal(log, mine, at)
            signal(log, theirs, at, direction=Direction.RECEIVED)
            links.add(mine, "moment", theirs)
            links.add(theirs, "moment", mine)
        assert links.shared_moments_since(SINCE) == 1  # the second is before the window
        assert links.shared_moments_since(NOW - timedelta(days=10)) == 2
    finally:
        db.close()
