"""Every rule a config value must follow, in one place, each problem one line naming its key.

``config_problems(config)`` checks a whole file, the couple key included: it must look like 32
random bytes, so a hub never starts with a key a person typed or copied from an example. The
dashboard's settings (hub.config.settings) are checked by the same rules: the functions for the
keys it may change take the bare values (``timezone_problems``, ``quiet_hours_problems``,
``gesture_problems``, ``notify_problems``, ``retention_problems``) and name them by their place
in the file.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from typing import Final
from urllib.parse import urlsplit

from hub.config.password_hash import parse_password_hash
from hub.config.schema import (
    BleSection,
    DeliverySection,
    GestureMeanings,
    HomeAssistantSection,
    HubConfig,
    PresenceSection,
    QuietHoursSection,
    RelaySection,
    WebSection,
)
from hub.errors import ConfigError
from hub.events import SignalKind

Problem = tuple[str, str]  # (key, what is wrong and what to do)

# MQTT 3.1.1 allows servers to reject client ids longer than 23 characters (section 3.1.3.1);
# hub ids double as client ids, so they must fit everywhere.
HUB_ID_PATTERN: Final = re.compile(r"^[a-z0-9]{4,23}$")
BLE_ADDRESS_PATTERN: Final = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")
# Where plaintext MQTT to the relay is allowed: exactly these names, as the docs say.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
CLOCK_TIME: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# What a gesture may mean: the three signals a person sends (felt-it and shared moments are
# the hub's own answers, never a gesture's).
GESTURE_KINDS: Final = (SignalKind.THINKING_OF_YOU, SignalKind.CELEBRATE, SignalKind.NEED_YOU)
# Bounds that keep a dashboard request (and the stored settings) small.
MAX_NOTIFY_URLS: Final = 10
MAX_URL_LENGTH: Final = 2000
MAX_RETENTION_DAYS: Final = 100_000
MAX_SESSION_HOURS: Final = 24.0 * 90
MIN_PORT: Final = 1
MAX_PORT: Final = 65535
# A button that has not confirmed a buzz in this long is not going to: the phone takes over.
MAX_CONFIRM_TIMEOUT_S: Final = 600.0
# A topic level: no MQTT wildcards, no empty levels, nothing that starts with "$" (broker-reserved).
TOPIC_PREFIX_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")

TIME_PROBLEM: Final = 'must be a 24-hour local time like "22:00"'
URL_PROBLEM: Final = "must be an apprise URL like ntfy://ntfy.sh/your-topic"
KEY_FORMAT_PROBLEM: Final = (
    "must be 64 hex characters: run `heartline setup` to write this hub's config "
    "(on the partner's hub, `heartline couple join`)"
)
RETENTION_PROBLEM: Final = f"must be 0 (keep forever) or a number of days up to {MAX_RETENTION_DAYS}"


def raise_first(problems: Iterable[Problem], source: str) -> None:
    """Raise ConfigError for the first problem, if any."""
    for key, problem in problems:
        raise ConfigError(key, problem, source)


def config_problems(config: HubConfig) -> Iterator[Problem]:
    yield from timezone_problems(config.hub.timezone)
    yield from _ble_problems(config.ble)
    yield from retention_problems(config.privacy.retention_days)
    yield from _delivery_problems(config.delivery)
    if config.quiet_hours is not None:
        yield from quiet_hours_problems(config.quiet_hours)
    yield from gesture_problems(config.gesture_meanings)
    yield from _presence_problems(config.presence)
    yield from _relay_problems(config.relay)
    yield from _button_problems(config)
    yield from web_problems(config.web)
    if config.homeassistant is not None:
        yield from homeassistant_problems(config.homeassistant)


# -- the couple key ---------------------------------------------------------------------------
#
# A couple key is 32 bytes from a CSPRNG (`heartline setup` uses secrets.token_bytes). A key typed
# or copied by a person (the old example's 5a5a..., 00112233..., "deadbeef" repeated, a hex-encoded
# passphrase) is public in effect. Four deterministic tests catch those; each rejects a true random
# key with probability below 1e-13 (computed for 32 uniform bytes), so a generated key always passes
# in practice, and tests/couple/test_couple_key.py checks many.
KEY_BYTES: Final = 32
# Random 32 bytes have ~30 distinct values; fewer than 16 has probability 3e-17.
MIN_DISTINCT_KEY_BYTES: Final = 16
# Bytes in a row with one constant step (0 = repeats, 1 = counting up, 255 = down): 8 in a row
# happen at random with probability 25 * 256**-6 ~ 9e-14.
MAX_KEY_STEP_RUN: Final = 7
# A key that repeats itself with a period up to half its length (probability ~ 256**-16).
MAX_KEY_PERIOD: Final = KEY_BYTES // 2
# Every byte printable ASCII (a passphrase in hex): (95/256)**32 ~ 2e-14.
PRINTABLE: Final = range(0x20, 0x7F)


def couple_key_problems(key: str) -> Iterator[Problem]:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", key):
        yield "relay.couple_key", KEY_FORMAT_PROBLEM
        return
    why = weak_key_reason(bytes.fromhex(key))
    if why is not None:
        yield (
            "relay.couple_key",
            (
                f"is not a random key ({why}), so others could guess it: run `heartline setup` for a "
                "new one, then invite the partner's hub again"
            ),
        )


def weak_key_reason(key: bytes) -> str | None:
    """Why ``key`` does not look like random bytes, or None when it does."""
    if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
        return f"only {len(set(key))} distinct byte values"
    run = longest = 1
    for i in range(2, len(key)):
        step_now = (key[i] - key[i - 1]) % 256
        step_before = (key[i - 1] - key[i - 2]) % 256
        run = run + 1 if step_now == step_before else 1
        longest = max(longest, run)
    if longest + 1 > MAX_KEY_STEP_RUN:
        return f"{longest + 1} bytes in a row follow one pattern"
    for period in range(1, MAX_KEY_PERIOD + 1):
        if key[period:] == key[:-period]:
            return f"it repeats every {period} bytes"
    if all(byte in PRINTABLE for byte in key):
        return "it is text, not random bytes"
    return None


# -- the keys the dashboard may change too ---------------------------------------------------


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA names this system knows (the settings API's schema lists exactly these)."""
    return frozenset(zoneinfo.available_timezones())


