"""The simulated radio's world in process: a place per hub name, buttons near a hub, visits,
what survives a restart, and the control routes' answers to mistakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from firmware_sim.bleak_backend import AirLink
from hub.sim_radio.serve import control_app
from hub.sim_radio.world import HOME_SPACING_M, SimWorld, WorldError
from tests.support.waiting import eventually


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[SimWorld]:
    world = SimWorld(tmp_path / "world")
    await world.start()
    try:
        yield world
    finally:
        await world.stop()


@pytest.fixture
async def control(world: SimWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=control_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def test_each_hub_gets_its_own_place_on_first_mention(world: SimWorld) -> None:
    assert world.place_of("alex-hub") == (0.0, 0.0)
    assert world.place_of("ALEX-HUB") == (0.0, 0.0)  # the air's names are upper case
    async with AirLink("127.0.0.1", world.port, "sam-hub"):  # a hub joining the air
        hubs = await eventually(lambda: [h for h in world.hubs() if h["name"] == "SAM-HUB"], what="the join")
        assert hubs[0]["on_air"]
        assert (hubs[0]["x_m"], hubs[0]["y_m"]) == (HOME_SPACING_M, 0.0)
        assert world.air.position("SAM-HUB") == (HOME_SPACING_M, 0.0)
    assert world.place_of("sam-hub") == (HOME_SPACING_M, 0.0)  # it keeps it after leaving


async def test_a_button_is_made_near_its_hub_and_visits_another(world: SimWorld) -> None:
    made = await world.add_button("alex-hub", 2.0)
    assert made == {"id": "b1", "address": "C2:5A:00:00:00:01"}
    state = world.button_output("b1")
    assert (state["near"], state["distance_m"], state["pairing"], state["paired"]) == (
        "ALEX-HUB",
        2.0,
        "open",
        False,
    )
    await world.place("b1", 3.0, "sam-hub")  # a visit: now 3 m from Sam's hub, 10 km from home
    assert world.button_output("b1")["near"] == "SAM-HUB"
    assert world.button_output("b1")["distance_m"] == pytest.approx(3.0)
    await world.place("b1", 1.0, None)  # relative to the hub it is near now
    assert world.button_output("b1")["distance_m"] == pytest.approx(1.0)
    with pytest.raises(WorldError, match="not a hub radio name"):
        await world.add_button("no spaces please", 2.0)
    with pytest.raises(KeyError):
        world.button_output("b9")


async def test_buttons_and_places_survive_a_restart(tmp_path: Path) -> None:
    first = SimWorld(tmp_path / "w")
    await first.start()
    try:
        await first.add_button("alex-hub", 2.0)
        await first.add_button("sam-hub", 4.0)
    finally:
        await first.stop()
    again = SimWorld(tmp_path / "w")
    await again.start()
    try:
        listed = [(b["id"], b["address"], b["near"], round(b["distance_m"], 6)) for b in again.list_buttons()]
        assert listed == [
            ("b1", "C2:5A:00:00:00:01", "ALEX-HUB", 2.0),
            ("b2", "C2:5A:00:00:00:02", "SAM-HUB", 4.0),
        ]
        assert (await again.add_button("alex-hub", 2.0))["id"] == "b3"
    finally:
        await again.stop()


async def test_routes_make_list_and_place_buttons(control: httpx.AsyncClient) -> None:
    made = await control.post("/api/sim/buttons", json={"near": "alex-hub", "distance_m": 2})
    assert made.status_code == 201
    assert made.json() == {"id": "b1", "address": "C2:5A:00:00:00:01"}
    # A name nobody joined with yet gets its own home at once; the hub may join later.
    assert (await control.post("/api/sim/buttons", json={"near": "sam-hub"})).status_code == 201
    hubs = {h["name"]: h for h in (await control.get("/api/sim/hubs")).json()}
    assert hubs["SAM-HUB"] == {
        "name": "SAM-HUB",
        "x_m": HOME_SPACING_M,
        "y_m": 0.0,
        "on_air": False,
        "buttons": ["b2"],
    }
    moved = await control.post("/api/sim/wearables/b1/place", json={"distance_m": 5, "near": "sam-hub"})
    assert moved.status_code == 200
    state = (await control.get("/api/sim/buttons/b1")).json()
    assert state["near"] == "SAM-HUB"
    assert state["distance_m"] == pytest.approx(5.0)
    assert (await control.post("/api/sim/buttons/b1/battery", json={"millivolts": 3600})).status_code == 200
    assert (await control.get("/api/sim/buttons/b1")).json()["battery_mv"] == 3600
    assert [b["id"] for b in (await control.get("/api/sim/buttons")).json()] == ["b1", "b2"]
    advert = {"address": "3C:2E:F5:11:22:33", "rssi": -60, "service_data": {"fcd2": "40"}}
    assert (await control.post("/api/sim/air/adverts", json=advert)).json() == {
        "accepted": False
    }  # no hub on air


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/sim/buttons/b9/press", {"gesture": "tap"}),
        ("GET", "/api/sim/buttons/b9", None),
        ("POST", "/api/sim/wearables/b9/place", {"distance_m": 1}),
        ("POST", "/api/sim/buttons/b9/place", {"distance_m": 1}),
        ("POST", "/api/sim/buttons/b9/battery", {"millivolts": 3700}),
    ],
)
async def test_an_unknown_device_is_404(
    control: httpx.AsyncClient, method: str, path: str, body: dict[str, object] | None
) -> None:
    answer = await control.request(method, path, json=body)
    assert answer.status_code == 404
    assert "b9" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/sim/buttons", {"distance_m": 2}),  # near whom?
        ("/api/sim/buttons", {"near": "a hub with spaces"}),
        ("/api/sim/buttons", {"near": "alex-hub", "distance_m": -1}),
        ("/api/sim/buttons", {"near": "alex-hub", "distance_m": True}),
        ("/api/sim/buttons", {"near": "alex-hub", "distnce_m": 2}),
        ("/api/sim/buttons/b1/press", {"gesture": "poke"}),
        ("/api/sim/buttons/b1/place", {"distance_m": "far"}),
        ("/api/sim/buttons/b1/battery", {"millivolts": 9000}),
    ],
)
async def test_a_bad_body_is_422(control: httpx.AsyncClient, path: str, body: dict[str, object]) -> None:
    assert (await control.post("/api/sim/buttons", json={"near": "alex-hub"})).status_code == 201
    answer = await control.post(path, json=body)
    assert answer.status_code == 422, answer.text


async def test_waiting_for_a_pattern_says_what_the_button_did_play(control: httpx.AsyncClient) -> None:
    made = (await control.post("/api/sim/buttons", json={"near": "alex-hub", "distance_m": 2})).json()
    answer = await control.post(
        f"/api/sim/buttons/{made['id']}/wait", json={"pattern": "thinking_of_you", "within_s": 0.2}
    )
    assert answer.status_code == 504
    assert answer.json()["detail"].endswith(
        "did not play 'thinking_of_you' within 0.2 s (it played: nothing)"
    )
    missing = await control.post("/api/sim/buttons/b9/wait", json={"pattern": "felt_it"})
    assert missing.status_code == 404
    too_long = await control.post(
        f"/api/sim/buttons/{made['id']}/wait", json={"pattern": "x", "within_s": 999}
    )
    assert too_long.status_code == 422
