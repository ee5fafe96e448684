"""Render the relay's ``mosquitto.conf`` and ACL file.

Topic layout (the contract every hub follows)
=============================================

All topics live under ``hl/v1/``. Ids are opaque: a *couple id* names one pair of partners,
a *hub id* (at most 23 characters, so it is a valid MQTT 3.1.1 client id everywhere) names one
home's hub and is at the same time its MQTT client id and its broker username.
Topics never carry names, only these ids.

``hl/v1/<couple>/<hub id>/in``
    The hub's inbox. Only the hub itself may read (subscribe to) it; only its partner's hub
    may write (publish) to it. Payloads are end-to-end encrypted envelopes, QoS 1, never
    retained.
``hl/v1/<couple>/<hub id>/status``
    The hub's availability, ``online`` or ``offline``, published by the hub itself (``offline``
    also as its will). Retained: this is the ONE retained topic, so a partner that connects
    later sees the current state. Readable by the partner's hub.

Access control, with mosquitto's ACL patterns where they suffice (``%u`` is the username):

- ``pattern read hl/v1/+/%u/in`` — every hub reads its own inbox;
- ``pattern readwrite hl/v1/+/%u/status`` — every hub owns its status topic;
- per hub, because a pattern cannot say "my partner", a generated ``user <hub>`` block with
  ``topic write hl/v1/<couple>/<partner>/in`` and ``topic read hl/v1/<couple>/<partner>/status``.

Nothing else is granted: no anonymous access, no ``#`` subscriptions, no ``$SYS``, so a hub of
another couple can neither read nor write this couple's topics. The broker also replaces the
client id with the username (``use_username_as_clientid``), so no hub can take over or kick
another hub's persistent session by connecting with its client id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from hub.errors import HeartlineError

TOPIC_ROOT: Final = "hl/v1"
INBOX_LEAF: Final = "in"
STATUS_LEAF: Final = "status"
STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"

# MQTT 3.1.1 (section 3.1.3.1) only guarantees client ids of 1-23 characters; the hub id is the
# client id, so it must fit everywhere the hub may connect.
MAX_HUB_ID_LENGTH: Final = 23
# Couple ids only appear in topics; a bound keeps topics and ACL lines short.
MAX_COUPLE_ID_LENGTH: Final = 64
# Letters, digits, '-' and '_' only: no MQTT wildcards (+ #), no level separator (/), no '%'
# (ACL substitution), no ':' (password file) and no whitespace (mosquitto's config parser).
_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]+$")

# The plain-text listener is for processes on the relay machine itself; it must never be
# reachable from the network, where only the TLS listener is offered.
PLAIN_BIND_ADDRESS: Final = "127.0.0.1"
# With autosave_on_changes, autosave_interval counts changes (subscriptions, retained and
# queued messages) instead of seconds: 1 writes (and fsyncs) the database at the end of the
# broker loop turn that queued the message, milliseconds after the PUBACK, so a queued QoS 1
# message survives SIGKILL. Mosquitto's default (1800 s) loses up to half an hour of
# acknowledged messages. No mosquitto setting saves *before* the PUBACK; that
# milliseconds-wide window is covered by the sender's outbox, which keeps every message
# until the partner's receipt. The cost is a full snapshot per change: every touch rewrites the
# sessions of every couple on the relay (O(couples) bytes per touch), fine for a home relay of a
# few couples, a cliff for a hosted one: that is the hosted profile's job (below).
AUTOSAVE_INTERVAL_CHANGES: Final = 1
# The hosted profile saves on a timer instead: a snapshot every this many seconds, whatever
# happened meanwhile, so the disk writes grow with the number of couples and the time, never
# with the number of touches (docs/hosted-relay.md measures it). A broker crash loses what it
# queued since the last snapshot; nothing is lost for the couple, because the sender's hub keeps
# every signal in its outbox until the partner's receipt and resends it (hub.store.relay_queue).
# A graceful stop (SIGTERM) still saves everything.
HOSTED_AUTOSAVE_INTERVAL_S: Final = 300


class RelayProfile(StrEnum):
    """How the relay makes queued messages durable (``heartline broker setup --profile``)."""

    DURABLE = "durable"  # a snapshot after every change: one home's relay, a few couples
    HOSTED = "hosted"  # a snapshot every HOSTED_AUTOSAVE_INTERVAL_S: many couples on one broker

    @classmethod
    def parse(cls, value: str) -> RelayProfile:
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(profile.value for profile in cls)
            raise RelayConfigError("profile", value, f"use one of {choices}") from None


# Per-client queue bound while a hub is offline. 10000 is weeks of even a very affectionate
# couple's signals; past it mosquitto silently drops new messages for that hub, which is safe
# because the sender's outbox keeps every message until the partner's receipt arrives.
MAX_QUEUED_MESSAGES: Final = 10_000
# A second bound on the same queue in bytes, so one hub cannot make the broker hold
# 10000 maximum-size packets for its partner. 16 MiB holds 10000 typical (~1 KiB) envelopes.
MAX_QUEUED_BYTES: Final = 16 * 1024 * 1024
# Envelopes are a few hundred bytes; 64 KiB leaves room for growth and caps broker memory
# per packet. Clients sending more are disconnected (MQTT 5 clients are told the limit).
MAX_PACKET_SIZE: Final = 64 * 1024
# The hub protocol uses QoS 1 only (QoS 2 is not portable across the brokers we target);
# MQTT 5 clients are told, and a client publishing QoS 2 is disconnected.
MAX_QOS: Final = 1
# Sessions of hubs that never come back (a hub reset to new credentials) are freed after
# this; a hub offline for less keeps its queued messages. Mosquitto syntax: <n><h|d|w|m|y>.
PERSISTENT_CLIENT_EXPIRATION: Final = "90d"
# TLS 1.0/1.1 are deprecated (RFC 8996); 1.2 is the floor every hub's OpenSSL supports.
TLS_MIN_VERSION: Final = "tlsv1.2"
PERSISTENCE_FILE: Final = "mosquitto.db"


class RelayConfigError(HeartlineError, ValueError):
    """A relay setting that mosquitto or the topic contract cannot accept."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field}={value!r}: {problem}")
        self.field = field
        self.value = value
        self.problem = problem