def timezone_problems(timezone: str) -> Iterator[Problem]:
    if timezone not in time_zones():
        shown = timezone[:64]
        yield "hub.timezone", f"unknown time zone {shown!r}; use an IANA name like 'Europe/Berlin'"


def quiet_hours_problems(quiet: QuietHoursSection) -> Iterator[Problem]:
    for key in ("start", "end"):  # the whole string: no trailing newline slips through
        if re.fullmatch(CLOCK_TIME[1:-1], getattr(quiet, key)) is None:
            yield f"quiet_hours.{key}", TIME_PROBLEM
    if quiet.start == quiet.end:
        yield "quiet_hours.end", "must differ from quiet_hours.start (remove [quiet_hours] to turn it off)"
    kinds = {kind.value for kind in SignalKind}
    for index, kind in enumerate(quiet.break_through):
        if kind not in kinds:
            yield f"quiet_hours.break_through[{index}]", f"unknown kind {kind!r}; use one of {sorted(kinds)}"


def gesture_problems(meanings: GestureMeanings) -> Iterator[Problem]:
    kinds = [kind.value for kind in GESTURE_KINDS]
    for gesture in fields(meanings):
        kind = getattr(meanings, gesture.name)
        if kind not in kinds:
            yield f"gesture_meanings.{gesture.name}", f"must be one of {kinds}, not {kind[:40]!r}"


def notify_problems(urls: Sequence[str]) -> Iterator[Problem]:
    if len(urls) > MAX_NOTIFY_URLS:
        yield "delivery.notify", f"at most {MAX_NOTIFY_URLS} notification URLs"
    for index, url in enumerate(urls):
        if "://" not in url or len(url) > MAX_URL_LENGTH:
            yield f"delivery.notify[{index}]", URL_PROBLEM


def retention_problems(days: int) -> Iterator[Problem]:
    if isinstance(days, bool) or not 0 <= days <= MAX_RETENTION_DAYS:
        yield "privacy.retention_days", RETENTION_PROBLEM


# -- the rest of the file ----------------------------------------------------------------------


def _ble_problems(ble: BleSection) -> Iterator[Problem]:
    if not ble.transport.startswith(("bluez:", "sim:")):
        yield "ble.transport", "must be 'bluez:ADAPTER' (e.g. bluez:hci0) or 'sim:HOST:PORT'"
    elif ble.transport.startswith("sim:"):
        _, _, port = ble.transport[4:].partition("/")[0].rpartition(":")
        if not port.isdigit() or not MIN_PORT <= int(port) <= MAX_PORT:
            yield (
                "ble.transport",
                f"must be 'sim:HOST:PORT[/NAME]' with PORT between {MIN_PORT} and {MAX_PORT}",
            )
    if not 2 <= ble.watchdog_silence_s <= 600:
        yield "ble.watchdog_silence_s", "must be between 2 and 600 seconds"


def _delivery_problems(delivery: DeliverySection) -> Iterator[Problem]:
    if not 0 < delivery.button_confirm_timeout_s <= MAX_CONFIRM_TIMEOUT_S:
        yield (
            "delivery.button_confirm_timeout_s",
            f"must be a positive number of seconds, at most {MAX_CONFIRM_TIMEOUT_S:.0f}",
        )
    yield from notify_problems(delivery.notify)
    if not 1 <= delivery.max_per_minute <= 600:
        yield "delivery.max_per_minute", "must be between 1 and 600 signals a minute"
    if not 0 < delivery.felt_it_window_s <= 3600:
        yield "delivery.felt_it_window_s", "must be more than 0 and at most 3600 seconds"
    if not 0 < delivery.shared_moment_s <= 60:
        yield "delivery.shared_moment_s", "must be more than 0 and at most 60 seconds"


