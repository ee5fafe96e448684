"""``PUT /api/buttons/{id}/listen_period``: how often a sleepy wearable listens for its hub.

A wearable deep-sleeps between short listen windows (``device/sleep.py``); a command for it waits
up to one period, so the period trades battery for latency. The new period travels as an
authenticated command in the button's next window (``hub.ble.feedback``), so the request holds
until then: at most the current period plus grace (``HubInterface.listen_bound_s``). The answer
is the button as ``/api/buttons`` lists it, with its new ``listen_period_s``. State-changing, so
the access control (``hub.web.auth``) asks the CSRF token of it as of every other such request.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Protocol

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.ble.feedback import ALWAYS_LISTENING, UNREACHED
from hub.errors import FeedbackError
from hub.store.buttons import ButtonRecord
from hub.web.button_out import ButtonOut, button_out

MIN_PERIOD_S: Final = 10
MAX_PERIOD_S: Final = 3600

RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"description": "The body is not valid JSON."},
    404: {"description": "No button with that id."},
    409: {"description": "The button always listens (a puck, or not heard listening yet)."},
    502: {"description": "The button refused the command (re-pair it if its key changed)."},
    504: {"description": "The button did not listen within its period and grace."},
}


class ListenHost(Protocol):
    """What the router needs from a hub (hub.app.interface.HubInterface has it)."""

    async def set_listen_period(self, button_id: int, period_s: int) -> ButtonRecord | None: ...

    def listen_bound_s(self, button_id: int) -> float | None: ...


def _a_json_integer(value: object) -> object:
    """60 and 60.0 are the same JSON integer; "60", true and 60.5 are mistakes to report."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class ListenPeriodIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    period_s: Annotated[
        int,
        Field(ge=MIN_PERIOD_S, le=MAX_PERIOD_S, description="seconds between listen windows (10..3600)"),
        BeforeValidator(_a_json_integer),
    ]


def listen_router(hub: ListenHost) -> APIRouter:
    router = APIRouter()

    @router.put("/api/buttons/{button_id}/listen_period", responses=RESPONSES)
    async def set_listen_period(
        button_id: Annotated[int, Path(ge=1, le=2**31)], body: ListenPeriodIn
    ) -> ButtonOut:
        """Give a sleepy button a new listen period; answers once the button confirmed it in its
        next listen window."""
        bound = hub.listen_bound_s(button_id)
        try:
            record = await hub.set_listen_period(button_id, body.period_s)
        except FeedbackError as ex:
            raise HTTPException(*_failure(ex, bound)) from ex
        if record is None:
            raise HTTPException(404, f"no button with id {button_id}; see `heartline button list`")
        return button_out(record)

    return router


def _failure(ex: FeedbackError, bound: float | None) -> tuple[int, str]:
    if ex.reason == ALWAYS_LISTENING:
        return 409, "this button always listens; only a wearable that sleeps between windows has a period"
    if ex.reason == "missed_window" or ex.reason in UNREACHED:
        within = f"{bound:.0f} s" if bound is not None else "its period"
        return 504, f"the button did not listen within {within}; try again when it is near its hub"
    return 502, f"the button refused the new period ({ex}); re-pair it if its key changed"
