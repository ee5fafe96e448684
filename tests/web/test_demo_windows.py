"""The scripted demo's felt-it window runs on the scripted day's clock, not on real time: at
speed 600, a tap half a scripted hour after a delivered touch is its own touch, while a reply
30 scripted seconds after one is "felt it" (hub.demo.script.ScriptClock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.home import SimHome
from hub.demo.script import Beat, ScriptClock, play_day
from hub.events import Direction, Fate, SignalKind
from tests.support.homes import HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B, Homes, two_homes
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SPEED = 600.0
HALF_HOUR = 0.5
THIRTY_S = 30 / 3600
DAY = (
    Beat(7.0, "a", "tap", "{a} touches the button"),
    Beat(7.0 + HALF_HOUR, "b", "reply", "{b} taps, half an hour after it buzzed"),
    Beat(7.0 + HALF_HOUR + THIRTY_S, "a", "reply", "{a} taps back at once"),
)


@pytest.fixture
def clock() -> ScriptClock:
    return ScriptClock()


@pytest.fixture
async def homes(mosquitto_broker: Broker, tmp_path: Path, clock: ScriptClock) -> AsyncIterator[Homes]:
    async with two_homes(mosquitto_broker, tmp_path, windows_clock=clock) as running:
        yield running


def _sent(homes: Homes, hub: str) -> list[SignalKind]:
    signals = (homes.hub_a if hub == "a" else homes.hub_b).recent_signals(100)
    return [s.kind for s in reversed(signals) if s.direction is Direction.SENT]


async def test_a_tap_half_a_scripted_hour_later_is_not_felt_it(homes: Homes, clock: ScriptClock) -> None:
    places = {"a": HOME_A, "b": HOME_B}
    sim = {
        "a": SimHome("a", homes.air, HUB_RADIO_A, HOME_A, {"a-button": homes.button_a}, places),
        "b": SimHome("b", homes.air, HUB_RADIO_B, HOME_B, {"b-button": homes.button_b}, places),
    }
    played = await play_day(sim, SPEED, day=DAY, names={"a": "Alex", "b": "Sam"}, clock=clock)
    assert all(p.ok for p in played), [p.text for p in played if not p.ok]

    async def all_delivered() -> bool:
        signals = homes.hub_a.recent_signals(100) + homes.hub_b.recent_signals(100)
        received = [s for s in signals if s.direction is Direction.RECEIVED]
        return len(received) == 3 and all(s.fate is Fate.DELIVERED for s in received)

    await eventually_async(all_delivered, what="every scripted touch to be delivered")
    assert _sent(homes, "b") == [SignalKind.THINKING_OF_YOU]  # 30 scripted minutes: not an answer
    assert _sent(homes, "a") == [SignalKind.THINKING_OF_YOU, SignalKind.FELT_IT]
