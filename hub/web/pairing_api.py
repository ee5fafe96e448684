"""``POST /api/buttons/pair``: pair a Heartline button in pairing mode to this hub.

The request holds until the button is paired or pairing failed (at most ``timeout_s`` to find
the button plus the exchange's own bound, ``hub.ble.pairing.EXCHANGE_TIMEOUT_S``). The answer
is the new button, never its key. Failures carry the pairing error's one-line advice as
``detail`` with a status that says whose move it is.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Protocol

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.ble.pairing import PairingError
from hub.errors import UnknownOwnerError
from hub.store.buttons import ButtonRecord
from hub.web.button_out import ButtonOut, button_out

# The longest a client may ask the hub to look for a button: the firmware's pairing window.
MAX_TIMEOUT_S: Final = 180.0
DEFAULT_TIMEOUT_S: Final = 60.0

# PairingError.reason -> HTTP status.
STATUS: Final = {
    "busy": 409,  # another pairing is running: try again after it
    "several_buttons": 409,  # the user must leave one button in pairing mode
    "known": 409,  # already registered: pair again with replace: true to re-key it
    "refused": 409,  # the button took another key first: reset it
    "no_button": 504,  # nothing in pairing mode within the timeout
    "timeout": 504,
    "connect_failed": 502,  # the button misbehaved or went out of range
    "exchange_failed": 502,
    "unconfirmed": 502,
}

RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "The body is not valid JSON."},
    409: {
        "description": (
            "Busy, several buttons in pairing mode, the button refused the key, or it is already "
            "registered (pair again with replace: true)."
        )
    },
    502: {"description": "The button could not be connected to, or the exchange failed."},
    504: {"description": "No button in pairing mode within timeout_s, or the exchange timed out."},
}


class PairingHost(Protocol):
    """What the router needs from a hub (hub.app.interface.HubInterface has it)."""

    async def pair(self, owner: str, timeout_s: float, *, replace: bool = False) -> ButtonRecord: ...


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")  # noqa: TRY004 - pydantic wants ValueError
    return value


class PairIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    owner: Annotated[str, Field(min_length=1, max_length=64, description="whose button it is")]
    timeout_s: Annotated[
        float,
        Field(
            gt=0, le=MAX_TIMEOUT_S, strict=False, description="how long to look for a button in pairing mode"
        ),
        BeforeValidator(_not_a_bool),
    ] = DEFAULT_TIMEOUT_S
    replace: Annotated[
        bool, Field(description="true re-keys a button already registered at the address found")
    ] = False


def pairing_router(hub: PairingHost) -> APIRouter:
    router = APIRouter()

    @router.post("/api/buttons/pair", status_code=201, responses=RESPONSES)
    async def pair(body: PairIn) -> ButtonOut:
        """Pair the one Heartline button in pairing mode (hold its pad 10 s, let go) for ``owner``."""
        try:
            record = await hub.pair(body.owner, body.timeout_s, replace=body.replace)
        except PairingError as ex:
            raise HTTPException(STATUS.get(ex.reason, 502), str(ex)) from ex
        except UnknownOwnerError as ex:
            raise HTTPException(422, str(ex)) from ex
        return button_out(record)

    return router
