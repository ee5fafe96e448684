"""How the hub is doing, as typed records: what /api/health, /metrics, systemd and the log show.

Each part has a state (an enum that code tests) and an optional one-line detail for people
("error: starting the scan failed (dbus: …)"). ``str()`` gives the text the API has always shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hub.histogram import Histogram


class BleState(StrEnum):
    STARTING = "starting"
    OK = "ok"
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


@dataclass(frozen=True, slots=True)
class RelayHealth:
    state: RelayState
    detail: str | None = None

    def __str__(self) -> str:
        return f"{self.state.value}: {self.detail}" if self.detail else self.state.value


@dataclass(frozen=True, slots=True)
class Health:
    ble: BleHealth
    relay: RelayHealth
    outbox: int
    ingest_queue: int
    adverts_seen: int
    rejected: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return self.ble.state is BleState.OK and self.relay.state is RelayState.CONNECTED


@dataclass(frozen=True, slots=True)
class Counters:
    """What /metrics shows beyond health: totals since start, and the signal log by fate."""

    relay_reconnects: int
    recoveries: Mapping[str, int] = field(default_factory=dict)  # BLE recovery steps taken
    scanner_errors: Mapping[str, int] = field(default_factory=dict)  # by kind
    fates: Mapping[str, int] = field(default_factory=dict)
    publish_latency: Histogram | None = None
