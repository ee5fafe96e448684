"""A flood of refusals: every one counted, one log line per reason a minute, saying how many more."""

from __future__ import annotations

from collections import Counter

import pytest

from hub.relay.poison import LOG_EVERY_S, PoisonLog


def test_a_flood_is_counted_in_full_and_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    counter: Counter[str] = Counter()
    log = PoisonLog(counter, lambda: now[0])
    for _ in range(1000):
        log.refused("too_deep", "inbox")
        log.refused("non_finite", "inbox")
    now[0] += LOG_EVERY_S
    log.refused("too_deep", "inbox")
    assert counter == {"too_deep": 1001, "non_finite": 1000}
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "(999 more since the last line)" in lines[-1]
    assert "relay_too_deep" in lines[-1]
