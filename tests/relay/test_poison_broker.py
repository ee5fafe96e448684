"""The envelopes that crash-looped a hub, over real mosquitto into a real hub (``open_hub``):
acknowledged (so never redelivered), counted by reason in /api/health and /metrics, and the hub
keeps receiving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hub.broker.config import inbox_topic
from hub.web.api import hub_app
from tests.relay.hostile import CRASHERS, SENDER, crasher, genuine, message_id
from tests.support.homes import two_homes
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import WAIT_S, eventually


def _publish_as_partner(broker: Broker, payloads: list[bytes], recipient: str) -> None:
    """What a hostile partner hub can do: publish sealed payloads with its own valid login."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id="hostile", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(SENDER, broker.password(SENDER))
    client.connect("127.0.0.1", broker.port, keepalive=10)
    client.loop_start()
    try:
        for payload in payloads:
            client.publish(inbox_topic(COUPLE.couple_id, recipient), payload, qos=1).wait_for_publish(WAIT_S)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_poison_over_the_broker_is_acknowledged_and_counted(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    async with two_homes(mosquitto_broker, tmp_path) as homes:
        hub = homes.hub_b
        # The hostile partner logs in as hub A, and the broker makes the login the client id: hub
        # A itself must be off the broker, or the two take the session from each other and a
        # publish in flight is lost.
        await homes.hub_a.couple.link.stop()
        payloads = [crasher(reason) for reason in CRASHERS for _ in range(3)] + [genuine(1)]
        await asyncio.to_thread(_publish_as_partner, mosquitto_broker, payloads, hub.config.relay.hub_id)
        await eventually(
            lambda: any(s.id == message_id(1) for s in hub.recent_signals(10)), what="the genuine signal"
        )
        transport = httpx.ASGITransport(app=hub_app(hub, auth=hub.config.web))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            health = (await http.get("/api/health")).json()
            metrics = (await http.get("/metrics")).text
        for reason in CRASHERS:
            assert health["rejected"][f"relay_{reason}"] == 3
            assert f'reason="relay_{reason}"}} 3' in metrics
