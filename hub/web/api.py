"""The hub's HTTP API (``/api/...``), one router per hub; the demo mounts one per home."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from hub.app.interface import HubInterface
from hub.config import WebSection
from hub.errors import StoreError, UnknownOwnerError
from hub.events import SignalKind
from hub.store.buttons import ButtonRecord
from hub.store.database import DiskFullError, is_disk_full
from hub.web.allow import AllowHeader
from hub.web.auth import AccessControl
from hub.web.button_key_api import button_key_router
from hub.web.button_out import ButtonOut, button_out
from hub.web.dashboard import hub_info_router, page_router
from hub.web.listen_api import listen_router
from hub.web.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hub.web.metrics import metrics_text
from hub.web.pairing_api import pairing_router
from hub.web.presence_api import presence_router
from hub.web.privacy_api import privacy_router
from hub.web.settings_api import settings_router
from hub.web.sim_api import sim_router
from hub.web.sim_controls import SimControls

_LOGGER = logging.getLogger(__name__)

# Server-sent events: a comment line this often keeps proxies and phones from closing the stream.
SSE_KEEPALIVE_S: Final = 15.0
ADDRESS_PATTERN: Final = r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$"
UUID_PATTERN: Final = (
    r"^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})$"
)
SimId = Annotated[str, Path(pattern=r"^[\w-]{1,64}$", description="a simulated device id from /api/homes")]


NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {404: {"description": "No such button or device."}}
# A write the hub's database could not take: the disk is full (507) or it is unavailable (503).
STORE_FAILED: Final[dict[int | str, dict[str, Any]]] = {
    507: {"description": "The hub's disk is full: nothing was stored or sent; free space and retry."},
    503: {"description": "The hub's database could not be written just now; nothing was stored."},
}
DISK_FULL_TEXT: Final = "the hub's disk is full, so nothing new can be stored; free some space on it"
# Where an error message repeats something the request carried: at most this much of it.
MAX_ECHO: Final = 200


class PartnerHubOut(BaseModel):
    online: bool | None
    last_seen: str | None  # ISO 8601, on this hub's clock


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    ble: str
    relay: str
    reason: str | None  # what is wrong and how to fix it, one line; null when all is well
    outbox: int
    ingest_queue: int
    adverts_seen: int
    rejected: dict[str, int]
    partner: PartnerHubOut


class SignalOut(BaseModel):
    id: str
    direction: Literal["sent", "received"]
    kind: str
    sender: str
    seq: int
    created_at: str
    fate: str
    channel: str | None
    reason: str | None
    updated_at: str
    made_at: str | None = None  # a touch the sender's button kept: when it was made
    made_away: bool = False  # ... where no hub heard it


class _Input(BaseModel):
    """Request bodies are strict: ``"rssi": false`` is a mistake to report, not an int to coerce."""

    model_config = ConfigDict(strict=True, extra="forbid")


class SendIn(_Input):
    kind: Annotated[SignalKind, Field(strict=False)] = SignalKind.THINKING_OF_YOU  # enum from its JSON string


class ButtonIn(_Input):
    kind: Literal["bthome", "heartline"]
    address: Annotated[str, Field(pattern=ADDRESS_PATTERN)]
    key: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{32}$", description="16-byte AES key as hex")]
    owner: Annotated[str, Field(min_length=1, max_length=64)]
    replace: Annotated[
        bool, Field(description="true replaces the key and owner of a button already registered here")
    ] = False


KNOWN_BUTTON: Final[dict[int | str, dict[str, Any]]] = {
    409: {"description": "A button with that address is registered; send replace: true to re-key it."},
    422: {"description": "The owner is neither of the couple (or the body is not a valid button)."},
}


def _refuse_a_silent_replace(hub: HubInterface, body: ButtonIn) -> None:
    """409 when the address is registered and the body does not say ``replace``."""
    known = next((b for b in hub.buttons() if b.address.upper() == body.address.upper()), None)
    if known is not None and not body.replace:
        raise HTTPException(
            409,
            f"button {known.id} ({known.address}, {known.owner}'s) is already registered; "
            "replacing its key and owner needs replace: true (heartline button add --replace)",
        )


def _button_in(hub: HubInterface) -> type[ButtonIn]:
    """ButtonIn whose owner is one of this couple (sorted: both homes of a couple say the same)."""
    people = sorted((hub.config.hub.person, hub.config.hub.partner))
    # In the schema; the check itself is the hub's, whose refusal says who the two are.
    owner = Annotated[
        str,
        Field(
            min_length=1, max_length=64, json_schema_extra={"enum": people}, description="one of the couple"
        ),
    ]
    return create_model("ButtonIn", __base__=ButtonIn, owner=(owner, ...))


def _register(hub: HubInterface, body: ButtonIn) -> ButtonRecord:
    """422 when the owner is neither of the couple (its touches would go to nobody)."""
    try:
        return hub.add_button(body.address, body.kind, bytes.fromhex(body.key), body.owner)
    except UnknownOwnerError as ex:
        raise HTTPException(422, str(ex)) from ex


def hub_router(
    hub: HubInterface, sim: SimControls | None = None, sim_buttons: Sequence[str] = ()
) -> APIRouter:
    router = APIRouter(responses={400: {"description": "The body is not valid JSON."}})

    @router.get("/api/health")
    async def health() -> HealthOut:
        state = hub.health()
        return HealthOut(
            status="ok" if state.ok else "degraded",
            ble=str(state.ble),
            relay=str(state.relay),
            reason=state.reason,
            outbox=state.outbox,
            ingest_queue=state.ingest_queue,
            adverts_seen=state.adverts_seen,
            rejected=dict(state.rejected),
            partner=PartnerHubOut.model_validate(state.partner.to_json()),
        )

    @router.get("/api/signals")
    async def signals(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[SignalOut]:
        return [SignalOut.model_validate(r.to_json()) for r in hub.recent_signals(limit)]

    @router.post("/api/signals", status_code=201, responses=STORE_FAILED)
    async def send(body: SendIn) -> SignalOut:
        """Send a signal to the partner, as a touch on this home's button would."""
        return SignalOut.model_validate(hub.send(body.kind).to_json())

    @router.get("/api/buttons")
    async def buttons() -> list[ButtonOut]:
        return [button_out(r) for r in hub.buttons()]

    async def add_button(body: ButtonIn) -> ButtonOut:
        """Register a button: an off-the-shelf BTHome button (input only) or a Heartline button,
        for one of the couple. A known address keeps its key and owner unless ``replace`` is true."""
        _refuse_a_silent_replace(hub, body)
        return button_out(_register(hub, body))

    add_button.__annotations__["body"] = _button_in(hub)  # this couple's owners, in the schema
    router.post("/api/buttons", status_code=201, responses=KNOWN_BUTTON)(add_button)

    @router.delete("/api/buttons/{button_id}", status_code=204, responses=NOT_FOUND)
    async def remove_button(button_id: Annotated[int, Path(ge=1, le=2**31)]) -> None:
        if not hub.remove_button(button_id):
            raise HTTPException(404, f"no button with id {button_id}")

    @router.get("/api/events", response_class=StreamingResponse)
    async def events(request: Request) -> StreamingResponse:
        """Server-sent events: every signal update and touch, as JSON ``data:`` lines."""
        return StreamingResponse(_sse(hub, request), media_type="text/event-stream")

    router.include_router(hub_info_router(hub, None if sim is None else sim_buttons))
    router.include_router(presence_router(hub))
    router.include_router(privacy_router(hub, timezone=hub.config.hub.timezone))
    router.include_router(settings_router(hub))
    if sim is not None:
        router.include_router(sim_router(sim))
    return router


