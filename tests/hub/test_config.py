"""The hub's config: good files load, and every mistake is one line naming the key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config import load_config, parse_config
from hub.errors import ConfigError

GOOD: dict[str, Any] = {
    "hub": {"person": "Alex", "partner": "Sam", "data_dir": "/tmp/heartline-test"},
    "relay": {
        "broker": "mqtt://127.0.0.1:1883",
        "hub_id": "h7f3a9c2e1b",
        "partner_hub_id": "h2b8d4e6f0a",
        "couple_id": "c5e1d2a9f0",
        "couple_key": "ab" * 32,
        "password": "secret",
    },
    "buttons": [{"address": "C0:FF:EE:00:00:0A", "key": "00" * 16, "owner": "Alex"}],
}


def _with(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    raw = copy.deepcopy(GOOD)
    change(raw)
    return raw


def test_a_minimal_config_loads_with_documented_defaults() -> None:
    config = parse_config(copy.deepcopy(GOOD))
    assert config.ble.transport == "bluez:hci0"
    assert config.relay.protocol == "mqtt5"
    assert config.mqtt_username == "h7f3a9c2e1b"
    assert config.web.listen == "127.0.0.1"
    assert config.buttons[0].kind == "heartline"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda c: c["relay"].update(brokr="x"), "relay.brokr", "did you mean 'broker'"),
        (lambda c: c["relay"].pop("password"), "relay.password", "is required"),
        (lambda c: c["relay"].update(broker="mqtt://relay.example.org"), "relay.broker", "mqtts://"),
        (lambda c: c["relay"].update(broker="http://x"), "relay.broker", "must look like"),
        (lambda c: c["relay"].update(hub_id="Alex's hub"), "relay.hub_id", "never a name"),
        (lambda c: c["relay"].update(partner_hub_id="h7f3a9c2e1b"), "relay.partner_hub_id", "differ"),
        (lambda c: c["relay"].update(couple_key="abc"), "relay.couple_key", "64 hex"),
        (lambda c: c["relay"].update(protocol="mqtt4"), "relay.protocol", "one of"),
        (lambda c: c["relay"].update(keepalive_s=True), "relay.keepalive_s", "whole number"),
        (lambda c: c["relay"].update(keepalive_s=1), "relay.keepalive_s", "between 5 and 600"),
        (lambda c: c["hub"].update(timezone="Mars/Olympus"), "hub.timezone", "IANA"),
        (lambda c: c.update(web={"port": 70000}), "web.port", "between 1 and 65535"),
        (lambda c: c.update(ble={"transport": "usb:0"}), "ble.transport", "bluez:"),
        (lambda c: c.update(delivery={"notify": ["ntfy.sh/x"]}), "delivery.notify[0]", "apprise URL"),
        (lambda c: c["buttons"][0].update(key="zz"), "buttons[0].key", "32 hex"),
        (lambda c: c["buttons"][0].update(address="C0FFEE"), "buttons[0].address", "AA:BB"),
        (lambda c: c["buttons"].append(dict(c["buttons"][0])), "buttons[1].address", "listed twice"),
        (lambda c: c.update(hub=[]), "hub", "must be a table"),
    ],
)
def test_each_mistake_names_its_key_in_one_line(
    change: Callable[[dict[str, Any]], object], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_with(change), "hub.toml")
    message = str(caught.value)
    assert caught.value.key == key
    assert message.startswith(f"hub.toml: {key}: ")
    assert words in message
    assert "\n" not in message


def test_a_missing_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[hub\nperson = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_config_errors_are_value_errors_too() -> None:
    assert issubclass(ConfigError, ValueError)
