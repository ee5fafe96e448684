"""The dashboard every hub serves at /: one page with relative URLs, the same in the demo at /{home}/,
behind the hub's login when it asks for one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib.resources import files

import httpx
import pytest

from hub.config import WebSection
from hub.web.api import hub_app
from hub.web.auth import hash_password
from tests.support.homes import Homes
from tests.web.test_auth import login

PASSWORD = "correct horse battery"
REMOTE = WebSection(listen="0.0.0.0", password_hash=hash_password(PASSWORD, log2_n=10, p=1))
STATIC = files("hub.web") / "static"


@pytest.fixture
async def real_hub(homes: Homes) -> AsyncIterator[httpx.AsyncClient]:
    """Home A's hub as `heartline hub` serves it off loopback: no simulator, a password."""
    app = hub_app(homes.hub_a, auth=REMOTE)
    transport = httpx.ASGITransport(app=app, client=("192.168.1.20", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.lan:8080") as http:
        yield http


def test_the_page_and_its_script_use_relative_urls_only() -> None:
    page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    script = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    assert 'href="static/dashboard.css"' in page
    assert 'src="static/dashboard.js"' in page
    # Every URL the script asks for is relative: a leading "/" would leave /{home}/ in the demo.
    assert not re.findall(r"""(?:api|fetch|EventSource)\(\s*[`"']/""", script)
    assert "api/signals" in script


async def test_the_demo_mounts_each_hub_app_with_its_page_and_sim_controls(client: httpx.AsyncClient) -> None:
    redirect = await client.get("/a")
    assert redirect.status_code in (307, 308)
    assert redirect.headers["location"].endswith("/a/")
    page = await client.get("/a/")
    assert page.status_code == 200
    assert 'src="static/dashboard.js"' in page.text
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    script = await client.get("/a/static/dashboard.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await client.get("/a/static/nope.js")).status_code == 404
    assert (await client.get("/b/api/hub")).json() == {
        "name": "home",
        "person": "Sam",
        "partner": "Alex",
        "sim": {"buttons": ["b-button"]},
    }
    # The side-by-side page frames both hubs' own dashboards.
    side = (await client.get("/")).text
    assert '<iframe class="hub" id="home-a" src="a/"' in side
    assert '<iframe class="hub" id="home-b" src="b/"' in side
    assert "Simulated" in side
    # One OpenAPI document for the demo, each home's operations named apart.
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/a/api/hub"]["get"]["operationId"] != paths["/b/api/hub"]["get"]["operationId"]


async def test_a_real_hub_serves_the_page_at_root_without_sim_controls(real_hub: httpx.AsyncClient) -> None:
    # Not logged in: the page and its assets go to the login form, the API says 401.
    for path in ("/", "/static/dashboard.js"):
        response = await real_hub.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"
    assert (await real_hub.get("/api/hub")).status_code == 401

    landed = await login(real_hub, next_path="/")
    assert landed.status_code == 303
    assert landed.headers["location"] == "/"
    page = await real_hub.get("/")
    assert page.status_code == 200
    assert '<main id="hub"' in page.text
    assert (await real_hub.get("/static/dashboard.css")).status_code == 200
    assert (await real_hub.get("/api/hub")).json() == {
        "name": "home",
        "person": "Alex",
        "partner": "Sam",
        "sim": None,
    }
    assert (await real_hub.get("/api/sim/buttons/a-button")).status_code == 404
