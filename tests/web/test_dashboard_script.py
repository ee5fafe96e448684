"""The demo's scripted day, played fast against two running homes: the touches, the long press
and the "felt it" replies all happen, and the buttons go away and come home."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.home import SimHome
from hub.demo.script import AWAY_M, DAY, HOME_M, Beat, Played, play_day
from hub.events import Direction, Fate, SignalKind
from tests.support.homes import HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B, Homes, two_homes
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually_async

# A scripted day against two running hubs, then a button walked away and back.
pytestmark = pytest.mark.slow


@pytest.fixture
async def homes(mosquitto_broker: Broker, tmp_path: Path) -> AsyncIterator[Homes]:
    async with two_homes(mosquitto_broker, tmp_path) as running:
        yield running


def _sim(homes: Homes) -> dict[str, SimHome]:
    places = {"a": HOME_A, "b": HOME_B}
    return {
        "a": SimHome("a", homes.air, HUB_RADIO_A, HOME_A, {"a-button": homes.button_a}, places),
        "b": SimHome("b", homes.air, HUB_RADIO_B, HOME_B, {"b-button": homes.button_b}, places),
    }


def _kinds(homes: Homes, hub: str, direction: str) -> list[SignalKind]:
    signals = (homes.hub_a if hub == "a" else homes.hub_b).recent_signals(100)
    return [s.kind for s in reversed(signals) if s.direction == direction]


@pytest.mark.timeout(120)
async def test_a_scripted_day_at_speed_touches_replies_and_travels(homes: Homes) -> None:
    sim = _sim(homes)
    seen: list[Played] = []
    played = await play_day(sim, speed=100_000.0, names={"a": "Alex", "b": "Sam"}, on_beat=seen.append)

    assert [p.beat for p in played] == list(DAY)
    assert seen == played
    assert all(p.ok for p in played), [p.text for p in played if not p.ok]
    assert played[0].text == "Alex wakes and touches the button: thinking of you"

    async def all_delivered() -> bool:
        signals = homes.hub_a.recent_signals(100) + homes.hub_b.recent_signals(100)
        received = [s for s in signals if s.direction is Direction.RECEIVED]
        return len(received) == 6 and all(s.fate is Fate.DELIVERED for s in received)

    await eventually_async(all_delivered, what="every scripted touch to be delivered")
    assert _kinds(homes, "a", "sent") == [SignalKind.THINKING_OF_YOU, SignalKind.NEED_YOU]
    # Sam's tap at Alex's home (the evening together) is Sam's, sent by Sam's hub.
    assert _kinds(homes, "b", "sent") == [
        SignalKind.FELT_IT,
        SignalKind.CELEBRATE,
        SignalKind.THINKING_OF_YOU,
        SignalKind.FELT_IT,
    ]
    assert _kinds(homes, "b", "received") == _kinds(homes, "a", "sent")
    assert _kinds(homes, "a", "received") == _kinds(homes, "b", "sent")
    moves = [(p.beat.home, p.beat.action) for p in played if p.beat.action in ("leave", "arrive", "visit")]
    assert moves == [
        ("a", "leave"),
        ("b", "leave"),
        ("b", "arrive"),
        ("a", "arrive"),
        ("b", "visit"),
        ("b", "arrive"),
    ]
    assert homes.button_a.outputs  # Alex's button buzzed, Sam's touch beside it among them
    await eventually_async(lambda: _distance(sim, "a", HOME_M), what="Alex's button back home")

    # A one-beat day: the button really goes away from its hub.
    await play_day(sim, speed=1.0, day=(Beat(8.0, "a", "leave", "{a} leaves"),))
    await eventually_async(lambda: _distance(sim, "a", AWAY_M), what="Alex's button away")


async def _distance(sim: dict[str, SimHome], home: str, metres: float) -> bool:
    return bool(sim[home].button_output(f"{home}-button")["distance_m"] == pytest.approx(metres))


async def test_a_speed_of_zero_is_refused(homes: Homes) -> None:
    with pytest.raises(ValueError, match="speed"):
        await play_day(_sim(homes), speed=0)
