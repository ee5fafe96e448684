"""The ``[homeassistant]`` config table: where the couple's own Home Assistant broker is."""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from hub.errors import ConfigError

DEFAULT_MQTT_PORT: Final = 1883
DEFAULT_MQTTS_PORT: Final = 8883
# A topic level: no MQTT wildcards, no empty levels, nothing that starts with "$" (broker-reserved).
TOPIC_PREFIX_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True, slots=True)
class HomeAssistantSettings:
    broker: str  # mqtt://homeassistant.local:1883 (the HA Mosquitto add-on) or mqtts://host:8883
    username: str = ""
    password: str = ""
    discovery_prefix: str = "homeassistant"  # HA's default; change only if HA's MQTT setup did
    topic_root: str = "heartline-ha"  # state and trigger topics live under TOPIC_ROOT/HUB_ID/...
    ca_file: Path | None = None  # for mqtts:// with a private CA

    @property
    def host(self) -> str:
        return urlsplit(self.broker).hostname or "127.0.0.1"

    @property
    def tls(self) -> bool:
        return urlsplit(self.broker).scheme == "mqtts"

    @property
    def port(self) -> int:
        return urlsplit(self.broker).port or (DEFAULT_MQTTS_PORT if self.tls else DEFAULT_MQTT_PORT)


def parse_homeassistant_section(raw: dict[str, Any], source: str = "config") -> HomeAssistantSettings:
    """``[homeassistant]`` -> settings; ConfigError names the key (and never echoes the password)."""
    known = {f.name for f in fields(HomeAssistantSettings)}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(known))}"
            raise ConfigError(f"homeassistant.{key}", f"unknown key{hint}", source)
    if "broker" not in raw:
        raise ConfigError("homeassistant.broker", "is required, e.g. mqtt://homeassistant.local:1883", source)
    values: dict[str, Any] = {}
    for key in known - {"ca_file"}:
        if key in raw:
            if not isinstance(raw[key], str):
                raise ConfigError(f"homeassistant.{key}", "must be a string", source)
            values[key] = raw[key]
    if "ca_file" in raw:
        if not isinstance(raw["ca_file"], str) or not raw["ca_file"]:
            raise ConfigError("homeassistant.ca_file", "must be a path string", source)
        values["ca_file"] = Path(raw["ca_file"]).expanduser()
    settings = HomeAssistantSettings(**values)
    _check(settings, source)
    return settings


def _check(settings: HomeAssistantSettings, source: str) -> None:
    url = urlsplit(settings.broker)
    try:
        url.port  # noqa: B018 - parsing the port is the check
    except ValueError as ex:
        raise ConfigError("homeassistant.broker", "has an invalid port", source) from ex
    if url.scheme not in {"mqtt", "mqtts"} or not url.hostname:
        raise ConfigError(
            "homeassistant.broker",
            "must look like mqtt://homeassistant.local:1883 or mqtts://host:8883",
            source,
        )
    if url.scheme == "mqtt" and _is_public(url.hostname):
        raise ConfigError(
            "homeassistant.broker",
            "plaintext MQTT to a public address would expose presence; use mqtts:// or a local broker",
            source,
        )
    for key in ("discovery_prefix", "topic_root"):
        if not TOPIC_PREFIX_PATTERN.match(getattr(settings, key)):
            raise ConfigError(
                f"homeassistant.{key}",
                "must be topic levels of letters, digits, '_' or '-' (no wildcards)",
                source,
            )
    if settings.password and not settings.username:
        raise ConfigError("homeassistant.username", "is required when a password is set", source)
    if settings.ca_file is not None and not settings.ca_file.is_file():
        raise ConfigError("homeassistant.ca_file", f"{settings.ca_file} does not exist", source)


def _is_public(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name (homeassistant.local): the couple's own network, by their choice
