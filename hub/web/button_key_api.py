"""``POST /api/buttons/{id}/key``: a button's BTHome bindkey, so the couple's own Home Assistant
can decode its touches too (``heartline button key --show ID``; docs/home-assistant.md).

A POST, though it changes nothing: the access control (``hub.web.auth``) holds state-changing
requests to its strictest rules, and the key deserves them. On loopback a request a browser marks
as cross-site is refused, so a page on another site cannot have the hub hand it out; anywhere
else it takes a logged-in session *and* that session's CSRF token, which no other site can
read. The answer is never cached and the key never reaches a log line: only that it was shown.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Final, Protocol

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel

_LOGGER = logging.getLogger(__name__)

RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    403: {"description": "A cross-site request, or (off loopback) a missing or wrong CSRF token."},
    401: {"description": "Off loopback: not logged in."},
    404: {"description": "No button with that id."},
}


class KeyHost(Protocol):
    """What the router needs from a hub (hub.app.interface.HubInterface has it)."""

    def button_key(self, button_id: int) -> bytes | None: ...


class ButtonKeyOut(BaseModel):
    id: int
    bindkey: str  # 32 hex digits: the 16-byte AES-CCM key BTHome calls the bindkey


def button_key_router(hub: KeyHost) -> APIRouter:
    router = APIRouter()

    @router.post("/api/buttons/{button_id}/key", responses=RESPONSES)
    async def button_key(button_id: Annotated[int, Path(ge=1, le=2**31)], response: Response) -> ButtonKeyOut:
        """The button's BTHome bindkey, for Home Assistant's BTHome integration. Anyone holding it
        can read that button's touches: show it only to its owner's own home automation."""
        key = hub.button_key(button_id)
        if key is None:
            raise HTTPException(404, f"no button with id {button_id}; see `heartline button list`")
        response.headers["cache-control"] = "no-store"
        _LOGGER.info("the bindkey of button %d was shown", button_id)
        return ButtonKeyOut(id=button_id, bindkey=key.hex())

    return router
