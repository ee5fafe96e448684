"""``/api/settings``: read and change the dashboard's settings; a change applies at once.

Every rejection is one line naming the setting (``{"detail": "quiet_hours.start: ..."}``), both
for a body of the wrong shape and for a value the hub's rules refuse. The schema states the same
rules (patterns, choices, the known time zones), so a request it allows is accepted; the one rule
a schema cannot say, quiet hours ending when they start, is a 409.

Notification URLs are shown with their passwords and tokens masked (hub.delivery.phone); a URL
sent back exactly as shown stands for the stored one, so saving the page keeps the secret.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any, Final, Literal, Protocol, get_args

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from hub.config import Settings
from hub.config.settings import SettingsError
from hub.config.validate import (
    CLOCK_TIME,
    GESTURE_KINDS,
    MAX_NOTIFY_URLS,
    MAX_RETENTION_DAYS,
    MAX_URL_LENGTH,
    RETENTION_PROBLEM,
    TIME_PROBLEM,
    URL_PROBLEM,
    time_zones,
)
from hub.delivery.phone import masked_url, unmask_urls

GestureKind = Literal["thinking_of_you", "celebrate", "need_you"]
AnyKind = Literal["thinking_of_you", "celebrate", "need_you", "felt_it", "shared_moment"]
KINDS_TEXT: Final = str([k.value for k in GESTURE_KINDS])


class SettingsHub(Protocol):
    @property
    def settings(self) -> Settings: ...

    def update_settings(self, settings: Settings) -> Settings: ...


def _whole_number(value: object) -> object:
    """JSON's 30.0 is the whole number 30; true, "30" and 30.5 are mistakes."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")  # noqa: TRY004 - pydantic wants ValueError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


class _Input(BaseModel):
    """Strict, like hub.web.api's bodies: a wrong type is a mistake to report, not to coerce."""

    model_config = ConfigDict(strict=True, extra="forbid")


ClockTime = Annotated[str, Field(pattern=CLOCK_TIME, description='24-hour local time like "22:00"')]


class QuietHoursIn(_Input):
    start: ClockTime
    end: ClockTime
    break_through: Annotated[list[AnyKind], Field(max_length=5, description="kinds never held")] = [
        "need_you"
    ]


class GesturesIn(_Input):
    tap: GestureKind
    double_tap: GestureKind
    long_press: GestureKind


class SettingsIn(_Input):
    timezone: Annotated[
        str,
        Field(
            max_length=64,
            description="IANA time zone, e.g. Europe/Berlin",
            json_schema_extra={"enum": sorted(time_zones())},
        ),
    ]
    quiet_hours: QuietHoursIn | None = Field(description="null turns quiet hours off")
    gesture_meanings: GesturesIn
    notify: Annotated[
        list[Annotated[str, Field(max_length=MAX_URL_LENGTH, pattern="://")]],
        Field(max_length=MAX_NOTIFY_URLS, description="apprise URLs, e.g. ntfy://ntfy.sh/your-topic"),
    ]
    retention_days: Annotated[
        int,
        Field(ge=0, le=MAX_RETENTION_DAYS, description="0 keeps the history forever"),
        BeforeValidator(_whole_number),
    ]
    arrived_glow: bool = Field(
        default=True, description="the sender's button glows softly when a touch was delivered"
    )


class QuietHoursOut(BaseModel):
    start: str
    end: str
    break_through: list[str]


class SettingsOut(BaseModel):
    timezone: str
    quiet_hours: QuietHoursOut | None
    gesture_meanings: dict[str, str]
    notify: list[str] = Field(description="apprise URLs, their passwords and tokens masked")
    retention_days: int
    arrived_glow: bool


class SettingsProblem(BaseModel):
    detail: str = Field(description='one line naming the setting, e.g. "quiet_hours.start: ..."')


PROBLEMS: Final[dict[int | str, dict[str, Any]]] = {
    409: {"model": SettingsProblem, "description": "Quiet hours would end when they start."},
    422: {"model": SettingsProblem, "description": "A setting is not valid; the detail names it."},
}

# What to say about a wrong value, by setting (list indices left out).
ADVICE: Final = {
    "timezone": "unknown time zone; use an IANA name like 'Europe/Berlin'",
    "quiet_hours": "must be an object with start and end, or null to turn quiet hours off",
    "quiet_hours.start": TIME_PROBLEM,
    "quiet_hours.end": TIME_PROBLEM,
    "quiet_hours.break_through": f"must list kinds from {list(get_args(AnyKind))}",
    "gesture_meanings": "must map tap, double_tap and long_press to a kind",
    "gesture_meanings.tap": f"must be one of {KINDS_TEXT}",
    "gesture_meanings.double_tap": f"must be one of {KINDS_TEXT}",
    "gesture_meanings.long_press": f"must be one of {KINDS_TEXT}",
    "notify": f"must be a list of at most {MAX_NOTIFY_URLS} URLs",
    "notify[]": URL_PROBLEM,
    "retention_days": RETENTION_PROBLEM,
}


def one_line(errors: Sequence[Any]) -> str:
    """The first of pydantic's problems as "<setting>: <what to do>"."""
    if not errors:
        return "settings: not valid"
    error = errors[0]
    key, pattern = "", ""
    for part in error.get("loc", ()):
        if part == "body":
            continue
        if isinstance(part, int):
            key, pattern = f"{key}[{part}]", f"{pattern}[]"
        else:
            text = str(part)[:40]
            key, pattern = (f"{key}.{text}" if key else text), (f"{pattern}.{text}" if pattern else text)
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "settings: the body must be JSON"
    if not key:
        return "settings: must be a JSON object with the five settings"
    if kind == "missing":
        return f"{key}: is required"
    if kind == "extra_forbidden":
        return f"{key}: unknown setting"
    return f"{key}: {ADVICE.get(pattern, error.get('msg', 'not valid'))}"


class _OneLineErrors(APIRoute):
    """FastAPI's list of validation problems, said as one line naming the setting."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as ex:
                return JSONResponse({"detail": one_line(ex.errors())}, status_code=422)

        return route


def _settings_out(settings: Settings) -> SettingsOut:
    out = SettingsOut.model_validate(settings.to_json())
    out.notify = [masked_url(url) for url in out.notify]
    return out


def settings_router(hub: SettingsHub) -> APIRouter:
    router = APIRouter(route_class=_OneLineErrors)

    @router.get("/api/settings")
    async def get_settings() -> SettingsOut:
        """Quiet hours, time zone, gesture meanings, notification URLs and retention."""
        return _settings_out(hub.settings)

    @router.put("/api/settings", responses=PROBLEMS)
    async def put_settings(body: SettingsIn) -> SettingsOut:
        """Replace the settings; they are stored and apply at once, without a restart."""
        quiet = body.quiet_hours
        try:
            # The body has the stored JSON's shape: one way from JSON to settings.
            document = body.model_dump()
            document["notify"] = unmask_urls(body.notify, hub.settings.to_json()["notify"])
            return _settings_out(hub.update_settings(Settings.from_json(document)))
        except SettingsError as ex:
            conflict = quiet is not None and quiet.start == quiet.end and ex.key == "quiet_hours.end"
            raise HTTPException(409 if conflict else 422, str(ex)) from ex

    return router
