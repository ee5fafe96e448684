"""One real touch, end to end: A's simulated button -> A's hub -> mosquitto -> B's hub -> B.

Real parts only: the firmware from device/ runs on the simulator's shims, hubs read the air
through bleak's own front classes with the air backend, the relay goes through a real
mosquitto with password auth, ACL and persistence, and the phone notification is a real
HTTP POST from apprise to a local endpoint.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.events import Channel, Direction, Fate, SignalKind
from tests.support.homes import HOME_B, two_homes
from tests.support.mosquitto import Broker
from tests.support.notify_sink import NotifySink
from tests.support.waiting import eventually


async def test_a_tap_reaches_the_partners_button(
    mosquitto_broker: Broker,
    tmp_path: Path,
    notify_sink: NotifySink,
) -> None:
    async with two_homes(mosquitto_broker, tmp_path, notify_b=[notify_sink.apprise_url]) as homes:
        await homes.button_a.press("tap")

        received = await eventually(
            lambda: [s for s in homes.hub_b.recent_signals() if s.direction is Direction.RECEIVED],
            what="B's hub to store the signal",
        )
        assert received[0].kind is SignalKind.THINKING_OF_YOU
        assert received[0].sender == "Alex"

        feedback = await eventually(lambda: homes.button_b.outputs, what="B's button to buzz")
        assert feedback[0].pattern == "thinking_of_you"
        assert homes.button_b.rejections == {} or sum(homes.button_b.rejections.values()) == 0

        delivered = await eventually(
            lambda: [s for s in homes.hub_a.recent_signals() if s.fate is Fate.DELIVERED],
            what="A to learn (by receipt) that the touch was delivered",
        )
        assert delivered[0].id == received[0].id
        assert delivered[0].channel is Channel.BUTTON
        assert notify_sink.received == []  # the button confirmed, so the phone stays quiet


@pytest.mark.slow  # the button must first be missed
async def test_partner_away_from_their_button_gets_a_phone_notification(
    mosquitto_broker: Broker,
    tmp_path: Path,
    notify_sink: NotifySink,
) -> None:
    async with two_homes(mosquitto_broker, tmp_path, notify_b=[notify_sink.apprise_url]) as homes:
        # B's button is 3 km from B's hub: it cannot be reached, so the phone must be.
        await homes.button_b.move(HOME_B[0] + 3000, HOME_B[1])
        await homes.button_a.press("double_tap")

        posts = await eventually(lambda: notify_sink.received, within_s=20, what="a phone notification")
        assert posts[0]["title"] == "Proud of you"
        assert "Alex" in posts[0]["message"]

        signal = await eventually(
            lambda: [s for s in homes.hub_b.recent_signals() if s.fate is Fate.DELIVERED],
            what="B's signal to be delivered by phone",
        )
        assert signal[0].channel is Channel.PHONE
        assert signal[0].kind is SignalKind.CELEBRATE
        assert homes.button_b.outputs == []
