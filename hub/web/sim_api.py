"""Routes that drive a simulated world (``/api/sim/...``): only the demo and simulated homes have them.

``sim_router`` is one simulated home beside its hub's API (the demo's). ``sim_world_router`` is a
whole simulated radio many real hubs join (``heartline sim radio``): the same routes, plus
making buttons near a hub, listing them and the hubs, and placing a device near another hub.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.web.sim_controls import SimControls, SimWorldControls

ADDRESS_PATTERN: Final = r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
UUID_PATTERN: Final = (
    r"^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)
SimId = Annotated[str, Path(pattern=r"^[\w-]{1,64}$", description="a simulated device id from /api/homes")]
NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {404: {"description": "No such button or device."}}
PLACE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **NOT_FOUND,
    422: {"description": "No such home to carry it to (or the body is not valid)."},
}


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


Distance = Annotated[float, Field(ge=0, le=100_000, strict=False), BeforeValidator(_not_a_bool)]
HubName = Annotated[
    str,
    Field(
        pattern=r"^[\w:.-]{1,64}$",
        description="a hub radio's name on the air: the NAME of its transport sim:HOST:PORT/NAME",
    ),
]


class PlaceIn(_Input):
    distance_m: Annotated[float, Field(ge=0, le=100_000)]
    at: Annotated[str, Field(pattern=r"^[\w.-]{1,64}$")] | None = Field(
        default=None, description="carry it to this home (its id: a visit); default: its own home"
    )


class PlaceNearIn(_Input):
    distance_m: Distance
    near: HubName | None = Field(default=None, description="move it to this hub's home (a visit)")


class WorldAdvertIn(AdvertIn):
    near: HubName | None = Field(default=None, description="only this hub hears it (default: every hub)")


class ButtonNearIn(_Input):
    near: HubName
    distance_m: Distance = 2.0


class WaitIn(_Input):
    pattern: Annotated[str, Field(pattern=r"^[a-z_]{1,32}$", description="e.g. thinking_of_you")]
    within_s: Annotated[float, Field(gt=0, le=120, strict=False), BeforeValidator(_not_a_bool)] = 30.0


class BatteryIn(_Input):
    millivolts: Annotated[int, Field(ge=0, le=5000)]


class ButtonCreated(BaseModel):
    id: str
    address: str


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

    _device_routes(router, sim)

    @router.post("/api/sim/wearables/{wearable_id}/place", responses=PLACE_RESPONSES)
    async def place(wearable_id: SimId, body: PlaceIn) -> Accepted:
        """Carry a wearable this far from its home's hub, or to home ``at`` (a visit)."""
        try:
            await sim.place_wearable(wearable_id, body.distance_m, body.at)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated wearable {wearable_id!r}") from ex
        except ValueError as ex:
            raise HTTPException(422, str(ex)) from ex
        return Accepted(accepted=True)

    return router


def sim_world_router(world: SimWorldControls) -> APIRouter:
    """A simulated radio's controls: buttons made near a hub by name, placed, pressed, read.

    A ``near`` name the world has not heard of gets its own home (as a hub joining would); the
    hub may join later. Ids are the world's (``b1``, ``b2``...), addresses the buttons' own.
    """
    router = APIRouter()

    @router.post("/api/sim/air/adverts")
    async def inject(body: WorldAdvertIn) -> Accepted:
        """Put a raw advertisement on the air: next to hub ``near``, or next to every hub."""
        data = {uuid: bytes.fromhex(value) for uuid, value in body.service_data.items()}
        address = body.address.upper()
        if body.near is None:
            return Accepted(accepted=world.inject_advert(address, body.rssi, data))
        return Accepted(accepted=world.inject_advert_near(body.near, address, body.rssi, data))

    @router.post("/api/sim/buttons", status_code=201)
    async def add_button(body: ButtonNearIn) -> ButtonCreated:
        """A button fresh from the factory, in pairing mode, ``distance_m`` from hub ``near``."""
        try:
            created = await world.add_button(body.near, body.distance_m)
        except ValueError as ex:
            raise HTTPException(422, str(ex)) from ex
        except RuntimeError as ex:  # the firmware did not boot into pairing mode: say why
            raise HTTPException(409, str(ex)) from ex
        return ButtonCreated.model_validate(created)

    @router.get("/api/sim/buttons")
    async def list_buttons() -> list[dict[str, Any]]:
        return world.list_buttons()

    @router.get("/api/sim/hubs")
    async def hubs() -> list[dict[str, Any]]:
        """Every hub the world has placed (by joining the air or by a ``near``), and its buttons."""
        return world.hubs()

    _device_routes(router, world)
    _world_device_routes(router, world)
    return router


def _device_routes(router: APIRouter, sim: SimControls) -> None:
    """Press a button and read what it played: the same for one home and for a world.

    Presses on one button take turns (a lock per button): a finger cannot make two gestures on
    one pad at once, and two traces interleaved would be one touch the firmware reads as neither
    gesture asked for. Each press waits for the one before it to be recognised."""
    turns = _Turns()

    @router.post("/api/sim/buttons/{button_id}/press", responses=NOT_FOUND)
    async def press(button_id: SimId, body: PressIn) -> Accepted:
        try:
            async with turns.of(button_id):
                await sim.press(button_id, body.gesture)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated button {button_id!r}") from ex
        except RuntimeError as ex:  # the firmware did not recognise the touch: say what it did
            raise HTTPException(409, str(ex)) from ex
        return Accepted(accepted=True)

    @router.get("/api/sim/buttons/{button_id}", responses=NOT_FOUND)
    async def button_output(button_id: SimId) -> dict[str, Any]:
        try:
            return sim.button_output(button_id)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated button {button_id!r}") from ex


class _Turns:
    """A lock per key, kept only while someone holds or waits for it (ids come from requests)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def of(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _world_device_routes(router: APIRouter, world: SimWorldControls) -> None:
    """What only a world does to a device: move it near any hub, change its battery."""

    @router.post("/api/sim/buttons/{button_id}/battery", responses=NOT_FOUND)
    async def battery(button_id: SimId, body: BatteryIn) -> Accepted:
        """The cell voltage the button reads from now on (it reports it with its next touch)."""
        try:
            world.set_battery(button_id, body.millivolts)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated button {button_id!r}") from ex
        return Accepted(accepted=True)

    @router.post(
        "/api/sim/buttons/{button_id}/wait",
        responses={**NOT_FOUND, 504: {"description": "The button did not play the pattern in time."}},
    )
    async def wait(button_id: SimId, body: WaitIn) -> dict[str, Any]:
        """Hold until the button has played ``pattern`` (e.g. the partner's touch), then answer
        what it played; 504 naming what it did play when ``within_s`` passes first."""
        try:
            return await world.wait_for_pattern(button_id, body.pattern, body.within_s)
        except KeyError as ex:
            raise HTTPException(404, f"no simulated button {button_id!r}") from ex
        except TimeoutError as ex:
            raise HTTPException(504, str(ex)) from ex

    for prefix in ("wearables", "buttons"):  # a button is worn too: the same move for both

        @router.post(f"/api/sim/{prefix}/{{device_id}}/place", responses=NOT_FOUND)
        async def place(device_id: SimId, body: PlaceNearIn) -> Accepted:
            try:
                await world.place(device_id, body.distance_m, body.near)
            except KeyError as ex:
                raise HTTPException(404, f"no simulated device {device_id!r}") from ex
            except ValueError as ex:
                raise HTTPException(422, str(ex)) from ex
            return Accepted(accepted=True)
