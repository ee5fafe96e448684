"""The dashboard's settings under their older import path, for the callers that still use it.

The settings live in hub.config.settings. What this adds is ``Settings.quiet()``: quiet hours as
the delivery service takes them need hub.delivery, which the config package must not import.
New code reads ``hub.delivery.quiet_hours.quiet_hours_for(settings)`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.config.schema import QuietHoursSection
from hub.config.settings import META_KEY, SettingsError, SettingsStore, settings_problems, validate_settings
from hub.config.settings import Settings as _Settings
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
from hub.delivery.quiet_hours import QuietHours, quiet_hours_for

# The names this module had.
QuietHoursSetting = QuietHoursSection
problems = settings_problems
validate = validate_settings

__all__ = [
    "CLOCK_TIME",
    "GESTURE_KINDS",
    "MAX_NOTIFY_URLS",
    "MAX_RETENTION_DAYS",
    "MAX_URL_LENGTH",
    "META_KEY",
    "RETENTION_PROBLEM",
    "TIME_PROBLEM",
    "URL_PROBLEM",
    "QuietHoursSetting",
    "Settings",
    "SettingsError",
    "SettingsStore",
    "problems",
    "time_zones",
    "validate",
]


@dataclass(frozen=True, slots=True)
class Settings(_Settings):
    """hub.config.settings.Settings, with the quiet hours as hub.delivery takes them."""

    def quiet(self) -> QuietHours | None:
        return quiet_hours_for(self)
