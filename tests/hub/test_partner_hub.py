"""Each hub follows its partner hub's retained status: online while it runs, offline once it
stopped, on /api/health and on the live update stream. Two real hubs on a real mosquitto."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import httpx

from firmware_sim.air.server import AirServer
from hub.app.builder import open_hub
from hub.bus import PartnerHubUpdate, Update
from hub.web.api import hub_app
from tests.support.homes import BUTTON_A, BUTTON_B, HOME_A, HOME_B, HUB_RADIO_A, HUB_RADIO_B, hub_config
from tests.support.mosquitto import Broker
from tests.support.waiting import START_S, WAIT_S


async def _next_partner_update(queue: asyncio.Queue[Update]) -> PartnerHubUpdate:
    async with asyncio.timeout(WAIT_S):
        while True:
            update = await queue.get()
            if isinstance(update, PartnerHubUpdate):
                return update


async def test_the_partner_hub_goes_online_then_offline_when_it_stops(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    air = AirServer()
    air.place(HUB_RADIO_A, *HOME_A)
    air.place(HUB_RADIO_B, *HOME_B)
    async with air:
        config_a = hub_config(
            me="Alex", partner="Sam", hub_index=0, air_port=air.port, radio=HUB_RADIO_A,
            data_dir=tmp_path / "a", button=BUTTON_A,
            broker=mosquitto_broker, notify=[],
        )  # fmt: skip
        config_b = hub_config(
            me="Sam", partner="Alex", hub_index=1, air_port=air.port, radio=HUB_RADIO_B,
            data_dir=tmp_path / "b", button=BUTTON_B,
            broker=mosquitto_broker, notify=[],
        )  # fmt: skip
        async with open_hub(config_a) as hub_a, hub_a.updates() as updates:
            api = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=hub_app(hub_a)), base_url="http://127.0.0.1"
            )
            async with api:
                async with asyncio.timeout(START_S):
                    await hub_a.couple.link.connected.wait()
                assert hub_a.partner_hub().online is not True  # B has not run yet

                async with open_hub(config_b):
                    online = await _next_partner_update(updates)
                    assert online.partner.online is True
                    assert online.to_json()["type"] == "partner_hub"
                    partner = (await api.get("/api/health")).json()["partner"]
                    assert partner["online"] is True
                    came_online = datetime.fromisoformat(partner["last_seen"])
                    assert 'heartline_partner_hub_online{home="home"} 1' in (await api.get("/metrics")).text

                offline = await _next_partner_update(updates)  # B said goodbye: retained "offline"
                assert offline.partner.online is False
                partner = (await api.get("/api/health")).json()["partner"]
                assert partner["online"] is False
                assert datetime.fromisoformat(partner["last_seen"]) >= came_online
                assert hub_a.health().partner == hub_a.partner_hub()
