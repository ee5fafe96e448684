"""Access control: loopback needs no login; anywhere else a password, a session and CSRF tokens."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from hub.config import WebSection, parse_web_section
from hub.errors import ConfigError
from hub.web.auth import (
    CSRF_COOKIE,
    LOGIN_FAILURES_PER_CLIENT,
    hash_password,
    prompt_password_hash,
    protect,
    verify_password,
)

PASSWORD = "correct horse battery"
# Tests use a cheap scrypt cost (2^10): the production cost is covered by one round-trip test.
CHEAP = 10
HASH = hash_password(PASSWORD, log2_n=CHEAP, p=1)


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def inner_app() -> FastAPI:
    app = FastAPI()
    state = {"posts": 0}

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return "<h1>dashboard</h1>"

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/signals", status_code=201)
    async def send() -> dict[str, int]:
        state["posts"] += 1
        return {"posts": state["posts"]}

    @app.get("/metrics")
    async def metrics() -> str:
        return "x 1"

    return app


def client_for(
    settings: WebSection, clock: FakeClock | None = None, host: str = "hub.lan:8080", scheme: str = "http"
) -> httpx.AsyncClient:
    app = protect(inner_app(), settings, clock=clock or FakeClock())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("192.168.1.20", 50000)), base_url=f"{scheme}://{host}"
    )


REMOTE = WebSection(listen="0.0.0.0", password_hash=HASH)


@pytest.fixture
async def remote() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(REMOTE) as http:
        yield http


async def login(http: httpx.AsyncClient, password: str = PASSWORD, next_path: str = "/") -> httpx.Response:
    form = await http.get("/login", params={"next": next_path}, headers={"accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return await http.post("/login", data={"csrf_token": token[1], "password": password, "next": next_path})


# -- loopback ---------------------------------------------------------------------------------------


async def test_loopback_needs_no_login() -> None:
    async with client_for(WebSection(listen="127.0.0.1"), host="127.0.0.1:8080") as http:
        assert (await http.get("/api/health")).json() == {"status": "ok"}
        assert (await http.post("/api/signals")).status_code == 201
        assert (await http.get("/", headers={"accept": "text/html"})).text == "<h1>dashboard</h1>"
    async with client_for(WebSection(listen="::1"), host="[::1]:8080") as http:
        assert (await http.get("/api/health")).status_code == 200


async def test_loopback_refuses_dns_rebinding_and_cross_site_writes() -> None:
    async with client_for(WebSection(listen="127.0.0.1"), host="evil.example:8080") as http:
        assert (await http.get("/api/health")).status_code == 403
    async with client_for(WebSection(listen="127.0.0.1"), host="localhost:8080") as http:
        response = await http.post("/api/signals", headers={"origin": "http://evil.example"})
        assert response.status_code == 403
        assert (
            await http.post("/api/signals", headers={"origin": "http://localhost:8080"})
        ).status_code == 201


async def test_require_password_forces_the_login_on_loopback() -> None:
    settings = WebSection(listen="127.0.0.1", password_hash=HASH, require_password=True)
    async with client_for(settings, host="127.0.0.1") as http:
        assert (await http.get("/api/health")).status_code == 401


# -- remote -------------------------------------------------------------------------------------------


async def test_remote_api_401_and_pages_redirect(remote: httpx.AsyncClient) -> None:
    response = await remote.get("/api/health")
    assert response.status_code == 401
    assert response.json() == {"detail": "login required"}
    assert (await remote.post("/api/signals")).status_code == 401
    assert (await remote.get("/metrics")).status_code == 401
    page = await remote.get("/", headers={"accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/"


async def test_login_form_is_local_and_carries_no_secret(remote: httpx.AsyncClient) -> None:
    form = await remote.get("/login")
    assert form.status_code == 200
    assert "http" not in form.text.replace('content="width', "")  # no CDN, no external URL
    assert HASH not in form.text
    assert HASH.split("$")[3] not in form.text  # not even the salt
    assert "default-src 'none'" in form.headers["content-security-policy"]
    css = await remote.get("/login.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


async def test_login_sets_a_hardened_session_and_the_api_works(remote: httpx.AsyncClient) -> None:
    response = await login(remote, next_path="/api/health")
    assert response.status_code == 303
    assert response.headers["location"] == "/api/health"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("heartline_session="))
    assert "HttpOnly" in session
    assert "SameSite=Strict" in session
    assert "Max-Age=" in session
    assert "Secure" not in session  # plain HTTP on the LAN unless secure_cookies
    assert (await remote.get("/api/health")).json() == {"status": "ok"}
    assert (await remote.get("/", headers={"accept": "text/html"})).status_code == 200


async def test_secure_cookies_use_the_host_prefix() -> None:
    settings = WebSection(listen="0.0.0.0", password_hash=HASH, secure_cookies=True)
    async with client_for(settings, host="hub.lan", scheme="https") as http:  # behind a TLS proxy
        response = await login(http)
        session = next(c for c in response.headers.get_list("set-cookie") if "heartline_session=" in c)
        assert session.startswith("__Host-heartline_session=")
        assert "Secure" in session
        assert (await http.get("/api/health")).status_code == 200


async def test_wrong_password_is_refused_and_logged_without_secrets(
    remote: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await login(remote, password="wrong password!")
    assert response.status_code == 401
    assert "Wrong password" in response.text
    assert "wrong password!" not in response.text
    assert (await remote.get("/api/health")).status_code == 401
    assert "wrong password!" not in caplog.text
    assert HASH not in caplog.text
    assert "failed web login from 192.168.1.20" in caplog.text


async def test_login_without_the_login_csrf_token_is_refused(remote: httpx.AsyncClient) -> None:
    response = await remote.post("/login", data={"password": PASSWORD, "csrf_token": "guess"})
    assert response.status_code == 403
    response = await remote.post(
        "/login", data={"password": PASSWORD}, headers={"origin": "http://evil.example"}
    )
    assert response.status_code == 403


async def test_csrf_missing_or_wrong_is_403_right_is_accepted(remote: httpx.AsyncClient) -> None:
    await login(remote)
    token = remote.cookies[CSRF_COOKIE]
    assert (await remote.post("/api/signals")).status_code == 403
    assert (await remote.post("/api/signals", headers={"x-csrf-token": "nope"})).status_code == 403
    assert (await remote.post("/api/signals", headers={"x-csrf-token": token[:-1]})).status_code == 403
    cross = await remote.post(
        "/api/signals", headers={"x-csrf-token": token, "origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    ok = await remote.post("/api/signals", headers={"x-csrf-token": token, "origin": "http://hub.lan:8080"})
    assert ok.status_code == 201
    assert ok.json() == {"posts": 1}


async def test_a_form_post_carries_its_csrf_token_in_the_body(remote: httpx.AsyncClient) -> None:
    await login(remote)
    token = remote.cookies[CSRF_COOKIE]
    assert (await remote.post("/logout", data={"csrf_token": "wrong"})).status_code == 403
    response = await remote.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert (await remote.get("/api/health")).status_code == 401


async def test_logout_ends_the_session_server_side() -> None:
    async with client_for(REMOTE) as http:
        await login(http)
        session = dict(http.cookies)
        await http.post("/logout", headers={"x-csrf-token": http.cookies[CSRF_COOKIE]})
        http.cookies.clear()
        http.cookies.update(session)  # replaying the old cookie does not work either
        assert (await http.get("/api/health")).status_code == 401


async def test_sessions_expire() -> None:
    clock = FakeClock()
    settings = WebSection(listen="0.0.0.0", password_hash=HASH, session_hours=1)
    async with client_for(settings, clock) as http:
        await login(http)
        clock.t += 3599
        assert (await http.get("/api/health")).status_code == 200
        clock.t += 2
        assert (await http.get("/api/health")).status_code == 401


async def test_failed_logins_are_rate_limited_per_client() -> None:
    clock = FakeClock()
    async with client_for(REMOTE, clock) as http:
        for _ in range(LOGIN_FAILURES_PER_CLIENT):
            assert (await login(http, password="not it at all")).status_code == 401
        limited = await login(http)  # even the right password waits
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        clock.t += 301
        assert (await login(http)).status_code == 303


async def test_open_redirects_are_refused(remote: httpx.AsyncClient) -> None:
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await login(remote, next_path=evil)
        assert response.headers["location"] == "/"


async def test_metrics_can_be_public_for_prometheus() -> None:
    settings = WebSection(listen="0.0.0.0", password_hash=HASH, metrics_public=True)
    async with client_for(settings) as http:
        assert (await http.get("/metrics")).status_code == 200
        assert (await http.get("/api/health")).status_code == 401


# -- hashes and config ----------------------------------------------------------------------------


@pytest.mark.slow  # the production cost is the point
def test_hash_round_trip_with_production_cost() -> None:
    encoded = hash_password(PASSWORD)
    assert encoded.startswith("$scrypt$ln=15,r=8,p=3$")
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "x", encoded)
    assert hash_password(PASSWORD, log2_n=CHEAP) != hash_password(PASSWORD, log2_n=CHEAP)  # salted


def test_bad_hashes_never_verify() -> None:
    for bad in ("", "plain", "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAA", HASH[:-4] + "!!!!"):
        assert not verify_password(PASSWORD, bad)


@pytest.mark.slow  # a CLI process
def test_the_password_prompt_reads_stdin_not_argv() -> None:
    encoded = prompt_password_hash(io.StringIO(PASSWORD + "\n"))
    assert verify_password(PASSWORD, encoded)
    with pytest.raises(ValueError, match="8 to"):
        prompt_password_hash(io.StringIO("short\n"))


def test_config_section_errors_name_the_key_and_hide_the_hash() -> None:
    assert parse_web_section({"listen": "127.0.0.1", "port": 8080}, "hub.toml").login_required is False
    with pytest.raises(ConfigError, match=r"web\.password_hash: is required when web\.listen") as info:
        parse_web_section({"listen": "0.0.0.0"}, "hub.toml")
    assert info.value.key == "web.password_hash"
    secret_looking = "$scrypt$ln=15,r=8,p=3$c2VjcmV0$bm90IGEgaGFzaA"
    with pytest.raises(ConfigError) as bad:
        parse_web_section({"listen": "0.0.0.0", "password_hash": secret_looking[:-3]}, "hub.toml")
    assert secret_looking[:-3] not in str(bad.value)
    with pytest.raises(ConfigError, match=r"web\.session_hours"):
        parse_web_section({"session_hours": 0}, "hub.toml")
    with pytest.raises(ConfigError, match=r"web\.secure_cookies: must be true or false"):
        parse_web_section({"secure_cookies": "yes"}, "hub.toml")
    remote = parse_web_section({"listen": "0.0.0.0", "password_hash": HASH}, "hub.toml")
    assert remote.login_required
