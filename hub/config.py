"""The hub's TOML configuration: typed, validated at start, every error one line naming the key.

A config file is a handful of tables (``[hub]``, ``[ble]``, ``[relay]``, ``[delivery]``,
``[web]``) and a list of ``[[buttons]]``. Each table maps onto a frozen dataclass below; the
loader rejects unknown keys (with a "did you mean"), wrong types and out-of-range values.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from collections.abc import Iterator
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import ConfigError
from hub.events import SignalKind
from hub.homeassistant.settings import HomeAssistantSettings, parse_homeassistant_section
from hub.web.auth import AuthSettings, parse_auth_section

# MQTT 3.1.1 allows servers to reject client ids longer than 23 characters (section 3.1.3.1);
# hub ids double as client ids, so they must fit everywhere.
MAX_CLIENT_ID: Final = 23
HUB_ID_PATTERN: Final = re.compile(r"^[a-z0-9]{4,23}$")
BLE_ADDRESS_PATTERN: Final = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
CLOCK_TIME_PATTERN: Final = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True, slots=True)
class HubSection:
    person: str  # who lives in this home; shown only locally, never sent in clear
    partner: str
    data_dir: Path
    name: str = "home"
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class BleSection:
    # "bluez:hci0" on a Pi; "sim:HOST:PORT[/NAME]" joins a simulated air.
    transport: str = "bluez:hci0"
    # No advert from any device for this long means the scan is stuck: recovery starts.
    watchdog_silence_s: float = 20.0


@dataclass(frozen=True, slots=True)
class RelaySection:
    broker: str  # mqtt://host:port (loopback only, unless allow_plaintext) or mqtts://host:port
    hub_id: str
    partner_hub_id: str
    couple_id: str
    couple_key: str  # 64 hex characters: the couple's shared secret for end-to-end encryption
    password: str
    username: str = ""  # defaults to hub_id
    ca_file: Path | None = None
    protocol: Literal["mqtt5", "mqtt311"] = "mqtt5"
    allow_plaintext: bool = False
    keepalive_s: int = 30
    session_expiry_days: int = 7


@dataclass(frozen=True, slots=True)
class DeliverySection:
    notify: list[str] = field(default_factory=list)  # apprise URLs for the phone
    button_confirm_timeout_s: float = 10.0
    # A stuck button must not buzz the partner all night: past this many signals a minute the
    # rest are held and delivered as one summary once the flood stops.
    max_per_minute: int = 6
    # A touch this soon after a signal was delivered answers it with "felt it".
    felt_it_window_s: float = 120.0
    # Both partners touching within this many seconds is a shared moment.
    shared_moment_s: float = 5.0


@dataclass(frozen=True, slots=True)
class QuietHoursSection:
    """Hold signals in the recipient's night (hub.timezone), deliver them as one summary after."""

    start: str  # "HH:MM", local time in hub.timezone
    end: str
    break_through: list[str] = field(default_factory=lambda: ["need_you"])  # kinds never held


@dataclass(frozen=True, slots=True)
class PresenceSection:
    # The partner's own wearable or button addresses: this hub cannot read their encrypted
    # adverts, but hearing them is enough to know the partner is here (together time).
    partner_devices: list[str] = field(default_factory=list)
    # Share this home's person's presence with the partner's hub (for its delivery routing); false pauses it.
    share: bool = True


@dataclass(frozen=True, slots=True)
class PrivacySection:
    # Forget what is older than this, once a day: a year of memories plus a month's margin. 0 keeps forever.
    retention_days: int = 400


@dataclass(frozen=True, slots=True)
class WebSection:
    listen: str = "127.0.0.1"  # any other address requires password_hash (hub.web.auth)
    port: int = 8080
    password_hash: str = ""  # from `heartline web hash-password`
    secure_cookies: bool = False  # true when a TLS proxy serves the dashboard over HTTPS
    session_hours: float = 336.0  # two weeks: a couple's tablet should not ask every day
    require_password: bool = False  # force a login on loopback too (behind a local reverse proxy)
    metrics_public: bool = False  # let Prometheus scrape /metrics without a session (counts only)


@dataclass(frozen=True, slots=True)
class ButtonEntry:
    address: str
    key: str  # 32 hex characters (16-byte AES key)
    owner: str
    kind: Literal["heartline", "bthome"] = "heartline"


