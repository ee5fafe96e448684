"""``PUT /api/buttons/{id}/listen_period`` on real hubs and the simulated air: a sleepy wearable
takes its new period in its next window and /api/buttons says it; a puck has none to set (409);
a wearable that does not listen in time is a 504 saying so; bad bodies are 422, unknown ids 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from firmware_sim.button import SimButton
from tests.support.homes import BUTTON_A, HOME_A, Homes
from tests.support.waiting import eventually_async

WEARABLE = "54:48:E6:8F:80:C7"
WEARABLE_KEY = bytes.fromhex("8c1f2e3d4a5b6c7d8e9fa0b1c2d3e4f5")
PERIOD_S = 10  # the shortest: a window comes soon in real time


async def _buttons(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    return {b["address"]: b for b in (await client.get("/a/api/buttons")).json()}


@asynccontextmanager
async def wearable(
    homes: Homes, client: httpx.AsyncClient, tmp_path: Path
) -> AsyncIterator[tuple[SimButton, int]]:
    record = homes.hub_a.add_button(WEARABLE, "heartline", WEARABLE_KEY, "Sam")
    async with SimButton(
        air=homes.air.address,
        address=WEARABLE,
        key=WEARABLE_KEY,
        state_dir=tmp_path / "wearable",
        x=HOME_A[0] + 2.0,
        y=HOME_A[1],
        power_mode="wearable",
        listen_period_s=PERIOD_S,
    ) as button:

        async def learned() -> bool:
            return (await _buttons(client))[WEARABLE]["listen_period_s"] == PERIOD_S

        await eventually_async(learned, what="the wearable's listen period on /api/buttons")
        yield button, record.id


async def test_bad_requests_and_a_puck_are_refused_at_once(homes: Homes, client: httpx.AsyncClient) -> None:
    puck = (await _buttons(client))[BUTTON_A[0]]
    assert puck["listen_period_s"] is None
    url = f"/a/api/buttons/{puck['id']}/listen_period"
    answer = await client.put(url, json={"period_s": 60})
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("this button always listens")
    for body in (
        {"period_s": 5},
        {"period_s": 3601},
        {"period_s": "60"},
        {"period_s": True},
        {"period_s": 60.5},
    ):
        assert (await client.put(url, json=body)).status_code == 422, body
    assert (await client.put(url, json={"period_s": 60.0})).status_code == 409  # 60.0 is JSON's 60
    assert (await client.put(url, json={"period_s": 60, "every": 1})).status_code == 422
    assert (await client.put(url, json={})).status_code == 422
    missing = await client.put("/a/api/buttons/999/listen_period", json={"period_s": 60})
    assert missing.status_code == 404
    assert "heartline button list" in missing.json()["detail"]


@pytest.mark.slow
async def test_a_wearable_takes_its_new_period_in_its_next_window(
    homes: Homes, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with wearable(homes, client, tmp_path) as (button, button_id):
        answer = await client.put(f"/a/api/buttons/{button_id}/listen_period", json={"period_s": 30})
        assert answer.status_code == 200, answer.text
        assert answer.json()["listen_period_s"] == 30
        assert answer.json()["address"] == WEARABLE
        assert (await _buttons(client))[WEARABLE]["listen_period_s"] == 30
        await button.wait_for_deep_sleep()
        assert (tmp_path / "wearable" / "power").read_bytes() == b"wearable 30"


@pytest.mark.slow
async def test_a_wearable_out_of_reach_is_a_504_saying_so(
    homes: Homes, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async with wearable(homes, client, tmp_path) as (button, button_id):
        await button.move(20_000.0, 0.0)  # out of every hub's reach
        answer = await client.put(f"/a/api/buttons/{button_id}/listen_period", json={"period_s": 30})
        assert answer.status_code == 504
        detail = answer.json()["detail"]
        assert detail.startswith("the button did not listen within ")
        assert detail.endswith("try again when it is near its hub")
        assert (await _buttons(client))[WEARABLE]["listen_period_s"] == PERIOD_S
