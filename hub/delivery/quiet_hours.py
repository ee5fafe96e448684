"""Quiet hours in the recipient's own time zone: when a signal waits, and until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.config.schema import QuietHoursSection
from hub.config.settings import Settings
from hub.events import SignalKind


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    zone: ZoneInfo
    break_through: frozenset[SignalKind]

    @classmethod
    def from_config(cls, section: QuietHoursSection, timezone: str) -> QuietHours:
        """From the schema's (valid) ``[quiet_hours]`` and the time zone they are in."""
        return cls(
            start=time.fromisoformat(section.start),
            end=time.fromisoformat(section.end),
            zone=ZoneInfo(timezone),
            break_through=frozenset(SignalKind(k) for k in section.break_through),
        )

    def contains(self, now: datetime) -> bool:
        local = now.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # the window spans midnight

    def release_at(self, now: datetime, kind: SignalKind) -> datetime | None:
        """None to deliver now; otherwise when these quiet hours end (UTC)."""
        if kind in self.break_through or not self.contains(now):
            return None
        local = now.astimezone(self.zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        # zoneinfo resolves an end time inside a DST gap or fold to a real instant.
        return datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.zone.key}"


def quiet_hours_for(settings: Settings) -> QuietHours | None:
    """The quiet hours the settings ask for, in their time zone; None when they are off."""
    quiet = settings.quiet_hours
    return None if quiet is None else QuietHours.from_config(quiet, settings.timezone)
