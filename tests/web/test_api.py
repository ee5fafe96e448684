"""The hub API against two running homes: the routes the design names, with those shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.support.homes import Homes
from tests.support.waiting import eventually, eventually_async


async def test_health_homes_and_openapi(client: httpx.AsyncClient) -> None:
    health = (await client.get("/a/api/health")).json()
    assert health["status"] == "ok"
    assert (health["ble"], health["relay"]) == ("ok", "connected")
    homes = (await client.get("/api/homes")).json()
    assert [(h["id"], h["person"], h["buttons"]) for h in homes] == [
        ("a", "Alex", ["a-button"]),
        ("b", "Sam", ["b-button"]),
    ]
    paths = (await client.get("/openapi.json")).json()["paths"]
    for route in (
        "/a/api/health",
        "/a/api/signals",
        "/a/api/buttons",
        "/a/api/buttons/{button_id}",
        "/a/api/events",
        "/a/api/sim/air/adverts",
        "/a/api/sim/buttons/{button_id}/press",
        "/a/api/sim/buttons/{button_id}",
        "/a/api/sim/wearables/{wearable_id}/place",
        "/api/homes",
    ):
        assert route in paths, route
    metrics = (await client.get("/metrics")).text
    assert 'heartline_adverts_seen_total{home="a"}' in metrics


@pytest.mark.slow  # the walking skeleton is the quick round trip
async def test_a_press_through_the_api_arrives_on_the_other_side(client: httpx.AsyncClient) -> None:
    response = await client.post("/a/api/sim/buttons/a-button/press", json={"gesture": "long_press"})
    assert response.json() == {"accepted": True}

    async def delivered() -> list[dict[str, object]]:
        signals = (await client.get("/b/api/signals")).json()
        return [s for s in signals if s["fate"] == "delivered"]

    received = await eventually_async(delivered, what="the long press to arrive at B")
    assert received[0]["kind"] == "need_you"
    assert received[0]["channel"] == "button"
    output = (await client.get("/b/api/sim/buttons/b-button")).json()
    assert [o["pattern"] for o in output["outputs"]] == ["need_you"]


async def test_registering_listing_and_removing_an_off_the_shelf_button(client: httpx.AsyncClient) -> None:
    body = {"kind": "bthome", "address": "3c:2e:f5:00:00:01", "key": "11" * 16, "owner": "Sam"}
    created = (await client.post("/b/api/buttons", json=body)).json()
    assert created["address"] == "3C:2E:F5:00:00:01"
    assert "key" not in created  # keys never leave the hub through the API
    listed = (await client.get("/b/api/buttons")).json()
    assert created in listed
    assert (await client.delete(f"/b/api/buttons/{created['id']}")).status_code == 204
    assert (await client.delete(f"/b/api/buttons/{created['id']}")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "bthome", "address": "not-an-address", "key": "11" * 16, "owner": "Sam"},
        {"kind": "bthome", "address": "3C:2E:F5:00:00:01", "key": "11", "owner": "Sam"},
        {"kind": "zigbee", "address": "3C:2E:F5:00:00:01", "key": "11" * 16, "owner": "Sam"},
        {"kind": "bthome", "address": "3C:2E:F5:00:00:01", "key": "11" * 16, "owner": ""},
    ],
)
async def test_bad_button_registrations_are_422_and_change_nothing(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    before = (await client.get("/b/api/buttons")).json()
    assert (await client.post("/b/api/buttons", json=body)).status_code == 422
    assert (await client.get("/b/api/buttons")).json() == before


async def test_an_injected_stranger_advert_is_counted_never_delivered(client: httpx.AsyncClient) -> None:
    advert = {"address": "66:55:44:33:22:11", "rssi": -40, "service_data": {"fcd2": "4100013a01"}}
    assert (await client.post("/a/api/sim/air/adverts", json=advert)).json() == {"accepted": True}

    async def counted() -> int:
        return int((await client.get("/a/api/health")).json()["rejected"].get("advert_unknown_device", 0))

    assert await eventually_async(counted, what="the stranger's advert to be counted") >= 1
    assert (await client.get("/b/api/signals")).json() == []


async def test_unknown_simulated_devices_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.post("/a/api/sim/buttons/nope/press", json={"gesture": "tap"})).status_code == 404
    assert (await client.get("/a/api/sim/buttons/nope")).status_code == 404
    assert (await client.post("/a/api/sim/wearables/nope/place", json={"distance_m": 3})).status_code == 404


async def test_presence_and_stats_have_their_documented_shape(client: httpx.AsyncClient) -> None:
    presence = (await client.get("/a/api/presence")).json()
    assert {p["person"] for p in presence["people"]} == {"Alex", "Sam"}
    assert all(isinstance(p["present"], bool) for p in presence["people"])
    stats = (await client.get("/a/api/stats", params={"days": 7})).json()
    assert stats["days"] == 7
    assert len(stats["together_hours_by_day"]) == 7
    assert len(stats["together_hour_of_week"]) == 168
    assert stats["summary"]  # always a warm sentence, even on the first day
    assert (await client.get("/a/api/stats", params={"days": 0})).status_code == 422


@pytest.mark.slow  # presence needs adverts over seconds
async def test_someone_next_to_their_hub_is_seen_as_home(client: httpx.AsyncClient) -> None:
    async def alex_home() -> bool:
        people = (await client.get("/a/api/presence")).json()["people"]
        return any(p["person"] == "Alex" and p["present"] for p in people)

    assert await eventually_async(alex_home, within_s=30, what="Alex, 2 m from the hub, to be home")


async def test_presence_says_what_the_partners_hub_shared(client: httpx.AsyncClient, homes: Homes) -> None:
    # Alex's hub shares Alex's presence (its own sharer may send a newer report meanwhile).
    homes.hub_a.couple.presence.send("Alex", present=True, since=datetime(2025, 2, 14, 8, 0, tzinfo=UTC))
    known = await eventually(homes.hub_b.partner_presence, what="Alex's presence at Sam's hub")
    shared = (await client.get("/b/api/presence")).json()["partner"]
    assert shared["person"] == "Alex"
    assert isinstance(shared["present"], bool)
    assert shared["seq"] >= known.seq  # what the hub knew when asked, or newer