def _presence_problems(presence: PresenceSection) -> Iterator[Problem]:
    for index, address in enumerate(presence.partner_devices):
        if not BLE_ADDRESS_PATTERN.match(address.upper()):
            yield f"presence.partner_devices[{index}]", "must be a Bluetooth address like AA:BB:CC:DD:EE:FF"


def _broker_url_problems(key: str, text: str, *, allow_plaintext: bool) -> Iterator[Problem]:
    url = urlsplit(text)
    if _bad_port(text):
        yield (
            key,
            f"has an invalid port; use one between {MIN_PORT} and {MAX_PORT} (8883 for mqtts)",
        )
    elif url.scheme not in {"mqtt", "mqtts"} or not url.hostname:
        yield key, "must look like mqtts://host:8883 (or mqtt://127.0.0.1:1883 on loopback)"
    elif url.scheme == "mqtt" and url.hostname not in LOOPBACK_HOSTS and not allow_plaintext:
        yield (
            key,
            (
                "plaintext MQTT to a non-loopback broker exposes the couple's metadata; "
                "use mqtts:// or set relay.allow_plaintext = true"
            ),
        )


def _relay_problems(relay: RelaySection) -> Iterator[Problem]:
    for key in ("hub_id", "partner_hub_id", "couple_id"):
        if not HUB_ID_PATTERN.match(getattr(relay, key)):
            yield f"relay.{key}", "must be 4-23 lowercase letters or digits (an opaque id, never a name)"
    if relay.hub_id == relay.partner_hub_id:
        yield "relay.partner_hub_id", "must differ from relay.hub_id"
    yield from couple_key_problems(relay.couple_key)
    if not relay.broker_urls:
        yield "relay.broker", "is missing: give the broker's URL (or a list in relay.urls)"
    for key, text in (
        ("relay.broker", relay.broker),
        *((f"relay.urls[{i}]", u) for i, u in enumerate(relay.urls)),
    ):
        if text:
            yield from _broker_url_problems(key, text, allow_plaintext=relay.allow_plaintext)
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
        if button.owner not in (config.hub.person, config.hub.partner):
            people = f"hub.person ({config.hub.person!r}) nor hub.partner ({config.hub.partner!r})"
            yield (
                f"buttons[{index}].owner",
                f"{button.owner!r} is neither {people}; a button is one of theirs",
            )


def web_problems(web: WebSection) -> Iterator[Problem]:
    """The dashboard's port and access control; never echoes the hash."""
    if not MIN_PORT <= web.port <= MAX_PORT:
        yield "web.port", f"must be a TCP port between {MIN_PORT} and {MAX_PORT}"
    if not 0 < web.session_hours <= MAX_SESSION_HOURS:
        yield "web.session_hours", f"must be more than 0 and at most {MAX_SESSION_HOURS:.0f}"
    if web.password_hash and parse_password_hash(web.password_hash) is None:
        yield "web.password_hash", "is not a hash from `heartline web hash-password`; run it again"
    for index, proxy in enumerate(web.trusted_proxies):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            yield (
                f"web.trusted_proxies[{index}]",
                "must be an IP address or network like 127.0.0.1 or 10.0.0.0/8",
            )
    if web.login_required and not web.password_hash:
        yield (
            "web.password_hash",
            (
                f"is required when web.listen ({web.listen}) is not loopback; "
                "create one with `heartline web hash-password`"
            ),
        )


def homeassistant_problems(ha: HomeAssistantSection) -> Iterator[Problem]:
    """The Home Assistant broker and topics; never echoes the password."""
    url = urlsplit(ha.broker)
    if _bad_port(ha.broker):
        yield "homeassistant.broker", f"has an invalid port; use one between {MIN_PORT} and {MAX_PORT}"
        return
    if url.scheme not in {"mqtt", "mqtts"} or not url.hostname:
        yield "homeassistant.broker", "must look like mqtt://homeassistant.local:1883 or mqtts://host:8883"
    elif url.scheme == "mqtt" and _is_public(url.hostname):
        yield (
            "homeassistant.broker",
            "plaintext MQTT to a public address would expose presence; use mqtts:// or a local broker",
        )
    for key in ("discovery_prefix", "topic_root"):
        if not TOPIC_PREFIX_PATTERN.match(getattr(ha, key)):
            yield f"homeassistant.{key}", "must be topic levels of letters, digits, '_' or '-' (no wildcards)"
    if ha.password and not ha.username:
        yield "homeassistant.username", "is required when a password is set"
    if ha.ca_file is not None and not ha.ca_file.is_file():
        yield "homeassistant.ca_file", f"{ha.ca_file} does not exist"


def _bad_port(url: str) -> bool:
    """True if ``url`` names a port outside MIN_PORT..MAX_PORT (or one that is no number)."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return True
    return port is not None and not MIN_PORT <= port <= MAX_PORT


def _is_public(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return False  # a name (homeassistant.local): the couple's own network, by their choice
