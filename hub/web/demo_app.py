"""The demo's web app: each home's own hub app (dashboard and API) mounted at /{home}, and at /
a thin page showing both hub dashboards side by side."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from importlib.resources import files
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel

from firmware_sim.home import SimHome
from hub.app.interface import HubInterface
from hub.config import WebSection
from hub.web.allow import AllowHeader
from hub.web.api import hub_app
from hub.web.auth import AccessControl
from hub.web.dashboard import PAGE_HEADERS
from hub.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hub.web.metrics import metrics_text

STATIC: Final = files("hub.web") / "static"
ASSET_TYPES: Final = {"demo.js": "text/javascript; charset=utf-8", "demo.css": "text/css; charset=utf-8"}
TITLE: Final = "Heartline demo"
VERSION: Final = "0.1.0"
DESCRIPTION: Final = "Two simulated homes. Each home's hub app (its API and dashboard) is mounted at /{home}."


@dataclass(frozen=True, slots=True)
class DemoHome:
    hub: HubInterface
    sim: SimHome


class HomeOut(BaseModel):
    id: str
    name: str
    person: str
    partner: str
    buttons: list[str]
    wearables: list[str]


def demo_app(homes: dict[str, DemoHome]) -> FastAPI:
    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION)
    hub_apps = {
        home_id: hub_app(home.hub, home.sim, sim_buttons=sorted(home.sim.buttons))
        for home_id, home in homes.items()
    }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def side_by_side() -> HTMLResponse:
        frames = "\n".join(
            f'<iframe class="hub" id="home-{escape(home_id)}" src="{escape(home_id)}/" '
            f'title="{escape(home.hub.config.hub.name)}"></iframe>'
            for home_id, home in homes.items()
        )
        page = (STATIC / "demo.html").read_text(encoding="utf-8").replace("{{homes}}", frames)
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in ASSET_TYPES:
            return Response(status_code=404)
        return Response((STATIC / name).read_bytes(), media_type=ASSET_TYPES[name])

    @app.get("/api/homes")
    async def list_homes() -> list[HomeOut]:
        return [
            HomeOut(
                id=home_id,
                name=home.hub.config.hub.name,
                person=home.hub.config.hub.person,
                partner=home.hub.config.hub.partner,
                buttons=sorted(home.sim.buttons),
                wearables=[],
            )
            for home_id, home in homes.items()
        ]

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        text = metrics_text({home_id: home.hub for home_id, home in homes.items()})
        return PlainTextResponse(text, media_type=METRICS_CONTENT_TYPE)

    for home_id, sub in hub_apps.items():
        app.mount(f"/{home_id}", sub)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _merged_openapi(app, hub_apps)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it
    app.add_middleware(AllowHeader)
    # Loopback only: no login, but a foreign Host (DNS rebinding) or a cross-site write is refused.
    app.add_middleware(AccessControl, settings=WebSection())
    return app


def _merged_openapi(app: FastAPI, hub_apps: dict[str, FastAPI]) -> dict[str, Any]:
    """One document for the whole demo: its own routes and every home's, under /{home}."""
    document = get_openapi(title=TITLE, version=VERSION, description=DESCRIPTION, routes=app.routes)
    paths: dict[str, Any] = document.setdefault("paths", {})
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for home_id, sub in hub_apps.items():
        home_document = sub.openapi()
        for path, item in home_document.get("paths", {}).items():
            paths[f"/{home_id}{path}"] = {
                method: {
                    **operation,
                    "operationId": f"{home_id}_{operation.get('operationId', method)}",
                    "tags": [home_id],
                }
                for method, operation in item.items()
            }
        schemas.update(home_document.get("components", {}).get("schemas", {}))
    return document
