"""Routes that drive a simulated world (``/api/sim/...``): only the demo and simulated homes have them."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.web.sim_controls import SimControls

ADDRESS_PATTERN: Final = r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
UUID_PATTERN: Final = (
    r"^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)
SimId = Annotated[str, Path(pattern=r"^[\w-]{1,64}$", description="a simulated device id from /api/homes")]
NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {404: {"description": "No such button or device."}}


class _Input(BaseModel):
    """Request bodies are strict: ``"rssi": false`` is a mistake to report, not an int to coerce."""

    model_config = ConfigDict(strict=True, extra="forbid")


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")  # noqa: TRY004 - pydantic wants ValueError
    return value


HEX_PATTERN: Final = r"^([0-9A-Fa-f]{2}){0,64}$"


class AdvertIn(_Input):
    address: Annotated[str, Field(pattern=ADDRESS_PATTERN)]
    # 19.0 is an integer in JSON; true is not.
    rssi: Annotated[int, Field(ge=-127, le=20, strict=False), BeforeValidator(_not_a_bool)]
    service_data: Annotated[
        dict[Annotated[str, Field(pattern=UUID_PATTERN)], Annotated[str, Field(pattern=HEX_PATTERN)]],
        Field(
            description="service UUID (16-bit like 'fcd2', or 128-bit) -> the data as hex",
            # Say it the way OpenAPI tools read it: patternProperties, nothing else allowed.
            json_schema_extra={
                "patternProperties": {UUID_PATTERN: {"type": "string", "pattern": HEX_PATTERN}},
                "additionalProperties": False,
            },
        ),
    ]


class PressIn(_Input):
    gesture: Literal["tap", "double_tap", "long_press"]


class PlaceIn(_Input):
    distance_m: Annotated[float, Field(ge=0, le=100_000)]


class Accepted(BaseModel):
    accepted: bool


def sim_router(sim: SimControls) -> APIRouter:
    """The simulator's controls beside a hub's API (only where a simulated world exists)."""
    router = APIRouter()

    @router.post("/api/sim/air/adverts")
    async def inject(body: AdvertIn) -> Accepted:
        """Put a raw advertisement on the simulated radio next to this home's hub."""
        data = {uuid: bytes.fromhex(value) for uuid, value in body.service_data.items()}
        return Accepted(accepted=sim.inject_advert(body.address.upper(), body.rssi, data))

    @router.post("/api/sim/buttons/{button_id}/press", responses=NOT_FOUND)
    async def press(button_id: SimId, body: PressIn) -> Accepted:
        try:
            await sim.press(button_id, body.gesture)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated button {button_id!r}") from ex
        return Accepted(accepted=True)

    @router.get("/api/sim/buttons/{button_id}", responses=NOT_FOUND)
    async def button_output(button_id: SimId) -> dict[str, Any]:
        try:
            return sim.button_output(button_id)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated button {button_id!r}") from ex

    @router.post("/api/sim/wearables/{wearable_id}/place", responses=NOT_FOUND)
    async def place(wearable_id: SimId, body: PlaceIn) -> Accepted:
        try:
            await sim.place_wearable(wearable_id, body.distance_m)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated wearable {wearable_id!r}") from ex
        return Accepted(accepted=True)

    return router
