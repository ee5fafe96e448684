"""A sealed partner status the relay hands over only after this hub's own link went down (the
receiver runs behind paho's thread) must not bring back "partner online": with the link down,
the partner's status is unknown, against a real mosquitto."""

from __future__ import annotations

from pathlib import Path

from tests.relay.node import started_pair
from tests.support.mosquitto import Broker
from tests.support.waiting import START_S, eventually


async def test_a_status_handled_after_the_link_went_down_is_history(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    a, b = await started_pair(mosquitto_broker, tmp_path)
    try:
        await eventually(
            lambda: b.couple.partner_hub.status.online is True, within_s=START_S, what="A online at B"
        )
        await eventually(lambda: b.relay.arrival or None, what="A's sealed status at B")
        mosquitto_broker.stop()
        await eventually(lambda: not b.link.connected.is_set(), what="B's link down")
        await eventually(lambda: b.couple.partner_hub.status.online is None, what="A unknown at B")
        # A sealed "online" that was the last message B's link received before it went down...
        heard_at = b.link.arrivals
        # Handled only now (as when it waited in the receiver's queue behind the disconnect).
        b.link.partner_said("online", heard_at)
        assert b.couple.partner_hub.status.online is None
    finally:
        await a.stop()
        await b.stop()