async def _sse(hub: HubInterface, request: Request) -> AsyncIterator[str]:
    async with hub.updates() as queue:
        yield ": connected\n\n"
        while not await request.is_disconnected():
            try:
                async with asyncio.timeout(SSE_KEEPALIVE_S):
                    update = await queue.get()
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            yield f"event: {update.type}\ndata: {json.dumps(update.to_json())}\n\n"


def hub_app(
    hub: HubInterface,
    sim: SimControls | None = None,
    auth: WebSection | None = None,
    *,
    sim_buttons: Sequence[str] = (),
) -> FastAPI:
    """The app every hub serves: the dashboard at /, its API at /api and metrics at /metrics,
    behind access control. ``sim`` (with the ids of its ``sim_buttons``) only in the demo."""
    app = FastAPI(title="Heartline hub", version="0.1.0")
    app.include_router(page_router())
    app.include_router(hub_router(hub, sim, sim_buttons))
    app.include_router(pairing_router(hub))
    app.include_router(button_key_router(hub))
    app.include_router(listen_router(hub))

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(metrics_text({"home": hub}), media_type=METRICS_CONTENT_TYPE)

    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DiskFullError, _store_failed)
    app.add_exception_handler(StoreError, _store_failed)
    app.add_exception_handler(sqlite3.Error, _store_failed)
    app.add_middleware(AllowHeader)
    app.add_middleware(AccessControl, settings=auth or WebSection())
    return app


def _safe_text(value: object) -> str:
    """``value`` as text any JSON encoder takes: lone surrogates escaped, at most MAX_ECHO long."""
    text = str(value).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """422 saying where and what, never echoing the input: what a request carried (NaN,
    Infinity, a lone surrogate, megabytes) may not even be serialisable."""
    del request
    assert isinstance(exc, RequestValidationError)
    detail = [
        {
            "loc": [part if isinstance(part, int) else _safe_text(part) for part in error.get("loc", ())],
            "msg": _safe_text(error.get("msg", "invalid")),
            "type": _safe_text(error.get("type", "invalid")),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _store_failed(request: Request, exc: Exception) -> Response:
    """A write the database refused: 507 when the disk is full, 503 otherwise; one line, no
    traceback, and nothing of the request was stored (its transaction was rolled back)."""
    if isinstance(exc, DiskFullError) or is_disk_full(exc):
        line, status = str(exc) if isinstance(exc, DiskFullError) else DISK_FULL_TEXT, 507
    else:
        line, status = f"the hub's database refused the write ({_safe_text(exc)}); nothing was stored", 503
    _LOGGER.error("%s %s: %s", request.method, request.url.path, line)
    return JSONResponse({"detail": line}, status_code=status)