@dataclass(frozen=True, slots=True)
class HubConfig:
    hub: HubSection
    relay: RelaySection
    ble: BleSection = field(default_factory=BleSection)
    delivery: DeliverySection = field(default_factory=DeliverySection)
    web: WebSection = field(default_factory=WebSection)
    buttons: list[ButtonEntry] = field(default_factory=list)
    quiet_hours: QuietHoursSection | None = None
    presence: PresenceSection = field(default_factory=PresenceSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    homeassistant: HomeAssistantSettings | None = None

    @property
    def auth(self) -> AuthSettings:
        web = self.web
        return AuthSettings(
            listen=web.listen,
            password_hash=web.password_hash,
            secure_cookies=web.secure_cookies,
            session_hours=web.session_hours,
            require_password=web.require_password,
            metrics_public=web.metrics_public,
        )

    @property
    def mqtt_username(self) -> str:
        return self.relay.username or self.relay.hub_id


def load_config(path: Path) -> HubConfig:
    """Read and validate ``path``; raises ConfigError naming the first wrong key."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as ex:
        raise ConfigError("-", "file not found; create it from docs/hub.example.toml", source) from ex
    except tomllib.TOMLDecodeError as ex:
        raise ConfigError("-", f"not valid TOML ({ex})", source) from ex
    return parse_config(raw, source)


def parse_config(raw: dict[str, Any], source: str = "config") -> HubConfig:
    config: HubConfig = _build(HubConfig, raw, "", source)
    _check(config, source)
    # Sections owned by their rooms validate themselves, with the same one-line errors.
    parse_auth_section(raw.get("web", {}), source)
    if "homeassistant" in raw:
        parse_homeassistant_section(raw["homeassistant"], source)
    return config


def _check(config: HubConfig, source: str) -> None:
    for problem in (*_hub_problems(config), *_relay_problems(config.relay), *_button_problems(config)):
        key, message = problem
        raise ConfigError(key, message, source)


Problem = tuple[str, str]  # (key, what is wrong and what to do)


def _hub_problems(config: HubConfig) -> Iterator[Problem]:
    try:
        ZoneInfo(config.hub.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield (
            "hub.timezone",
            f"unknown time zone {config.hub.timezone!r}; use an IANA name like 'Europe/Berlin'",
        )
    if not config.ble.transport.startswith(("bluez:", "sim:")):
        yield "ble.transport", "must be 'bluez:ADAPTER' (e.g. bluez:hci0) or 'sim:HOST:PORT'"
    if config.privacy.retention_days < 0:
        yield "privacy.retention_days", "must be 0 (keep forever) or a number of days"
    if not 2 <= config.ble.watchdog_silence_s <= 600:
        yield "ble.watchdog_silence_s", "must be between 2 and 600 seconds"
    if not 1 <= config.web.port <= 65535:
        yield "web.port", "must be a TCP port between 1 and 65535"
    yield from _delivery_problems(config)


def _delivery_problems(config: HubConfig) -> Iterator[Problem]:
    if config.delivery.button_confirm_timeout_s <= 0:
        yield "delivery.button_confirm_timeout_s", "must be a positive number of seconds"
    for index, url_text in enumerate(config.delivery.notify):
        if "://" not in url_text:
            yield f"delivery.notify[{index}]", "must be an apprise URL like ntfy://ntfy.sh/your-topic"
    if not 1 <= config.delivery.max_per_minute <= 600:
        yield "delivery.max_per_minute", "must be between 1 and 600 signals a minute"
    if not 0 < config.delivery.felt_it_window_s <= 3600:
        yield "delivery.felt_it_window_s", "must be more than 0 and at most 3600 seconds"
    if not 0 < config.delivery.shared_moment_s <= 60:
        yield "delivery.shared_moment_s", "must be more than 0 and at most 60 seconds"
    if config.quiet_hours is not None:
        yield from _quiet_hours_problems(config.quiet_hours)
    for index, address in enumerate(config.presence.partner_devices):
        if not BLE_ADDRESS_PATTERN.match(address.upper()):
            yield f"presence.partner_devices[{index}]", "must be a Bluetooth address like AA:BB:CC:DD:EE:FF"


def _quiet_hours_problems(quiet: QuietHoursSection) -> Iterator[Problem]:
    for key in ("start", "end"):
        if not CLOCK_TIME_PATTERN.match(getattr(quiet, key)):
            yield f"quiet_hours.{key}", 'must be a 24-hour local time like "22:00"'
    if quiet.start == quiet.end:
        yield "quiet_hours.end", "must differ from quiet_hours.start (remove [quiet_hours] to turn it off)"
    kinds = {kind.value for kind in SignalKind}
    for index, kind in enumerate(quiet.break_through):
        if kind not in kinds:
            yield f"quiet_hours.break_through[{index}]", f"unknown kind {kind!r}; use one of {sorted(kinds)}"


def _relay_problems(relay: RelaySection) -> Iterator[Problem]:
    for key in ("hub_id", "partner_hub_id", "couple_id"):
        if not HUB_ID_PATTERN.match(getattr(relay, key)):
            yield f"relay.{key}", "must be 4-23 lowercase letters or digits (an opaque id, never a name)"
    if relay.hub_id == relay.partner_hub_id:
        yield "relay.partner_hub_id", "must differ from relay.hub_id"
    if not re.fullmatch(r"[0-9a-fA-F]{64}", relay.couple_key):
        yield "relay.couple_key", "must be 64 hex characters; 'heartline couple join' writes it"
    url = urlsplit(relay.broker)
    if url.scheme not in {"mqtt", "mqtts"} or not url.hostname:
        yield "relay.broker", "must look like mqtts://host:8883 (or mqtt://127.0.0.1:1883 on loopback)"
    elif url.scheme == "mqtt" and url.hostname not in LOOPBACK_HOSTS and not relay.allow_plaintext:
        yield (
            "relay.broker",
            (
                "plaintext MQTT to a non-loopback broker exposes the couple's metadata; "
                "use mqtts:// or set relay.allow_plaintext = true"
            ),
        )
    if relay.ca_file is not None and not relay.ca_file.is_file():
        yield "relay.ca_file", f"{relay.ca_file} does not exist"
    if not 5 <= relay.keepalive_s <= 600:
        yield "relay.keepalive_s", "must be between 5 and 600 seconds"
    if not 1 <= relay.session_expiry_days <= 60:
        yield "relay.session_expiry_days", "must be between 1 and 60 days"


def _button_problems(config: HubConfig) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, button in enumerate(config.buttons):
        if not BLE_ADDRESS_PATTERN.match(button.address.upper()):
            yield f"buttons[{index}].address", "must be a Bluetooth address like AA:BB:CC:DD:EE:FF"
        if button.address.upper() in seen:
            yield f"buttons[{index}].address", f"{button.address} is listed twice"
        seen.add(button.address.upper())
        if not re.fullmatch(r"[0-9a-fA-F]{32}", button.key):
            yield f"buttons[{index}].key", "must be 32 hex characters (the button's 16-byte key)"


# -- a small, strict mapping from TOML tables onto the dataclasses above --------------------


def _build(cls: type[Any], table: object, prefix: str, source: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(prefix.rstrip(".") or "-", "must be a table", source)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
            raise ConfigError(f"{prefix}{key}", f"unknown key{hint}", source)
    values: dict[str, Any] = {}
    for name, spec in known.items():
        key = f"{prefix}{name}"
        if name in table:
            values[name] = _coerce(hints[name], table[name], key, source)
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise ConfigError(key, "is required", source)
    return cls(**values)


def _coerce(hint: Any, value: object, key: str, source: str) -> Any:  # noqa: C901, PLR0911, PLR0912
    origin = get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in get_args(hint) if a is not type(None)]
        return _coerce(options[0], value, key, source)
    if origin is Literal:
        if value not in get_args(hint):
            allowed = ", ".join(repr(a) for a in get_args(hint))
            raise ConfigError(key, f"must be one of {allowed}, not {value!r}", source)
        return value
    if origin is list:
        (item,) = get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(key, "must be a list", source)
        return [_coerce(item, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, not {value!r}", source)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be a whole number, not {value!r}", source)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, not {value!r}", source)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, not {value!r}", source)
        return value
    if hint is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(key, "must be a path string", source)
        return Path(value).expanduser()
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        return _build(hint, value, f"{key}.", source)
    raise TypeError(f"config field {key} has unsupported type {hint!r}")  # a bug, not bad input