def check_hub_id(hub_id: str, field: str = "hub id") -> None:
    if not _ID_RE.match(hub_id) or len(hub_id) > MAX_HUB_ID_LENGTH:
        raise RelayConfigError(
            field,
            hub_id,
            f"use 1-{MAX_HUB_ID_LENGTH} characters from A-Z a-z 0-9 '-' '_' "
            "(it is also the MQTT client id and the broker username)",
        )


def check_couple_id(couple_id: str) -> None:
    if not _ID_RE.match(couple_id) or len(couple_id) > MAX_COUPLE_ID_LENGTH:
        raise RelayConfigError(
            "couple id",
            couple_id,
            f"use 1-{MAX_COUPLE_ID_LENGTH} characters from A-Z a-z 0-9 '-' '_'",
        )


@dataclass(frozen=True, slots=True)
class Couple:
    """Two partners' hubs that may signal each other through the relay."""

    couple_id: str
    hubs: tuple[str, str]

    def __post_init__(self) -> None:
        check_couple_id(self.couple_id)
        for hub_id in self.hubs:
            check_hub_id(hub_id)
        if self.hubs[0] == self.hubs[1]:
            raise RelayConfigError("hubs", self.hubs, "a couple needs two different hub ids, one per home")

    def partner_of(self, hub_id: str) -> str:
        first, second = self.hubs
        if hub_id == first:
            return second
        if hub_id == second:
            return first
        raise KeyError(f"hub {hub_id!r} is not part of couple {self.couple_id!r}")


def inbox_topic(couple_id: str, hub_id: str) -> str:
    """The topic ``hub_id`` reads and its partner writes."""
    return f"{TOPIC_ROOT}/{couple_id}/{hub_id}/{INBOX_LEAF}"


def status_topic(couple_id: str, hub_id: str) -> str:
    """The retained availability topic ``hub_id`` publishes."""
    return f"{TOPIC_ROOT}/{couple_id}/{hub_id}/{STATUS_LEAF}"


def check_couples(couples: Iterable[Couple]) -> None:
    """Every couple id and every hub id must be unique across the whole relay."""
    seen_couples: set[str] = set()
    seen_hubs: dict[str, str] = {}
    for couple in couples:
        if couple.couple_id in seen_couples:
            raise RelayConfigError(
                "couple id", couple.couple_id, "appears twice; give each couple its own id"
            )
        seen_couples.add(couple.couple_id)
        for hub_id in couple.hubs:
            if hub_id in seen_hubs:
                raise RelayConfigError(
                    "hub id",
                    hub_id,
                    f"is in couples {seen_hubs[hub_id]!r} and {couple.couple_id!r}; "
                    "a hub (broker user) belongs to exactly one couple",
                )
            seen_hubs[hub_id] = couple.couple_id
    if not seen_couples:
        raise RelayConfigError("couples", [], "configure at least one couple")


