"""``POST /api/privacy/forget`` and ``GET /api/privacy/export``: the privacy controls on a running hub.

Forget goes through the hub because the hub is the database's one writer; it runs on the event
loop like every other write. Export reads through its own read-only connection in a worker
thread (a WAL snapshot), so a large export never stalls touches.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, Protocol
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from hub.privacy.export import ExportError
from hub.privacy.forget import ForgetError, ForgetSummary, local_midnight


class PrivacyHub(Protocol):
    """What the router needs from a hub (hub.app.interface.HubInterface has it)."""

    def forget(self, before: datetime) -> ForgetSummary: ...

    async def export_json(self, out: Path) -> None: ...

    @property
    def data_dir(self) -> Path: ...


class ForgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    # A calendar date; midnight at its start in the hub's time zone.
    before: Annotated[
        str,
        Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD", json_schema_extra={"format": "date"}),
    ]


class ForgetOut(BaseModel):
    before: str
    deleted: int
    signals: int
    signal_links: int
    presence_sessions: int
    presence_sessions_trimmed: int
    inbox_ids: int
    kept_waiting_in_outbox: int
    kept_held: int
    kept_recent_inbox_ids: int
    compacted: bool
    bytes_before: int
    bytes_after: int
    note: str


def privacy_router(hub: PrivacyHub, *, timezone: str = "UTC") -> APIRouter:
    router = APIRouter()
    tz = ZoneInfo(timezone)

    @router.post(
        "/api/privacy/forget",
        responses={
            400: {"description": "not a real calendar date"},
            409: {"description": "the date is in the future: nothing was forgotten"},
        },
    )
    async def forget_before(body: ForgetIn) -> ForgetOut:
        """Delete everything made before the date (hub's local midnight) and compact the database."""
        try:
            before = local_midnight(body.before, tz)
        except ForgetError as ex:
            raise HTTPException(400, str(ex)) from ex
        try:
            summary = hub.forget(before)
        except ForgetError as ex:
            raise HTTPException(409, str(ex)) from ex
        return ForgetOut.model_validate(summary.as_dict())

    @router.get("/api/privacy/export", response_class=FileResponse)
    async def export_json(fmt: Annotated[Literal["json"], Query(alias="format")] = "json") -> FileResponse:
        """Everything this hub stores about the couple as one JSON document (button keys omitted)."""
        folder = Path(tempfile.mkdtemp(prefix=".export-", dir=hub.data_dir))
        out = folder / "heartline-export.json"
        try:
            await hub.export_json(out)
        except ExportError as ex:
            shutil.rmtree(folder, ignore_errors=True)
            raise HTTPException(500, str(ex)) from ex
        return FileResponse(
            out,
            media_type="application/json",
            filename=f"heartline-export-{datetime.now(tz).date().isoformat()}.{fmt}",
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    return router
