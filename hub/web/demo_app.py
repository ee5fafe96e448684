"""The demo's web app: both homes' APIs under /{home}/api, the side-by-side dashboard at /."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel

from firmware_sim.home import SimHome
from hub.app.interface import HubInterface
from hub.config import WebSection
from hub.web.allow import AllowHeader
from hub.web.api import hub_router
from hub.web.auth import AccessControl
from hub.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hub.web.metrics import metrics_text

STATIC = files("hub.web") / "static"
ASSET_TYPES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


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
    app = FastAPI(
        title="Heartline demo",
        version="0.1.0",
        description="Two simulated homes. Each home's hub API is mounted under /{home}/api.",
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard() -> str:
        return (STATIC / "demo.html").read_text()

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

    for home_id, home in homes.items():
        app.include_router(hub_router(home.hub, home.sim), prefix=f"/{home_id}", tags=[home_id])
    app.add_middleware(AllowHeader)
    # Loopback only: no login, but a foreign Host (DNS rebinding) or a cross-site write is refused.
    app.add_middleware(AccessControl, settings=WebSection())
    return app
