"""One hub's dashboard: the page at ``/``, its assets, and ``GET /api/hub`` (who this hub is).

The page and its script use relative URLs only (``api/signals``, ``static/dashboard.js``), so the
same page works at ``/`` on a real hub and at ``/{home}/`` where the demo mounts a hub's app.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Final

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from hub.app.interface import HubInterface

STATIC: Final = files("hub.web") / "static"
ASSET_TYPES: Final = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page loads nothing from elsewhere; 'self' may frame it (the demo shows two hubs side by side).
PAGE_HEADERS: Final = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'self'"
    ),
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}


class SimOut(BaseModel):
    """The simulated devices the page may drive through ``api/sim/...``."""

    buttons: list[str]


class HubOut(BaseModel):
    name: str
    person: str
    partner: str
    sim: SimOut | None  # null on a real hub: no simulated button, away toggle or LED


def hub_info_router(hub: HubInterface, sim_buttons: Sequence[str] | None) -> APIRouter:
    """``GET /api/hub``; ``sim_buttons`` is None on a real hub (the page shows no sim controls)."""
    router = APIRouter()

    @router.get("/api/hub")
    async def about() -> HubOut:
        """Who this hub is, and whether it drives a simulated home (the demo)."""
        config = hub.config.hub
        return HubOut(
            name=config.name,
            person=config.person,
            partner=config.partner,
            sim=None if sim_buttons is None else SimOut(buttons=list(sim_buttons)),
        )

    return router


def page_router() -> APIRouter:
    """The page and its two assets (not in the OpenAPI document: they are not the API)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"), headers=PAGE_HEADERS)

    @router.get("/static/{name}")
    async def asset(name: str) -> Response:
        if name not in ASSET_TYPES:
            return Response(status_code=404)
        return Response(
            (STATIC / name).read_bytes(), media_type=ASSET_TYPES[name], headers={"cache-control": "no-cache"}
        )

    return router
