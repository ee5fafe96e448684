"""Home Assistant discovery: payloads valid against HA's schema; a real bridge on a real broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.config import HomeAssistantSection, parse_homeassistant_section
from hub.errors import ConfigError
from hub.events import Gesture
from hub.homeassistant.discovery import HubIdentity, Topics, hub_configs
from hub.homeassistant.publisher import HomeAssistantBridge
from tests.homeassistant.ha_schema import problems
from tests.support.homes import Homes, two_homes
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import WAIT_S, eventually

IDENTITY = HubIdentity(hub_id="h7f3a9c2e1b", home_name="home", person="Alex", partner="Sam")
TOPICS = Topics("homeassistant", "heartline-ha", "h7f3a9c2e1b")
START_TIMEOUT_S = 60.0  # a broker process; seconds only on a busy machine


def test_every_discovery_payload_fits_the_published_schema() -> None:
    configs = hub_configs(IDENTITY, TOPICS, [1, 7])
    assert len(configs) == 3 + 1 + 2 * len(Gesture)  # presence x2 + together, last signal, triggers
    for topic, payload in configs:
        assert problems(topic, json.loads(json.dumps(payload))) == []
    triggers = [(p["type"], p["subtype"]) for t, p in configs if "/device_automation/" in t]
    assert len(set(triggers)) == len(triggers)  # HA: type + subtype unique per device
    assert len({t for t, _ in configs}) == len(configs)  # one config per topic
    for topic, payload in configs:  # topics carry opaque ids only, never names
        for name in ("Alex", "Sam"):
            assert name not in topic
            assert all(name not in str(v) for k, v in payload.items() if k.endswith("topic"))


def test_the_schema_checker_catches_mistakes() -> None:
    topic, payload = hub_configs(IDENTITY, TOPICS, [1])[-1]
    assert problems(topic, {**payload, "stat_topic": "x"}) == [f"{topic}: unknown key stat_topic"]
    broken = {k: v for k, v in payload.items() if k != "subtype"}
    assert problems(topic, broken) == [f"{topic}: missing subtype"]
    sensor_topic, sensor = hub_configs(IDENTITY, TOPICS, [])[0]
    assert problems(sensor_topic, {**sensor, "state_topic": "a/+/b"})


def test_settings_name_the_wrong_key() -> None:
    settings = parse_homeassistant_section(
        {"broker": "mqtt://homeassistant.local", "username": "hl"}, "hub.toml"
    )
    assert (settings.host, settings.port, settings.discovery_prefix) == (
        "homeassistant.local",
        1883,
        "homeassistant",
    )
    for raw, key in (
        ({}, "homeassistant.broker"),
        ({"broker": "http://x"}, "homeassistant.broker"),
        ({"broker": "mqtt://8.8.8.8:1883"}, "homeassistant.broker"),
        ({"broker": "mqtt://ha.local", "discovery_prefix": "home/#"}, "homeassistant.discovery_prefix"),
        ({"broker": "mqtt://ha.local", "pasword": "x"}, "homeassistant.pasword"),
        ({"broker": "mqtt://ha.local", "password": "s3cret!"}, "homeassistant.username"),
    ):
        with pytest.raises(ConfigError) as info:
            parse_homeassistant_section(raw, "hub.toml")
        assert info.value.key == key
        assert "s3cret!" not in str(info.value)


# -- a real bridge, a real (plain, anonymous, loopback) broker standing in for HA's ------------------


@pytest.fixture
def ha_broker(mosquitto_binary: Path, tmp_path: Path) -> Iterator[int]:
    (port,) = free_ports(1)
    config = tmp_path / "ha-mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    with (tmp_path / "ha-mosquitto.log").open("wb") as log:
        process = subprocess.Popen(
            [str(mosquitto_binary), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            assert process.poll() is None, (tmp_path / "ha-mosquitto.log").read_text()
            assert time.monotonic() < deadline, "HA test broker did not start"
            time.sleep(0.02)
        yield port
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=START_TIMEOUT_S)


class Watcher:
    """What Home Assistant would see: every message under the discovery prefix and our root."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.retained: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="ha-watcher")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe([("homeassistant/#", 1), ("heartline-ha/#", 1)])
        self.client.loop_start()

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self.retained[message.topic] = bytes(message.payload)

    def latest(self, topic: str) -> bytes | None:
        with self._lock:
            return self.retained.get(topic)

    def configs(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {
                t: json.loads(p) for t, p in self.retained.items() if t.startswith("homeassistant/") and p
            }

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
async def homes(mosquitto_broker: Broker, tmp_path: Path) -> AsyncIterator[Homes]:
    async with two_homes(mosquitto_broker, tmp_path) as running:
        yield running


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_the_bridge_publishes_discovery_state_triggers_and_removals(
    homes: Homes, ha_broker: int
) -> None:
    watcher = Watcher(ha_broker)
    hub = homes.hub_a
    bridge = HomeAssistantBridge(hub, HomeAssistantSection(broker=f"mqtt://127.0.0.1:{ha_broker}"))
    topics = bridge.topics
    task = asyncio.create_task(bridge.run(), name="ha-bridge")
    try:
        await eventually(lambda: watcher.latest(topics.status) == b"online", what="the bridge online")
        button_id = hub.buttons()[0].id
        trigger = f"homeassistant/device_automation/{topics.hub_id}/button_{button_id}_tap/config"
        await eventually(lambda: trigger in watcher.configs(), what="the button's triggers")
        await eventually(
            lambda: watcher.latest(topics.presence("partner")) is not None, what="presence state"
        )
        configs = watcher.configs()
        assert len(configs) == 4 + len(Gesture)
        for topic, payload in configs.items():
            assert problems(topic, payload) == [], topic
        assert watcher.latest(topics.together) in (b"ON", b"OFF")

        # A touch: the device trigger fires (not retained) and the last-signal sensor follows.
        await homes.button_a.press("double_tap")
        action = topics.action(button_id)
        await eventually(
            lambda: any(t == action and p == b"double_tap" and not r for t, p, r in watcher.messages),
            what="the double tap as a device trigger",
        )
        await eventually(lambda: watcher.latest(topics.last_signal) == b"celebrate", what="the last signal")
        attributes = json.loads(watcher.latest(topics.last_signal_attributes) or b"{}")
        assert attributes["direction"] == "sent"
        assert attributes["sender"] == "Alex"

        # A new button gets triggers; a removed one's configs are cleared (empty, retained).
        added = hub.add_button("C0:FF:EE:00:00:99", "bthome", bytes(16), "Alex")
        new_trigger = f"homeassistant/device_automation/{topics.hub_id}/button_{added.id}_long_press/config"
        await eventually(lambda: new_trigger in watcher.configs(), what="triggers of the added button")
        assert hub.remove_button(added.id)
        await eventually(
            lambda: watcher.latest(new_trigger) == b"", what="the removed button's configs cleared"
        )
        assert all(problems(t, p) == [] for t, p in watcher.configs().items())
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT_S)
    await eventually(lambda: watcher.latest(topics.status) == b"offline", what="offline at shutdown")
    watcher.close()


@pytest.mark.timeout(120)
async def test_stale_triggers_left_by_an_earlier_run_are_cleared(homes: Homes, ha_broker: int) -> None:
    """A button removed while the bridge was away: its retained config is gone after a reconnect."""
    watcher = Watcher(ha_broker)
    stale = f"homeassistant/device_automation/{homes.hub_a.config.relay.hub_id}/button_999_tap/config"
    watcher.client.publish(
        stale, json.dumps({"automation_type": "trigger"}), qos=1, retain=True
    ).wait_for_publish(WAIT_S)
    await eventually(lambda: watcher.latest(stale) not in (None, b""), what="the stale config retained")
    bridge = HomeAssistantBridge(homes.hub_a, HomeAssistantSection(broker=f"mqtt://127.0.0.1:{ha_broker}"))
    task = asyncio.create_task(bridge.run(), name="ha-bridge")
    try:
        await eventually(lambda: watcher.latest(stale) == b"", what="the stale trigger cleared")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT_S)
        watcher.close()
