"""The hub's configuration as typed, frozen dataclasses: one class per TOML table.

A config file is a handful of tables (``[hub]``, ``[ble]``, ``[relay]``, ``[delivery]``, ``[web]``,
...) and a list of ``[[buttons]]``; ``HubConfig`` holds them all. The same classes carry the
``[web]`` access control (hub.web.auth enforces it) and the settings a couple changes on the
dashboard (hub.config.settings lays them over these). Loading is hub.config.load, the rules
hub.config.validate.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from hub.events import DEFAULT_GESTURE_MEANINGS, Gesture, SignalKind

# Field metadata for values that must never appear in an error message (keys, passwords, hashes).
SECRET: Final = {"secret": True}

DEFAULT_TIMEZONE: Final = "UTC"
# Forget what is older than this, once a day: a year of memories plus a month's margin.
DEFAULT_RETENTION_DAYS: Final = 400
DEFAULT_SESSION_HOURS: Final = 24.0 * 14  # two weeks: a couple's tablet should not ask every day
DEFAULT_MQTT_PORT: Final = 1883
DEFAULT_MQTTS_PORT: Final = 8883
LOOPBACK_NAMES: Final = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """True for localhost and any loopback address (127.0.0.0/8, ::1), bracketed or not."""
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class HubSection:
    person: str  # who lives in this home; shown only locally, never sent in clear
    partner: str
    data_dir: Path
    name: str = "home"
    timezone: str = DEFAULT_TIMEZONE  # the dashboard may change it (hub.config.settings)


@dataclass(frozen=True, slots=True)
class BleSection:
    # "bluez:hci0" on a Pi; "sim:HOST:PORT[/NAME]" joins a simulated air.
    transport: str = "bluez:hci0"
    # No advert from any device for this long means the scan is stuck: recovery starts.
    watchdog_silence_s: float = 20.0


@dataclass(frozen=True, slots=True)
class RelaySection:
    hub_id: str
    partner_hub_id: str
    couple_id: str
    # 64 hex characters: the couple's shared secret for end-to-end encryption
    couple_key: str = field(metadata=SECRET)
    password: str = field(metadata=SECRET)
    # mqtt://host:port (loopback only, unless allow_plaintext) or mqtts://host:port; with urls
    # given it may be left out (it is then the first of them).
    broker: str = ""
    username: str = ""  # defaults to hub_id
    ca_file: Path | None = None
    # auto: MQTT 5, falling back to 3.1.1 for a broker that refuses it (hub.relay.mqtt_link).
    protocol: Literal["auto", "mqtt5", "mqtt311"] = "auto"
    allow_plaintext: bool = False
    keepalive_s: int = 30
    session_expiry_days: int = 7
    # More brokers of one relay (a cluster's nodes), tried in turn when one is down; broker,
    # when given too, comes first.
    urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.broker and self.urls:
            object.__setattr__(self, "broker", self.urls[0])  # frozen: set once, while building

    @property
    def broker_urls(self) -> tuple[str, ...]:
        """Every broker URL, in the order the hub tries them."""
        return (self.broker, *(url for url in self.urls if url != self.broker)) if self.broker else ()


@dataclass(frozen=True, slots=True)
class DeliverySection:
    notify: tuple[str, ...] = ()  # apprise URLs for the phone; the dashboard may change them
    button_confirm_timeout_s: float = 10.0
    # A stuck button must not buzz the partner all night: past this many signals a minute the
    # rest are held and delivered as one summary once the flood stops.
    max_per_minute: int = 6
    # A tap this soon after the partner's signal was delivered (felt) answers it with "felt it".
    felt_it_window_s: float = 60.0
    # Both partners tapping within this many seconds (their creation times) is a shared moment.
    shared_moment_s: float = 5.0
    # The sender's button glows softly when the partner's receipt says a touch was delivered
    # (hub.app.arrived); the dashboard may change it.
    arrived_glow: bool = True


@dataclass(frozen=True, slots=True)
class QuietHoursSection:
    """Hold signals in the recipient's night (hub.timezone), deliver them as one summary after."""

    start: str  # "HH:MM", local time in hub.timezone
    end: str
    break_through: tuple[str, ...] = (SignalKind.NEED_YOU.value,)  # kinds never held


@dataclass(frozen=True, slots=True)
class GestureMeanings:
    """What each touch sends: one field per hub.events.Gesture, each a SignalKind value."""

    tap: str = DEFAULT_GESTURE_MEANINGS[Gesture.TAP].value
    double_tap: str = DEFAULT_GESTURE_MEANINGS[Gesture.DOUBLE_TAP].value
    long_press: str = DEFAULT_GESTURE_MEANINGS[Gesture.LONG_PRESS].value

    def meanings(self) -> dict[Gesture, SignalKind]:
        """Valid meanings only (hub.config.validate checks them)."""
        return {Gesture(f.name): SignalKind(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class PresenceSection:
    # The partner's own wearable or button addresses: this hub cannot read their encrypted
    # adverts, but hearing them is enough to know the partner is here (together time).
    partner_devices: tuple[str, ...] = ()
    # Share this home's person's presence with the partner's hub (for its delivery routing); false pauses it.
    share: bool = True


@dataclass(frozen=True, slots=True)
class PrivacySection:
    # Forget what is older than this, once a day. 0 keeps forever.
    retention_days: int = DEFAULT_RETENTION_DAYS


@dataclass(frozen=True, slots=True)
class WebSection:
    """Where the dashboard listens and who may use it: the access control hub.web.auth enforces."""

    listen: str = "127.0.0.1"  # any other address requires password_hash
    port: int = 8080
    password_hash: str = field(default="", metadata=SECRET)  # from `heartline web hash-password`
    secure_cookies: bool = False  # true when a TLS proxy serves the dashboard over HTTPS
    session_hours: float = DEFAULT_SESSION_HOURS
    require_password: bool = False  # force a login on loopback too (behind a local reverse proxy)
    metrics_public: bool = False  # let Prometheus scrape /metrics without a session (counts only)
    # Reverse proxies (addresses or networks, e.g. "127.0.0.1") whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; none by default: the login limiter counts the socket's peer.
    trusted_proxies: tuple[str, ...] = ()

    @property
    def login_required(self) -> bool:
        return self.require_password or not is_loopback(self.listen)


@dataclass(frozen=True, slots=True)
class HomeAssistantSection:
    """Where the couple's own Home Assistant broker is (optional MQTT discovery)."""

    broker: str  # mqtt://homeassistant.local:1883 (the HA Mosquitto add-on) or mqtts://host:8883
    username: str = ""
    password: str = field(default="", metadata=SECRET)
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


@dataclass(frozen=True, slots=True)
class ButtonEntry:
    address: str
    key: str = field(metadata=SECRET)  # 32 hex characters (16-byte AES key)
    owner: str
    kind: Literal["heartline", "bthome"] = "heartline"


@dataclass(frozen=True, slots=True)
class HubConfig:
    hub: HubSection
    relay: RelaySection
    ble: BleSection = field(default_factory=BleSection)
    delivery: DeliverySection = field(default_factory=DeliverySection)
    web: WebSection = field(default_factory=WebSection)
    buttons: tuple[ButtonEntry, ...] = ()
    quiet_hours: QuietHoursSection | None = None
    gesture_meanings: GestureMeanings = field(default_factory=GestureMeanings)
    presence: PresenceSection = field(default_factory=PresenceSection)
    privacy: PrivacySection = field(default_factory=PrivacySection)
    homeassistant: HomeAssistantSection | None = None

    @property
    def mqtt_username(self) -> str:
        return self.relay.username or self.relay.hub_id
