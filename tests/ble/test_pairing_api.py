"""``POST /api/buttons/pair``: the body it takes, the button it returns, how failures map."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.ble.pairing import PairingError
from hub.store.buttons import ButtonRecord
from hub.web.pairing_api import pairing_router

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
RECORD = ButtonRecord(
    id=7,
    address="C0:FF:EE:00:00:01",
    kind="heartline",
    key=KEY,
    owner="Alex",
    command_counter=1,
    advert_counter=-1,
    battery=None,
    rssi=None,
    last_seen=None,
)


class FakePairer:
    def __init__(self, error: PairingError | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, float]] = []

    async def pair(self, owner: str, timeout_s: float, *, replace: bool = False) -> ButtonRecord:
        del replace
        self.calls.append((owner, timeout_s))
        if self.error is not None:
            raise self.error
        return RECORD


async def client_for(host: FakePairer) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(pairing_router(host))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        yield client


@pytest.fixture
def pairer() -> FakePairer:
    return FakePairer()


@pytest.fixture
async def client(pairer: FakePairer) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(pairer):
        yield c


async def test_pairing_returns_the_button_but_never_its_key(
    client: httpx.AsyncClient, pairer: FakePairer
) -> None:
    response = await client.post("/api/buttons/pair", json={"owner": "Alex", "timeout_s": 30})
    assert response.status_code == 201
    assert response.json() == {
        "id": 7,
        "address": "C0:FF:EE:00:00:01",
        "kind": "heartline",
        "owner": "Alex",
        "battery": None,
        "rssi": None,
        "last_seen": None,
        "alert": None,
        "alert_text": None,
        "listen_period_s": None,
    }
    assert KEY.hex() not in response.text
    assert pairer.calls == [("Alex", 30.0)]


async def test_timeout_defaults_to_a_minute(client: httpx.AsyncClient, pairer: FakePairer) -> None:
    assert (await client.post("/api/buttons/pair", json={"owner": "Sam"})).status_code == 201
    assert pairer.calls == [("Sam", 60.0)]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"owner": ""},
        {"owner": "Alex", "timeout_s": True},
        {"owner": "Alex", "timeout_s": 0},
        {"owner": "Alex", "timeout_s": 181},
        {"owner": "Alex", "key": "00" * 16},
        {"owner": 5},
    ],
)
async def test_bad_bodies_are_refused(
    client: httpx.AsyncClient, pairer: FakePairer, body: dict[str, Any]
) -> None:
    assert (await client.post("/api/buttons/pair", json=body)).status_code == 422
    assert pairer.calls == []


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("no_button", 504),
        ("timeout", 504),
        ("several_buttons", 409),
        ("busy", 409),
        ("refused", 409),
        ("connect_failed", 502),
        ("exchange_failed", 502),
        ("unconfirmed", 502),
    ],
)
async def test_failures_say_what_to_do(reason: str, status: int) -> None:
    advice = f"{reason}: hold its pad for 10 s, then pair again"
    async for client in client_for(FakePairer(PairingError(reason, advice))):
        response = await client.post("/api/buttons/pair", json={"owner": "Alex", "timeout_s": 1})
        assert response.status_code == status
        assert response.json() == {"detail": advice}


async def test_the_route_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/buttons/pair"]["post"]
    assert {"201", "409", "502", "504"} <= set(operation["responses"])
