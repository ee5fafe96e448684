"""The hub's configuration: one schema for the TOML file, its ``[web]`` access control and the
settings a couple changes on the dashboard; every error is one line naming its key.

``schema`` holds the frozen dataclasses, ``load`` maps TOML onto them, ``validate`` has every rule,
``settings`` lays the dashboard's settings over the file's. This package imports nothing of the
hub above hub.errors, hub.events and hub.store.
"""

from __future__ import annotations

from hub.config.load import load_config, parse_config, parse_homeassistant_section, parse_web_section
from hub.config.schema import (
    BleSection,
    ButtonEntry,
    DeliverySection,
    GestureMeanings,
    HomeAssistantSection,
    HubConfig,
    HubSection,
    PresenceSection,
    PrivacySection,
    QuietHoursSection,
    RelaySection,
    WebSection,
)
from hub.config.settings import Settings, SettingsError, SettingsStore, settings_problems, validate_settings
from hub.config.validate import Problem, config_problems
from hub.errors import ConfigError

__all__ = [
    "BleSection",
    "ButtonEntry",
    "ConfigError",
    "DeliverySection",
    "GestureMeanings",
    "HomeAssistantSection",
    "HubConfig",
    "HubSection",
    "PresenceSection",
    "PrivacySection",
    "Problem",
    "QuietHoursSection",
    "RelaySection",
    "Settings",
    "SettingsError",
    "SettingsStore",
    "WebSection",
    "config_problems",
    "load_config",
    "parse_config",
    "parse_homeassistant_section",
    "parse_web_section",
    "settings_problems",
    "validate_settings",
]
