"""The login, hardened, on a real uvicorn server: ``next`` goes back only to a path on the hub,
CR/LF in it is a plain redirect (no traceback), and X-Forwarded-For is believed only from a
configured trusted proxy, so a client cannot dodge the rate limit by naming other addresses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from hub.config import WebSection
from hub.server import web_server
from hub.web.auth import LOGIN_FAILURES_PER_CLIENT, protect
from tests.support.mosquitto import free_ports
from tests.support.waiting import START_S, eventually
from tests.web.test_auth import HASH, inner_app, login

EVIL = [
    "//evil.example/",
    "/\t/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/x\r\nSet-Cookie: stolen=1",
    "/\n/evil.example",
    "/ /evil.example",
    "/\x7f",
]


async def _serving(trusted: Sequence[str] = ()) -> AsyncIterator[httpx.AsyncClient]:
    (port,) = free_ports(1)
    settings = WebSection(listen="127.0.0.1", port=port, password_hash=HASH, require_password=True)
    server = web_server(protect(inner_app(), settings), "127.0.0.1", port, trusted_proxies=trusted)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, within_s=START_S, what="the web server to start")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def hub_web() -> AsyncIterator[httpx.AsyncClient]:
    async for client in _serving():
        yield client


@pytest.mark.parametrize("evil", EVIL)
async def test_next_goes_only_to_a_path_on_the_hub(
    hub_web: httpx.AsyncClient, evil: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        response = await login(hub_web, next_path=evil)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "stolen" not in str(response.headers)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_path_on_the_hub_is_kept(hub_web: httpx.AsyncClient) -> None:
    response = await login(hub_web, next_path="/api/health?x=1#top")
    assert response.headers["location"] == "/api/health?x=1#top"


async def _limited_despite_other_addresses(client: httpx.AsyncClient) -> int:
    """Fail the limit's worth of logins, each naming another address, then one more."""
    for n in range(LOGIN_FAILURES_PER_CLIENT):
        client.headers["x-forwarded-for"] = f"203.0.113.{n + 1}"
        assert (await login(client, password="not it at all")).status_code == 401
    client.headers["x-forwarded-for"] = "198.51.100.7"
    return (await login(client, password="not it at all")).status_code


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(hub_web: httpx.AsyncClient) -> None:
    assert await _limited_despite_other_addresses(hub_web) == 429


async def test_a_trusted_proxy_names_the_client() -> None:
    async for client in _serving(trusted=("127.0.0.1",)):
        assert await _limited_despite_other_addresses(client) == 401  # each address its own count
