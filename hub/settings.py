"""The settings a couple changes from the dashboard, persisted in the hub's database.

Quiet hours, time zone, gesture meanings, notification URLs and retention start from the config
file; once saved from the dashboard (``PUT /api/settings``) the stored values override the
file's and apply at once, without a restart. Every problem is one line naming the setting, with
the config file's own rules.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hub.config import HubConfig, Problem, QuietHoursSection, _quiet_hours_problems
from hub.delivery.quiet_hours import QuietHours
from hub.events import DEFAULT_GESTURE_MEANINGS, Gesture, SignalKind
from hub.store.database import Database

_LOGGER = logging.getLogger(__name__)

META_KEY: Final = "settings"
# What a gesture may mean: the three signals a person sends (felt-it and shared moments are
# the hub's own answers, never a gesture's).
GESTURE_KINDS: Final = (SignalKind.THINKING_OF_YOU, SignalKind.CELEBRATE, SignalKind.NEED_YOU)
CLOCK_TIME: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_NOTIFY_URLS: Final = 10
MAX_URL_LENGTH: Final = 2000
MAX_RETENTION_DAYS: Final = 100_000
TIME_PROBLEM: Final = 'must be a 24-hour local time like "22:00"'
URL_PROBLEM: Final = "must be an apprise URL like ntfy://ntfy.sh/your-topic"
RETENTION_PROBLEM: Final = f"must be 0 (keep forever) or a number of days up to {MAX_RETENTION_DAYS}"


class SettingsError(ValueError):
    """A setting is wrong: ``key`` names it, ``problem`` says what to do."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class QuietHoursSetting:
    start: str  # "HH:MM", local time in the settings' time zone
    end: str
    break_through: tuple[str, ...] = (SignalKind.NEED_YOU.value,)


@dataclass(frozen=True, slots=True)
class Settings:
    timezone: str = "UTC"
    quiet_hours: QuietHoursSetting | None = None
    gesture_meanings: Mapping[str, str] = field(
        default_factory=lambda: {g.value: k.value for g, k in DEFAULT_GESTURE_MEANINGS.items()}
    )
    notify: tuple[str, ...] = ()
    retention_days: int = 400

    @classmethod
    def from_config(cls, config: HubConfig) -> Settings:
        quiet = config.quiet_hours
        return cls(
            timezone=config.hub.timezone,
            quiet_hours=(
                QuietHoursSetting(quiet.start, quiet.end, tuple(quiet.break_through)) if quiet else None
            ),
            notify=tuple(config.delivery.notify),
            retention_days=config.privacy.retention_days,
        )

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Settings:
        """Build from the stored JSON shape; raises SettingsError on a bad shape."""
        try:
            quiet_raw = raw["quiet_hours"]
            quiet = (
                None
                if quiet_raw is None
                else QuietHoursSetting(
                    start=str(quiet_raw["start"]),
                    end=str(quiet_raw["end"]),
                    break_through=tuple(str(k) for k in quiet_raw["break_through"]),
                )
            )
            return cls(
                timezone=str(raw["timezone"]),
                quiet_hours=quiet,
                gesture_meanings={str(g): str(k) for g, k in dict(raw["gesture_meanings"]).items()},
                notify=tuple(str(url) for url in raw["notify"]),
                retention_days=raw["retention_days"],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as ex:
            raise SettingsError("settings", f"not a valid settings object ({ex})") from ex

    def to_json(self) -> dict[str, Any]:
        quiet = self.quiet_hours
        return {
            "timezone": self.timezone,
            "quiet_hours": (
                None
                if quiet is None
                else {"start": quiet.start, "end": quiet.end, "break_through": list(quiet.break_through)}
            ),
            "gesture_meanings": dict(self.gesture_meanings),
            "notify": list(self.notify),
            "retention_days": self.retention_days,
        }

    # -- what the hub's parts use (valid settings only) --------------------------------------

    def quiet(self) -> QuietHours | None:
        quiet = self.quiet_hours
        if quiet is None:
            return None
        section = QuietHoursSection(quiet.start, quiet.end, list(quiet.break_through))
        return QuietHours.from_config(section, self.timezone)

    def meanings(self) -> dict[Gesture, SignalKind]:
        return {Gesture(g): SignalKind(k) for g, k in self.gesture_meanings.items()}


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA names this system knows (the API's schema lists exactly these)."""
    return frozenset(zoneinfo.available_timezones())


def problems(settings: Settings) -> Iterator[Problem]:
    """Every problem, as (key, what to do); the config file's rules, with its words."""
    if settings.timezone not in time_zones():
        shown = settings.timezone[:64]
        yield "timezone", f"unknown time zone {shown!r}; use an IANA name like 'Europe/Berlin'"
    if settings.quiet_hours is not None:
        quiet = settings.quiet_hours
        for key in ("start", "end"):  # whole string: no trailing newline slips through
            if re.fullmatch(CLOCK_TIME[1:-1], getattr(quiet, key)) is None:
                yield f"quiet_hours.{key}", TIME_PROBLEM
        yield from _quiet_hours_problems(QuietHoursSection(quiet.start, quiet.end, list(quiet.break_through)))
    yield from _gesture_problems(settings.gesture_meanings)
    if len(settings.notify) > MAX_NOTIFY_URLS:
        yield "notify", f"at most {MAX_NOTIFY_URLS} notification URLs"
    for index, url in enumerate(settings.notify):
        if "://" not in url or len(url) > MAX_URL_LENGTH:
            yield f"notify[{index}]", URL_PROBLEM
    days = settings.retention_days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS:
        yield "retention_days", RETENTION_PROBLEM


def _gesture_problems(meanings: Mapping[str, str]) -> Iterator[Problem]:
    gestures = {g.value for g in Gesture}
    kinds = [k.value for k in GESTURE_KINDS]
    for gesture, kind in meanings.items():
        if gesture not in gestures:
            yield f"gesture_meanings.{gesture[:32]}", f"unknown gesture; use {sorted(gestures)}"
        elif kind not in kinds:
            yield f"gesture_meanings.{gesture}", f"must be one of {kinds}, not {kind[:40]!r}"
    for gesture in sorted(gestures - set(meanings)):
        yield f"gesture_meanings.{gesture}", f"is required (one of {kinds})"


def validate(settings: Settings) -> Settings:
    """Return ``settings`` if valid; raise SettingsError naming the first wrong setting."""
    for key, problem in problems(settings):
        raise SettingsError(key, problem)
    return settings


class SettingsStore:
    """The settings as JSON in the ``meta`` table under the key "settings"."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, default: Settings) -> Settings:
        """The stored settings, or ``default`` when none (or none valid any more) are stored."""
        row = self._db.connection.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
        if row is None:
            return default
        try:
            return validate(Settings.from_json(json.loads(row[0])))
        except ValueError as ex:  # SettingsError and JSONDecodeError are ValueErrors
            _LOGGER.warning("stored settings are not valid (%s); using the config file's", ex)
            return default

    def save(self, settings: Settings) -> None:
        value = json.dumps(settings.to_json(), sort_keys=True)
        with self._db.transaction():
            self._db.connection.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (META_KEY, value),
            )
