"""The ``[homeassistant]`` config table under the names this room had; the table's schema and
rules live in hub.config with every other table's."""

from __future__ import annotations

from hub.config.load import parse_homeassistant_section
from hub.config.schema import HomeAssistantSection

HomeAssistantSettings = HomeAssistantSection

__all__ = ["HomeAssistantSettings", "parse_homeassistant_section"]
