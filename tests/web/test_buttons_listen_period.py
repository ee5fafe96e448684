"""/api/buttons says how long a command may wait for a sleepy wearable (its listen period, as the
hub learned it from the listen advert), null for an always-listening button; /metrics counts the
listen adverts under their own kind."""

from __future__ import annotations

from pathlib import Path

import httpx

from firmware_sim.button import SimButton
from tests.support.homes import HOME_A, Homes
from tests.support.waiting import eventually_async
from tests.web.test_metrics import parse, value

WEARABLE = "54:48:E6:8F:80:C7"
WEARABLE_KEY = bytes.fromhex("8c1f2e3d4a5b6c7d8e9fa0b1c2d3e4f5")
PERIOD_S = 60


async def test_a_sleepy_wearable_shows_its_listen_period(
    homes: Homes, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    homes.hub_a.add_button(WEARABLE, "heartline", WEARABLE_KEY, "Sam")
    async with SimButton(
        air=homes.air.address,
        address=WEARABLE,
        key=WEARABLE_KEY,
        state_dir=tmp_path / "wearable",
        x=HOME_A[0] + 2.0,
        y=HOME_A[1],
        power_mode="wearable",
        listen_period_s=PERIOD_S,
    ):

        async def periods() -> dict[str, int | None]:
            listed = (await client.get("/a/api/buttons")).json()
            return {b["address"]: b["listen_period_s"] for b in listed}

        latest: dict[str, int | None] = {}

        async def learned() -> bool:
            latest.update(await periods())
            return latest.get(WEARABLE) == PERIOD_S

        await eventually_async(learned, what="the wearable's listen period on /api/buttons")
        always = [p for address, p in latest.items() if address != WEARABLE]
        assert always
        assert all(p is None for p in always)  # the home's puck listens always
        text = (await client.get("/a/metrics")).text
        assert value(parse(text), "heartline_adverts_accepted_total", home="home", kind="listen") >= 1
