"""The demo's cast: Alex and Sam, a hub and a button each, in two homes 5 km apart."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from hub.config import HubConfig, parse_config

# Homes far apart: nothing in one home hears the other, as in life.
HOME_POSITIONS: Final = {"a": (0.0, 0.0), "b": (5000.0, 0.0)}
# Each button starts on the table, two metres from its hub.
BUTTON_DISTANCE_M: Final = 2.0
HUB_RADIOS: Final = {"a": "B8:27:EB:00:00:0A", "b": "B8:27:EB:00:00:0B"}
BUTTON_ADDRESSES: Final = {"a": "C0:FF:EE:00:00:0A", "b": "C0:FF:EE:00:00:0B"}
PEOPLE: Final = {"a": "Alex", "b": "Sam"}
IDENTITY_FILE: Final = "demo.json"


@dataclass(frozen=True, slots=True)
class DemoIdentity:
    """Ids and keys of the demo couple; kept in the data dir so a restart keeps the history."""

    couple_id: str
    couple_key: str
    hub_ids: dict[str, str]
    button_keys: dict[str, str]

    @classmethod
    def load_or_create(cls, data_dir: Path) -> DemoIdentity:
        path = data_dir / IDENTITY_FILE
        if path.exists():
            raw: dict[str, Any] = json.loads(path.read_text())
            return cls(raw["couple_id"], raw["couple_key"], raw["hub_ids"], raw["button_keys"])
        identity = cls(
            couple_id="c" + secrets.token_hex(5),
            couple_key=secrets.token_hex(32),
            hub_ids={home: "h" + secrets.token_hex(5) for home in PEOPLE},
            button_keys={home: secrets.token_hex(16) for home in PEOPLE},
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "couple_id": identity.couple_id,
                    "couple_key": identity.couple_key,
                    "hub_ids": identity.hub_ids,
                    "button_keys": identity.button_keys,
                },
                handle,
            )
        return identity


def demo_hub_config(
    home: str,
    identity: DemoIdentity,
    *,
    broker_url: str,
    air_port: int,
    data_dir: Path,
    notify: list[str],
    protocol: str = "auto",
) -> HubConfig:
    partner_home = "b" if home == "a" else "a"
    url = urlsplit(broker_url)
    embedded = url.username is None
    relay: dict[str, Any] = {
        "broker": f"{url.scheme}://{url.hostname}:{url.port or 1883}",
        "hub_id": identity.hub_ids[home],
        "partner_hub_id": identity.hub_ids[partner_home],
        "couple_id": identity.couple_id,
        "couple_key": identity.couple_key,
        "username": url.username or identity.hub_ids[home],
        "password": url.password or "demo",
        # The embedded broker (amqtt) speaks MQTT 3.1.1 only; any other gets what --protocol
        # says (auto: MQTT 5, falling back to 3.1.1 when the broker refuses it).
        "protocol": "mqtt311" if embedded and protocol == "auto" else protocol,
    }
    raw: dict[str, Any] = {
        "hub": {
            "name": f"{PEOPLE[home]}'s home",
            "person": PEOPLE[home],
            "partner": PEOPLE[partner_home],
            "data_dir": str(data_dir / home),
        },
        "ble": {"transport": f"sim:127.0.0.1:{air_port}/{HUB_RADIOS[home]}"},
        "relay": relay,
        "delivery": {"notify": notify, "button_confirm_timeout_s": 5.0},
        "buttons": [
            {
                "address": BUTTON_ADDRESSES[home],
                "key": identity.button_keys[home],
                "owner": PEOPLE[home],
            },
        ],
    }
    return parse_config(raw, "demo")
