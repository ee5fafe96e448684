"""``GET /api/presence`` and ``GET /api/stats``: who is home now, and the couple's gentle numbers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel

from hub.app.interface import HubInterface

# Days of history /api/stats covers unless asked; hub.stats.report (numpy) loads on first use.
DEFAULT_DAYS = 28


class PersonNow(BaseModel):
    person: str
    present: bool  # home or leaving: their session is open
    since: str | None
    devices: int  # how many of their devices this hub listens for (0: it cannot tell)
    # "home", "leaving" (still home, silent long enough that a departure is being confirmed),
    # "away"; "unknown" when this hub cannot hear them or has not heard them yet.
    state: Literal["home", "leaving", "away", "unknown"] = "unknown"


class SessionOut(BaseModel):
    person: str
    arrived_at: str
    left_at: str | None
    duration_s: float | None
    confidence: float


class PartnerPresenceOut(BaseModel):
    """What the partner's hub last shared: whether they are home there, and since when."""

    person: str
    present: bool
    since: str | None
    reported_at: str  # when their hub sent it
    seq: int


class PresenceOut(BaseModel):
    hub: str
    sharing: bool
    people: list[PersonNow]
    sessions_today: list[SessionOut]
    partner: PartnerPresenceOut | None = None  # None until the partner's hub has shared


class StatsOut(BaseModel):
    days: int
    first_day: str
    timezone: str
    presence_hours_by_day: dict[str, list[float]]
    together_hours_by_day: list[float]
    together_hours_by_week: list[float]
    together_streak_days: int
    together_streak_best_days: int
    together_hour_of_week: list[float]
    touches_sent: dict[str, int]
    touches_received: dict[str, int]
    felt_it_sent_count: int = 0  # "felt it" replies this home sent
    felt_it_sent_median_s: float | None = None
    felt_it_received_count: int = 0  # replies from the partner
    felt_it_received_median_s: float | None = None
    shared_moments: int = 0
    summary: list[str]


def presence_router(hub: HubInterface) -> APIRouter:
    router = APIRouter()

    @router.get("/api/presence")
    async def presence() -> PresenceOut:
        """Who is near this hub now, and today's sessions (arrive, leave, duration, confidence)."""
        tz = ZoneInfo(hub.settings.timezone)  # the dashboard may have changed it
        now = hub.clock.now()
        midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        sessions = hub.presence.sessions_since(midnight)
        shared = hub.partner_presence()
        return PresenceOut(
            partner=PartnerPresenceOut.model_validate(shared.to_json()) if shared else None,
            hub=hub.config.hub.name,
            sharing=True,
            people=_people(hub),
            sessions_today=[
                SessionOut(
                    person=s.person,
                    arrived_at=s.arrived_at.isoformat(),
                    left_at=s.left_at.isoformat() if s.left_at else None,
                    duration_s=_duration(s.arrived_at, s.left_at, now),
                    confidence=s.confidence,
                )
                for s in sessions
            ],
        )

    @router.get("/api/stats")
    async def stats(days: Annotated[int, Query(ge=1, le=366)] = DEFAULT_DAYS) -> StatsOut:
        """Presence and together time per day and week, touches, streaks, the week's pattern."""
        return StatsOut.model_validate(hub.stats(days))

    return router


def _people(hub: HubInterface) -> list[PersonNow]:
    service = hub.presence
    people = []
    for person in (hub.config.hub.person, hub.config.hub.partner):
        devices = service.devices_of(person)
        state = service.state(person) if devices else None
        people.append(
            PersonNow(
                person=person,
                present=bool(state and state.present),
                since=state.since.isoformat() if state and state.since else None,
                devices=devices,
                state="unknown" if state is None or not (state.present or state.since) else state.word,
            )
        )
    return people


def _duration(arrived: datetime, left: datetime | None, now: datetime) -> float:
    return max(timedelta(0), (left or now) - arrived).total_seconds()
