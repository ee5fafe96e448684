"""``POST /api/buttons/{id}/key`` on a real hub: the bindkey for the owner's Home Assistant, and
for nobody else. On loopback a cross-site request is refused; anywhere else it takes a login and
the session's CSRF token. The key is never cached nor logged."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from hub.config import WebSection
from hub.web.api import hub_app
from hub.web.auth import CSRF_COOKIE, hash_password
from tests.support.homes import BUTTON_A, Homes

PASSWORD = "correct horse battery"
HASH = hash_password(PASSWORD, log2_n=10, p=1)  # a cheap cost: the production one is in test_auth
KEY_HEX = BUTTON_A[1].hex()


def button_id(homes: Homes) -> int:
    (button,) = [b for b in homes.hub_a.buttons() if b.address == BUTTON_A[0]]
    return button.id


@pytest.fixture
async def loopback(homes: Homes) -> AsyncIterator[httpx.AsyncClient]:
    app = hub_app(homes.hub_a)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as http:
        yield http


@pytest.fixture
async def remote(homes: Homes) -> AsyncIterator[httpx.AsyncClient]:
    app = hub_app(homes.hub_a, auth=WebSection(listen="0.0.0.0", password_hash=HASH))
    transport = httpx.ASGITransport(app=app, client=("192.168.1.20", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.lan:8080") as http:
        yield http


async def login(http: httpx.AsyncClient) -> str:
    """Log in as the dashboard does; the session's CSRF token."""
    form = await http.get("/login", headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = await http.post("/login", data={"csrf_token": token[1], "password": PASSWORD, "next": "/"})
    assert answer.status_code == 303
    return http.cookies[CSRF_COOKIE]


async def test_loopback_gives_the_key_to_a_local_client(
    homes: Homes, loopback: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ident = button_id(homes)
    answer = await loopback.post(f"/api/buttons/{ident}/key")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": ident, "bindkey": KEY_HEX}
    assert answer.headers["cache-control"] == "no-store"
    assert KEY_HEX not in caplog.text
    assert f"bindkey of button {ident} was shown" in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"sec-fetch-site": "cross-site"},
        {"referer": "https://evil.example/page"},
        {"origin": "null"},
    ],
)
async def test_loopback_refuses_a_cross_site_request(
    homes: Homes, loopback: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await loopback.post(f"/api/buttons/{button_id(homes)}/key", headers=headers)
    assert answer.status_code == 403
    assert answer.json() == {"detail": "cross-site request refused"}
    assert KEY_HEX not in answer.text


async def test_loopback_refuses_a_rebound_host_name(homes: Homes, loopback: httpx.AsyncClient) -> None:
    # DNS rebinding: evil.example resolving to 127.0.0.1 reaches the hub with its own Host.
    answer = await loopback.post(f"/api/buttons/{button_id(homes)}/key", headers={"host": "evil.example"})
    assert answer.status_code == 403
    assert KEY_HEX not in answer.text


async def test_a_get_reads_no_key(homes: Homes, loopback: httpx.AsyncClient) -> None:
    answer = await loopback.get(f"/api/buttons/{button_id(homes)}/key")
    assert answer.status_code == 405
    assert KEY_HEX not in answer.text


async def test_an_unknown_button_is_a_404_that_says_what_to_do(loopback: httpx.AsyncClient) -> None:
    answer = await loopback.post("/api/buttons/999/key")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no button with id 999; see `heartline button list`"}
    assert (await loopback.post("/api/buttons/0/key")).status_code == 422


async def test_off_loopback_it_takes_a_login(homes: Homes, remote: httpx.AsyncClient) -> None:
    answer = await remote.post(f"/api/buttons/{button_id(homes)}/key")
    assert answer.status_code == 401
    assert answer.json() == {"detail": "login required"}
    assert KEY_HEX not in answer.text


async def test_off_loopback_a_session_also_needs_its_csrf_token(
    homes: Homes, remote: httpx.AsyncClient
) -> None:
    ident = button_id(homes)
    csrf = await login(remote)
    without = await remote.post(f"/api/buttons/{ident}/key")
    assert without.status_code == 403
    assert KEY_HEX not in without.text
    wrong = await remote.post(f"/api/buttons/{ident}/key", headers={"x-csrf-token": "guess"})
    assert wrong.status_code == 403
    cross = await remote.post(
        f"/api/buttons/{ident}/key", headers={"x-csrf-token": csrf, "origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert KEY_HEX not in cross.text

    shown = await remote.post(f"/api/buttons/{ident}/key", headers={"x-csrf-token": csrf})
    assert shown.status_code == 200, shown.text
    assert shown.json()["bindkey"] == KEY_HEX
