"""Quiet hours and the flood limit, through real relays on real mosquitto ("felt it" and shared
moments: tests/signals/test_meanings.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.clock import ManualClock
from hub.config import QuietHoursSection
from hub.delivery.quiet_hours import QuietHours
from hub.events import Fate, SignalKind, SignalRecord
from tests.relay.node import RelayNode, node_config
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually

QUIET = {"quiet_hours": {"start": "22:00", "end": "07:00", "break_through": ["need_you"]}}


def test_quiet_hours_window_in_the_recipients_zone() -> None:
    quiet = QuietHours.from_config(QuietHoursSection("22:00", "07:00"), "Europe/Berlin")
    night = datetime(2025, 1, 10, 23, 30, tzinfo=UTC)  # 00:30 in Berlin
    assert quiet.release_at(night, SignalKind.THINKING_OF_YOU) == datetime(2025, 1, 11, 6, 0, tzinfo=UTC)
    assert quiet.release_at(night, SignalKind.NEED_YOU) is None  # breaks through
    assert quiet.release_at(datetime(2025, 1, 10, 12, 0, tzinfo=UTC), SignalKind.CELEBRATE) is None
    evening = datetime(2025, 1, 10, 21, 30, tzinfo=UTC)  # 22:30 in Berlin: released next morning
    assert quiet.release_at(evening, SignalKind.CELEBRATE) == datetime(2025, 1, 11, 6, 0, tzinfo=UTC)


@pytest.mark.slow
async def test_quiet_hours_hold_then_one_summary(mosquitto_broker: Broker, tmp_path: Path) -> None:
    night = ManualClock(datetime(2025, 1, 10, 23, 0, tzinfo=UTC))  # midnight for B in Berlin
    extra = {**QUIET, "hub": {"timezone": "Europe/Berlin"}}
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"))
    b = RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b", extra=extra), clock=night)
    await a.start()
    await b.start()
    held = [a.send(SignalKind.THINKING_OF_YOU), a.send(SignalKind.CELEBRATE)]
    urgent = a.send(SignalKind.NEED_YOU)
    await eventually(lambda: b.person.shown == [urgent.id], what="'I need you' to break through")
    held_ids = {s.id for s in held}

    def both_held() -> dict[str, SignalRecord] | None:
        # Each receipt arrives on its own: wait for both, then check nothing else was held.
        found = {s.id: s for s in a.sent() if s.fate is Fate.HELD}
        return found if held_ids <= set(found) else None

    fates = await eventually(both_held, what="A to see both 'held'")
    assert set(fates) == held_ids
    reason = fates[held[0].id].reason or ""
    assert "quiet hours 22:00-07:00 Europe/Berlin" in reason
    assert "release 2025-01-11T06:00:00+00:00" in reason
    night.advance(7 * 3600)  # 07:00 in Berlin
    await eventually(lambda: b.person.summaries, what="the morning summary")
    assert b.person.summaries == [[s.id for s in held]]
    await eventually(
        lambda: all(s.fate is Fate.DELIVERED for s in a.sent()), what="A to see all three delivered"
    )
    assert "summary of 2" in (a.signals.get(held[0].id).reason or "")  # type: ignore[union-attr]
    assert b.person.duplicates() == {}
    await a.stop()
    await b.stop()


@pytest.mark.slow
async def test_a_stuck_button_is_rate_limited_and_summarised(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2025, 1, 10, 12, 0, tzinfo=UTC))
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"))
    b = RelayNode(
        node_config(mosquitto_broker, 1, tmp_path / "b", extra={"delivery": {"max_per_minute": 3}}),
        clock=clock,
    )
    await a.start()
    await b.start()
    ids = [a.send().id for _ in range(10)]
    await eventually(lambda: len(b.received()) == 10, what="B to receive the flood")
    await eventually(lambda: sum(s.fate is Fate.HELD for s in b.received()) == 7, what="7 held")
    assert len(b.person.shown) == 3  # only three buzzes
    held = next(s for s in b.received() if s.fate is Fate.HELD)
    assert "rate limit 3/min" in (held.reason or "")
    clock.advance(61)
    await eventually(lambda: b.person.summaries, what="the flood summary")
    assert len(b.person.summaries) == 1
    assert len(b.person.summaries[0]) == 7
    assert sorted(b.person.shown) == sorted(ids)
    await a.stop()
    await b.stop()
