"""Two simulated homes with real hubs, for end-to-end tests: the same wiring the demo uses."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from hub.app.builder import open_hub
from hub.app.hub import Hub
from hub.clock import Clock
from hub.config import HubConfig, parse_config
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import START_S

# From secrets.token_hex(32): the loader refuses a key a person typed, tests included.
COUPLE_KEY: Final = "23d13173318a01a1d7b5006fc9de34ff161abe43c2bf97339fda1dfcae1fc46d"
# Homes 5 km apart: nothing in one home hears the other.
HOME_A: Final = (0.0, 0.0)
HOME_B: Final = (5000.0, 0.0)
# Hubs' radios have addresses like a Pi's (B8:27:EB is the Raspberry Pi Foundation's OUI).
HUB_RADIO_A: Final = "B8:27:EB:00:00:0A"
HUB_RADIO_B: Final = "B8:27:EB:00:00:0B"
BUTTON_A: Final = ("C0:FF:EE:00:00:0A", bytes.fromhex("000102030405060708090a0b0c0d0e0f"))
BUTTON_B: Final = ("C0:FF:EE:00:00:0B", bytes.fromhex("f0e0d0c0b0a090807060504030201000"))


@dataclass
class Homes:
    air: AirServer
    hub_a: Hub
    hub_b: Hub
    button_a: SimButton
    button_b: SimButton


def hub_config(
    *,
    me: str,
    partner: str,
    hub_index: int,
    broker: Broker,
    air_port: int,
    radio: str,
    data_dir: Path,
    button: tuple[str, bytes],
    notify: list[str],
    protocol: str = "mqtt5",
) -> HubConfig:
    hub_id = COUPLE.hubs[hub_index]
    partner_id = COUPLE.hubs[1 - hub_index]
    raw: dict[str, Any] = {
        "hub": {"person": me, "partner": partner, "data_dir": str(data_dir)},
        "ble": {"transport": f"sim:127.0.0.1:{air_port}/{radio}"},
        "relay": {
            "broker": f"mqtt://127.0.0.1:{broker.port}",
            "hub_id": hub_id,
            "partner_hub_id": partner_id,
            "couple_id": COUPLE.couple_id,
            "couple_key": COUPLE_KEY,
            "password": broker.password(hub_id),
            "protocol": protocol,
        },
        "delivery": {"notify": notify, "button_confirm_timeout_s": 5.0},
        "buttons": [{"address": button[0], "key": button[1].hex(), "owner": me}],
    }
    return parse_config(raw, "test")


@contextlib.asynccontextmanager
async def two_homes(
    broker: Broker,
    tmp_path: Path,
    *,
    notify_b: list[str] | None = None,
    protocol: str = "mqtt5",
    windows_clock: Clock | None = None,
) -> AsyncIterator[Homes]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    async with (
        air,
        homes_on(
            air, broker, tmp_path, notify_b=notify_b, protocol=protocol, windows_clock=windows_clock
        ) as homes,
    ):
        yield homes


@contextlib.asynccontextmanager
async def homes_on(
    air: AirServer,
    broker: Broker,
    tmp_path: Path,
    *,
    radio_a: str = HUB_RADIO_A,
    transport_a: str | None = None,
    notify_b: list[str] | None = None,
    protocol: str = "mqtt5",
    windows_clock: Clock | None = None,
) -> AsyncIterator[Homes]:
    """Both homes on a running air, their hubs built by ``open_hub`` and connected to the broker.
    ``transport_a`` replaces home A's ``ble.transport`` (``bluez:hci0`` for the BlueZ path)."""
    air.place(radio_a, *HOME_A)
    air.place(HUB_RADIO_B, *HOME_B)
    config_a = hub_config(
        me="Alex",
        partner="Sam",
        hub_index=0,
        broker=broker,
        air_port=air.port,
        radio=radio_a,
        data_dir=tmp_path / "a",
        button=BUTTON_A,
        notify=[],
        protocol=protocol,
    )
    if transport_a is not None:
        config_a = dataclasses.replace(config_a, ble=dataclasses.replace(config_a.ble, transport=transport_a))
    config_b = hub_config(
        me="Sam",
        partner="Alex",
        hub_index=1,
        broker=broker,
        air_port=air.port,
        radio=HUB_RADIO_B,
        data_dir=tmp_path / "b",
        button=BUTTON_B,
        notify=notify_b or [],
        protocol=protocol,
    )
    button_a, button_b = (
        SimButton(
            air=air.address,
            address=address,
            key=key,
            x=home[0] + 2,
            y=home[1],
            state_dir=tmp_path / f"button-{name}",
        )
        for name, (address, key), home in (("a", BUTTON_A, HOME_A), ("b", BUTTON_B, HOME_B))
    )
    async with (
        button_a,
        button_b,
        open_hub(config_a, windows_clock=windows_clock) as hub_a,
        open_hub(config_b, windows_clock=windows_clock) as hub_b,
    ):
        await relay_connected(hub_a, hub_b)
        yield Homes(air, hub_a, hub_b, button_a, button_b)


async def relay_connected(*hubs: Hub, within_s: float = START_S) -> None:
    """Wait until every hub's MQTT session is up."""
    async with asyncio.timeout(within_s):
        for hub in hubs:
            await hub.couple.link.connected.wait()
