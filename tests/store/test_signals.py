"""The signal log's counts: by fate, for the metrics page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.events import Fate
from hub.store.database import open_database
from hub.store.signals import SignalLog
from tests.privacy.history import signal

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_count_by_fate_counts_each_fate_present_and_leaves_the_others_out(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        log = SignalLog(db)
        assert log.count_by_fate() == {}
        for i in range(3):
            signal(log, f"s{i}", NOW - timedelta(minutes=i))  # made delivered
        log.set_fate("s0", Fate.FAILED, NOW, reason="no_button")
        counts = log.count_by_fate()
        assert counts == {Fate.DELIVERED: 2, Fate.FAILED: 1}
        assert {str(fate): n for fate, n in counts.items()} == {"delivered": 2, "failed": 1}
    finally:
        db.close()
