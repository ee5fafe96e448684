"""The demo's visit: Sam's button carried to Alex's home (``"at": "a"``) is Sam there, to Alex's
hub, and a touch on it buzzes Alex's button in the same room (sent by Sam's hub, as Sam's)."""

from __future__ import annotations

import httpx
import pytest

from hub.events import Direction, SignalKind
from tests.support.homes import Homes
from tests.support.waiting import eventually, eventually_async


@pytest.mark.slow  # a wearable walked to the other home and back, in real time
async def test_a_visit_in_the_demo(client: httpx.AsyncClient, homes: Homes) -> None:
    async def shared() -> bool:
        buttons = (await client.get("/a/api/buttons")).json()
        return any(b["owner"] == "Sam" for b in buttons)

    await eventually_async(shared, what="Sam's hub to share Sam's button with Alex's hub")
    placed = await client.post("/b/api/sim/wearables/b-button/place", json={"distance_m": 3, "at": "a"})
    assert placed.json() == {"accepted": True}

    async def sam_at_alex() -> bool:
        people = (await client.get("/a/api/presence")).json()["people"]
        return any(p["person"] == "Sam" and p["present"] for p in people)

    await eventually_async(sam_at_alex, what="Alex's hub to see Sam visiting")
    before = len(homes.button_a.outputs)
    assert (
        await client.post("/b/api/sim/buttons/b-button/press", json={"gesture": "tap"})
    ).status_code == 200
    await eventually(lambda: len(homes.button_a.outputs) > before, what="Alex's button to buzz")
    sent = [s for s in homes.hub_b.recent_signals() if s.direction is Direction.SENT]
    assert [s.kind for s in sent] == [SignalKind.THINKING_OF_YOU]  # logged as Sam's, like any other

    home = await client.post("/b/api/sim/wearables/b-button/place", json={"distance_m": 2})
    assert home.json() == {"accepted": True}


async def test_a_visit_to_no_such_home_is_refused(client: httpx.AsyncClient) -> None:
    refused = await client.post("/b/api/sim/wearables/b-button/place", json={"distance_m": 3, "at": "zz"})
    assert refused.status_code == 422
    assert "no home 'zz'" in refused.json()["detail"]
