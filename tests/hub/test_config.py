"""The hub's config: good files load, and every mistake is one line naming the key."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config import (
    GestureMeanings,
    QuietHoursSection,
    Settings,
    SettingsError,
    load_config,
    parse_config,
    validate_settings,
)
from hub.errors import ConfigError
from hub.events import Gesture, SignalKind

GOOD: dict[str, Any] = {
    "hub": {"person": "Alex", "partner": "Sam", "data_dir": "/tmp/heartline-test"},
    "relay": {
        "broker": "mqtt://127.0.0.1:1883",
        "hub_id": "h7f3a9c2e1b",
        "partner_hub_id": "h2b8d4e6f0a",
        "couple_id": "c5e1d2a9f0",
        "couple_key": "23d13173318a01a1d7b5006fc9de34ff161abe43c2bf97339fda1dfcae1fc46d",
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
    assert config.relay.protocol == "auto"
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
        (lambda c: c["buttons"][0].update(owner="Kim"), "buttons[0].owner", "'Kim' is neither"),
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


def test_secrets_are_never_echoed_even_when_of_the_wrong_type() -> None:
    for change, key in (
        (lambda c: c["relay"].update(password=12345678), "relay.password"),
        (lambda c: c["buttons"][0].update(key=12345678), "buttons[0].key"),
        (lambda c: c.update(web={"password_hash": 12345678}), "web.password_hash"),
    ):
        with pytest.raises(ConfigError) as caught:
            parse_config(_with(change))
        assert caught.value.key == key
        assert "12345678" not in str(caught.value)


def test_gesture_meanings_are_a_table_like_any_other() -> None:
    config = parse_config(_with(lambda c: c.update(gesture_meanings={"tap": "need_you"})))
    assert config.gesture_meanings.meanings()[Gesture.TAP] is SignalKind.NEED_YOU
    assert config.gesture_meanings.meanings()[Gesture.LONG_PRESS] is SignalKind.NEED_YOU  # the default
    with pytest.raises(ConfigError, match=r"gesture_meanings\.tap: must be one of"):
        parse_config(_with(lambda c: c.update(gesture_meanings={"tap": "felt_it"})))


# -- the dashboard's settings: the same types and rules, laid over the file ------------------------


def test_settings_start_as_the_files_values() -> None:
    config = parse_config(
        _with(
            lambda c: c.update(quiet_hours={"start": "22:00", "end": "07:00"}, privacy={"retention_days": 9})
        )
    )
    settings = Settings.from_config(config)
    assert settings.quiet_hours == QuietHoursSection("22:00", "07:00", ("need_you",))
    assert settings.retention_days == 9
    assert (settings.timezone, settings.notify) == (config.hub.timezone, config.delivery.notify)
    assert settings.gesture_meanings == config.gesture_meanings


def test_settings_problems_name_the_setting_as_the_dashboard_does() -> None:
    for settings, key in (
        (Settings(timezone="Mars/Olympus"), "timezone"),
        (Settings(notify=("ntfy://ok/topic", "not a url")), "notify[1]"),
        (Settings(notify=("ntfy://ok/topic",) * 11), "notify"),
        (Settings(retention_days=-1), "retention_days"),
        (Settings(quiet_hours=QuietHoursSection("22:00\n", "07:00")), "quiet_hours.start"),
        (Settings(quiet_hours=QuietHoursSection("22:00", "22:00")), "quiet_hours.end"),
        (
            Settings(gesture_meanings=GestureMeanings(double_tap="shared_moment")),
            "gesture_meanings.double_tap",
        ),
    ):
        with pytest.raises(SettingsError) as caught:
            validate_settings(settings)
        assert caught.value.key == key
        assert str(caught.value).startswith(f"{key}: ")
    assert validate_settings(Settings()) == Settings()


def test_settings_json_round_trips_and_a_bad_shape_names_the_setting() -> None:
    settings = Settings(
        timezone="Asia/Tokyo",
        quiet_hours=QuietHoursSection("23:00", "06:00", ("need_you", "celebrate")),
        notify=("ntfy://ntfy.sh/t",),
    )
    assert Settings.from_json(json.loads(json.dumps(settings.to_json()))) == settings
    incomplete = settings.to_json()
    del incomplete["quiet_hours"]["break_through"]
    for raw, key in (
        ({**settings.to_json(), "colour": "red"}, "colour"),
        ({**settings.to_json(), "retention_days": "30"}, "retention_days"),
        (incomplete, "quiet_hours.break_through"),
        ([], "settings"),
    ):
        with pytest.raises(SettingsError) as caught:
            Settings.from_json(raw)
        assert caught.value.key == key


def test_the_hub_refuses_a_couple_key_a_person_typed() -> None:
    # The old example's key: well formed, but not a secret. The loader itself refuses it.
    raw = _with(lambda c: c["relay"].update(couple_key="5a" * 32))
    with pytest.raises(ConfigError, match=r"relay\.couple_key: is not a random key"):
        parse_config(raw)
