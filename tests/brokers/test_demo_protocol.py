"""`heartline demo --broker URL --protocol P`: the demo's hubs speak what --protocol says (auto by
default, so a 3.1.1-only broker with credentials in the URL still works), and the demo's own
embedded amqtt gets MQTT 3.1.1 unless told otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.demo.world import DemoIdentity, demo_hub_config


@pytest.mark.parametrize(
    ("url", "protocol", "expected"),
    [
        ("mqtt://hub:secret@127.0.0.1:1883", "auto", "auto"),  # once: credentials meant MQTT 5
        ("mqtt://hub:secret@127.0.0.1:1883", "mqtt311", "mqtt311"),
        ("mqtt://127.0.0.1:1883", "auto", "mqtt311"),  # the embedded amqtt
        ("mqtt://127.0.0.1:1883", "mqtt5", "mqtt5"),
    ],
)
def test_the_demo_hubs_speak_what_protocol_says(
    url: str, protocol: str, expected: str, tmp_path: Path
) -> None:
    identity = DemoIdentity.load_or_create(tmp_path)
    config = demo_hub_config(
        "a", identity, broker_url=url, air_port=7000, data_dir=tmp_path, notify=[], protocol=protocol
    )
    assert config.relay.protocol == expected


def test_the_demo_offers_protocol() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--protocol {auto,mqtt5,mqtt311}" in result.stdout
