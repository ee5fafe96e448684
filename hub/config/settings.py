"""The settings a couple changes on the dashboard: a few of the config file's keys, laid over it.

Time zone (``hub.timezone``), quiet hours (``[quiet_hours]``), gesture meanings
(``[gesture_meanings]``), notification URLs (``delivery.notify``) and retention
(``privacy.retention_days``) start from the file; once saved from the dashboard they are stored as
JSON in the database's meta table, override the file's and apply at once, without a restart.
They are the schema's own types, checked by the file's own rules; a problem names the setting as
the dashboard does (``timezone``, ``quiet_hours.start``, ``notify[1]``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Final, Self

from hub.config.load import build, plain
from hub.config.schema import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_TIMEZONE,
    GestureMeanings,
    HubConfig,
    QuietHoursSection,
)
from hub.config.validate import (
    Problem,
    gesture_problems,
    notify_problems,
    quiet_hours_problems,
    retention_problems,
    timezone_problems,
)
from hub.errors import ConfigError
from hub.events import Gesture, SignalKind
from hub.store.database import Database
from hub.store.meta import MetaStore

_LOGGER = logging.getLogger(__name__)

META_KEY: Final = "settings"
# The dashboard names each setting without its table: its "timezone" is the file's hub.timezone.
SETTING_NAMES: Final = {
    "hub.timezone": "timezone",
    "delivery.notify": "notify",
    "privacy.retention_days": "retention_days",
    "delivery.arrived_glow": "arrived_glow",
}


class SettingsError(ValueError):
    """A setting is wrong: ``key`` names it, ``problem`` says what to do."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Settings:
    """The dashboard's settings: the file's values until saved, then the stored ones."""

    timezone: str = DEFAULT_TIMEZONE
    quiet_hours: QuietHoursSection | None = None
    gesture_meanings: GestureMeanings = field(default_factory=GestureMeanings)
    notify: tuple[str, ...] = ()
    retention_days: int = DEFAULT_RETENTION_DAYS
    arrived_glow: bool = True

    @classmethod
    def from_config(cls, config: HubConfig) -> Self:
        """The file's values for what the dashboard may change."""
        return cls(
            timezone=config.hub.timezone,
            quiet_hours=config.quiet_hours,
            gesture_meanings=config.gesture_meanings,
            notify=config.delivery.notify,
            retention_days=config.privacy.retention_days,
            arrived_glow=config.delivery.arrived_glow,
        )

    @classmethod
    def from_json(cls, raw: object) -> Self:
        """Build from the stored JSON shape (every setting present); SettingsError names a bad one."""
        if not isinstance(raw, Mapping):
            raise SettingsError("settings", "must be a JSON object")
        # Settings stored before the glow existed lack it: they meant its default.
        document = {"arrived_glow": True, **raw}
        try:
            return build(cls, document, "", "settings", complete=True)
        except ConfigError as ex:
            raise SettingsError(ex.key, ex.problem) from ex

    def to_json(self) -> dict[str, Any]:
        json_ready: dict[str, Any] = plain(self)
        return json_ready

    def meanings(self) -> dict[Gesture, SignalKind]:
        """What each gesture sends (valid settings only)."""
        return self.gesture_meanings.meanings()


def settings_problems(settings: Settings) -> Iterator[Problem]:
    """Every problem, as (setting, what to do): the file's rules, named as the dashboard names them."""
    quiet = settings.quiet_hours
    found = chain(
        timezone_problems(settings.timezone),
        quiet_hours_problems(quiet) if quiet is not None else (),
        gesture_problems(settings.gesture_meanings),
        notify_problems(settings.notify),
        retention_problems(settings.retention_days),
    )
    for key, problem in found:
        yield setting_name(key), problem


def setting_name(file_key: str) -> str:
    """The dashboard's name for a file key: "delivery.notify[1]" is "notify[1]"."""
    for file_name, name in SETTING_NAMES.items():
        if file_key == file_name or file_key.startswith((f"{file_name}[", f"{file_name}.")):
            return name + file_key[len(file_name) :]
    return file_key


def validate_settings(settings: Settings) -> Settings:
    """Return ``settings`` if valid; raise SettingsError naming the first wrong setting."""
    for key, problem in settings_problems(settings):
        raise SettingsError(key, problem)
    return settings


class SettingsStore:
    """The settings as JSON in the ``meta`` table under the key "settings"."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, default: Settings) -> Settings:
        """The stored settings, or ``default`` when none valid are stored."""
        stored = MetaStore(self._db).get(META_KEY)
        if stored is None:
            return default
        try:
            return validate_settings(Settings.from_json(json.loads(stored)))
        except ValueError as ex:  # SettingsError and JSONDecodeError are ValueErrors
            _LOGGER.warning("stored settings are not valid (%s); using the config file's", ex)
            return default

    def save(self, settings: Settings) -> None:
        with self._db.transaction():
            MetaStore(self._db).put(META_KEY, json.dumps(settings.to_json(), sort_keys=True))
