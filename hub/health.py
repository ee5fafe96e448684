"""How the hub is doing, as typed records: what /api/health, /metrics, systemd and the log show.

Each part has a state (an enum that code tests) and an optional one-line detail for people
("error: starting the scan failed (dbus: …)"). ``str()`` gives the text the API has always shown.
A relay that cannot work also carries a :class:`RelayProblem`: what is wrong and how to fix it,
the line the log prints once and ``/api/health`` shows as ``reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from hub.histogram import Histogram


class BleState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    # Nothing heard, and nothing should be: the only devices heard lately were the people's own
    # buttons, and they are out of range. Not a fault; the adapter is left alone.
    QUIET = "quiet"
    RECOVERING = "recovering"  # no adverts for a while: restarting the scan, then the adapter
    ERROR = "error"
    STOPPED = "stopped"


class RelayState(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"  # disconnected, and the broker or the network said why


@dataclass(frozen=True, slots=True)
class BleHealth:
    state: BleState
    detail: str | None = None

    def __str__(self) -> str:
        return f"{self.state.value}: {self.detail}" if self.detail else self.state.value


class RelayProblemKind(StrEnum):
    """Why the relay cannot work, as a stable word for code, metrics and tests."""

    TLS = "tls"  # the broker's certificate did not verify, or no TLS at that port
    LOGIN = "login"  # the broker refused the login (CONNACK): password, username, ACL
    REFUSED = "refused"  # the broker refused the connection for another reason (CONNACK)
    DNS = "dns"  # the broker's host name does not resolve
    UNREACHABLE = "unreachable"  # nothing answers at host:port (refused, timed out, no route)
    SUBSCRIBE_DENIED = "subscribe_denied"  # connected, but the broker refused the inbox (SUBACK)
    # Subscribed, but a probe the hub sent to its own inbox never came back: the broker granted
    # the subscription and filters what it delivers (mosquitto does this on an ACL read deny).
    INBOX_SILENT = "inbox_silent"


@dataclass(frozen=True, slots=True)
class RelayProblem:
    kind: RelayProblemKind
    reason: str  # what is wrong, for people: "TLS verification failed for localhost:8883 (...)"
    fix: str  # what to do about it: "set relay.ca_file to ..."

    def __str__(self) -> str:
        return f"{self.reason}; {self.fix}"


@dataclass(frozen=True, slots=True)
class RelayHealth:
    state: RelayState
    detail: str | None = None
    problem: RelayProblem | None = None

    @property
    def reason(self) -> str | None:
        return self.problem.reason if self.problem else None

    @property
    def fix(self) -> str | None:
        return self.problem.fix if self.problem else None

    def __str__(self) -> str:
        return f"{self.state.value}: {self.detail}" if self.detail else self.state.value


@dataclass(frozen=True, slots=True)
class PartnerHubStatus:
    """The partner's hub as this hub last heard it on its retained status topic.

    ``online`` is None until a status arrives (and again while this hub's own link is down: it
    cannot hear then). ``last_seen`` is when, on this hub's clock, the partner's hub was last
    known online: the moment its "online" arrived, or the moment it went offline or the link
    to it was lost; None when it has not been seen online since this hub started.
    """

    online: bool | None = None
    last_seen: datetime | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "online": self.online,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }


@dataclass(frozen=True, slots=True)
class Health:
    ble: BleHealth
    relay: RelayHealth
    outbox: int
    ingest_queue: int
    adverts_seen: int
    rejected: Mapping[str, int]
    partner: PartnerHubStatus = field(default_factory=PartnerHubStatus)

    @property
    def ok(self) -> bool:
        ble_ok = self.ble.state in {BleState.OK, BleState.QUIET}
        return ble_ok and self.relay.state is RelayState.CONNECTED

    @property
    def reason(self) -> str | None:
        """One line saying what is wrong and how to fix it; None when all is well.

        The relay's problem comes first (it names its fix); then Bluetooth's error detail.
        """
        if self.relay.problem is not None:
            return f"relay: {self.relay.problem}"
        if self.ble.state is BleState.ERROR and self.ble.detail:
            return f"ble: {self.ble.detail}"
        if self.relay.state is not RelayState.CONNECTED and self.relay.detail:
            return f"relay: {self.relay.detail}"
        return None


@dataclass(frozen=True, slots=True)
class Counters:
    """What /metrics shows beyond health: totals since start, and the signal log by fate."""

    relay_reconnects: int
    recoveries: Mapping[str, int] = field(default_factory=dict)  # BLE recovery steps taken
    scanner_errors: Mapping[str, int] = field(default_factory=dict)  # by kind
    fates: Mapping[str, int] = field(default_factory=dict)
    publish_latency: Histogram | None = None
    adverts_accepted: Mapping[str, int] = field(default_factory=dict)  # by kind: touch, listen