def render_acl(couples: Sequence[Couple]) -> str:
    """The mosquitto ACL file for ``couples`` (see the module docstring for the rules)."""
    check_couples(couples)
    lines = [
        "# Heartline relay ACL, generated by hub.broker; regenerate it, do not edit it.",
        "# No topic lines before the first 'user': anonymous clients get nothing.",
        "",
        "# Every hub reads its own inbox and owns its status topic (%u = broker username).",
        f"pattern read {TOPIC_ROOT}/+/%u/{INBOX_LEAF}",
        f"pattern readwrite {TOPIC_ROOT}/+/%u/{STATUS_LEAF}",
    ]
    for couple in sorted(couples, key=lambda c: c.couple_id):
        lines += ["", f"# couple {couple.couple_id}"]
        for hub_id in couple.hubs:
            partner = couple.partner_of(hub_id)
            lines += [
                f"user {hub_id}",
                f"topic write {inbox_topic(couple.couple_id, partner)}",
                f"topic read {status_topic(couple.couple_id, partner)}",
            ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class TlsListener:
    """The network-facing listener: TLS only, server certificate from our own CA."""

    port: int
    bind_address: str
    certfile: Path
    keyfile: Path
    cafile: Path


@dataclass(frozen=True, slots=True)
class MosquittoConfig:
    """Everything :func:`render_config` needs; paths should be absolute."""

    port: int | None  # the plain-text loopback listener; None: none
    tls: TlsListener | None
    password_file: Path
    acl_file: Path
    persistence_dir: Path
    log_file: Path
    # When mosquitto starts as root it switches to this user (default 'mosquitto', which then
    # needs read access to every file here). "root" keeps it root; None leaves the line out.
    run_as: str | None = None
    profile: RelayProfile = RelayProfile.DURABLE
    # The hosted profile's snapshot period; None: HOSTED_AUTOSAVE_INTERVAL_S (benchmarks shorten it).
    autosave_interval_s: int | None = None


def _check_port(field: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise RelayConfigError(field, port, "use a TCP port between 1 and 65535")


def _config_value(field: str, value: object) -> str:
    # mosquitto's parser splits on spaces and has no quoting, so a space or newline would
    # silently truncate the value or inject another option.
    text = str(value)
    if not text or any(ch.isspace() for ch in text):
        raise RelayConfigError(
            field, text, "mosquitto.conf cannot hold empty values or whitespace; choose another"
        )
    return text


def render_config(config: MosquittoConfig) -> str:
    """The ``mosquitto.conf`` text for the relay."""
    if config.port is not None:
        _check_port("port", config.port)
    if config.port is None and config.tls is None:
        raise RelayConfigError(
            "port", None, "a relay needs a listener: give a TLS port, a local port, or both"
        )
    persistence_dir = _config_value("persistence_dir", config.persistence_dir)
    lines = [
        "# Heartline relay, generated by hub.broker; regenerate it, do not edit it.",
        "# Authentication and ACL apply to every listener alike.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {_config_value('password_file', config.password_file)}",
        f"acl_file {_config_value('acl_file', config.acl_file)}",
    ]
    if config.run_as is not None:
        lines.append(f"user {_config_value('run_as', config.run_as)}")
    lines += [
        "",
        *_persistence_lines(config),
        # mosquitto 2.x adds the '/' between location and file name itself.
        f"persistence_location {persistence_dir.rstrip('/')}",
        f"persistence_file {PERSISTENCE_FILE}",
        f"persistent_client_expiration {PERSISTENT_CLIENT_EXPIRATION}",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        f"max_packet_size {MAX_PACKET_SIZE}",
        "# Retained messages are used for the status topic only.",
        "retain_available true",
        "# Touches are tiny and latency is what the partner feels: no Nagle delay.",
        "set_tcp_nodelay true",
        "",
        f"log_dest file {_config_value('log_file', config.log_file)}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
    ]
    if config.port is not None:
        lines += [
            "",
            "# Loopback only: plain text never leaves this machine.",
            f"listener {config.port} {PLAIN_BIND_ADDRESS}",
            *_listener_common(),
        ]
    if config.tls is not None:
        tls = config.tls
        _check_port("tls_port", tls.port)
        if tls.port == config.port:
            raise RelayConfigError("tls_port", tls.port, "must differ from the plain port")
        lines += [
            "",
            "# Network-facing: TLS only, server certificate from this relay's own CA.",
            f"listener {tls.port} {_config_value('tls bind address', tls.bind_address)}",
            *_listener_common(),
            f"certfile {_config_value('certfile', tls.certfile)}",
            f"keyfile {_config_value('keyfile', tls.keyfile)}",
            f"cafile {_config_value('cafile', tls.cafile)}",
            f"tls_version {TLS_MIN_VERSION}",
            "# Hubs authenticate with username and password, not client certificates.",
            "require_certificate false",
        ]
    return "\n".join(lines) + "\n"


def _persistence_lines(config: MosquittoConfig) -> list[str]:
    if config.profile is RelayProfile.DURABLE:
        return [
            f"# Profile {config.profile}: durable before acknowledged, a save after every change",
            "# (see hub/broker/config.py).",
            "persistence true",
            "autosave_on_changes true",
            f"autosave_interval {AUTOSAVE_INTERVAL_CHANGES}",
        ]
    interval = config.autosave_interval_s or HOSTED_AUTOSAVE_INTERVAL_S
    if interval < 1:
        raise RelayConfigError("autosave_interval_s", interval, "use a whole number of seconds, at least 1")
    return [
        f"# Profile {config.profile}: a snapshot every {interval} s, not per touch; the hubs' outboxes",
        "# keep each signal until the partner's receipt (see hub/broker/config.py).",
        "persistence true",
        "autosave_on_changes false",
        f"autosave_interval {interval}",
    ]


def _listener_common() -> list[str]:
    return [
        "protocol mqtt",
        "use_username_as_clientid true",
        f"max_qos {MAX_QOS}",
    ]
