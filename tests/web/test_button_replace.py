"""Re-registering a known button address needs an explicit replace: a second POST with the same
address is a 409 that says how, changes nothing, and ``"replace": true`` re-keys it."""

from __future__ import annotations

import httpx


async def test_a_known_address_is_replaced_only_when_asked(client: httpx.AsyncClient) -> None:
    body = {"kind": "bthome", "address": "3C:2E:F5:00:00:09", "key": "11" * 16, "owner": "Sam"}
    created = (await client.post("/b/api/buttons", json=body)).json()
    again = await client.post("/b/api/buttons", json=body | {"address": "3c:2e:f5:00:00:09", "owner": "Eve"})
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert "already registered" in detail
    assert "replace: true" in detail
    assert "--replace" in detail
    assert (await client.get("/b/api/buttons")).json().count(created) == 1  # owner and key kept
    replaced = await client.post(
        "/b/api/buttons", json=body | {"key": "22" * 16, "owner": "Alex", "replace": True}
    )
    assert replaced.status_code == 201
    assert (replaced.json()["id"], replaced.json()["owner"]) == (created["id"], "Alex")
