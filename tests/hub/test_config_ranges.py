"""Ranges a config must keep (ports 1-65535, finite positive times), and a report of every
problem at once rather than the first."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest

from hub.config import parse_config
from hub.config.load import config_report
from hub.errors import ConfigError
from tests.hub.test_config import GOOD


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("ble", "watchdog_silence_s", math.nan),
        ("delivery", "button_confirm_timeout_s", math.nan),
        ("delivery", "button_confirm_timeout_s", math.inf),
        ("delivery", "button_confirm_timeout_s", 1e9),
        ("delivery", "felt_it_window_s", -math.inf),
        ("web", "session_hours", math.nan),
        ("web", "port", 99999),
        ("relay", "broker", "mqtt://127.0.0.1:99999"),
        ("relay", "broker", "mqtt://127.0.0.1:0"),
        ("ble", "transport", "sim:127.0.0.1:70000/hub"),
        ("homeassistant", "broker", "mqtt://ha.local:65536"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_key(section: str, key: str, value: object) -> None:
    raw: dict[str, Any] = copy.deepcopy(GOOD)
    raw.setdefault(section, {})[key] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert caught.value.key == f"{section}.{key}"


def test_the_report_has_every_problem_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(
        '[hub]\nperson = "Alex"\npartner = "Sam"\ndata_dir = "/tmp/x"\ncolour = 1\n'
        '[relay]\nbroker = "mqtt://127.0.0.1:99999"\nhub_id = "h7f3a9c2e1b"\npartner_hub_id = "h2b8d4e6f0a"\n'
        f'couple_id = "c5e1d2a9f0"\ncouple_key = "{GOOD["relay"]["couple_key"]}"\n'
        'password = "x"\nkeepalive_s = "30"\n[delivery]\nbutton_confirm_timeout_s = nan\n[web]\nport = 0\n',
        encoding="utf-8",
    )
    config, problems = config_report(path)
    assert config is None
    assert [p.key for p in problems] == [
        "hub.colour",
        "relay.keepalive_s",
        "delivery.button_confirm_timeout_s",
        "relay.broker",
        "web.port",
    ]
