"""One home's relay stack without the radio: the hub's own couple link (Relay, MqttLink, SQLite
store, DeliveryService, built by ``hub.app.couple_link``), with a recording ``Person`` as the way
a signal reaches someone.

``Person.shown`` is what a person actually felt (one entry per button buzz or notification),
so "zero duplicates shown to a person" is a plain assertion on it. Faults come from outside:
a TCP proxy between node and broker, the broker killed by pid, ``crash()`` (the process
vanishes without a DISCONNECT), and links that lose a message or an ack at the worst moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as paho

from hub.app.couple_link import CoupleLink, open_couple_link
from hub.broker.config import Couple
from hub.bus import UpdateBus
from hub.clock import Clock, SystemClock
from hub.config import HubConfig, parse_config
from hub.delivery.quiet_hours import QuietHours
from hub.delivery.router import Outcome, Waiting
from hub.delivery.service import DeliveryService
from hub.events import DEFAULT_GESTURE_MEANINGS, Channel, Direction, Fate, SignalKind, SignalRecord
from hub.heartbeats import Heartbeats
from hub.relay.mqtt_link import Inbound, MqttLink
from hub.relay.relay import Relay
from hub.store.database import Database, open_database
from hub.store.signals import SignalLog
from hub.tasks import running
from tests.support.homes import COUPLE_KEY as HOMES_COUPLE_KEY
from tests.support.mosquitto import COUPLE, Broker
from tests.support.waiting import START_S

COUPLE_KEY: Final = HOMES_COUPLE_KEY  # one random test key (tests.support.homes)
PEOPLE: Final = ("Alex", "Sam")
# The hub waits a minute before resending a signal without a receipt; tests cannot.
FAST_RESEND_S: Final = 2.0


@dataclass
class Person:
    """Records every time the person was reached: the ground truth for duplicates."""

    shown: list[str] = field(default_factory=list)
    looks: dict[str, SignalKind] = field(default_factory=dict)
    summaries: list[list[str]] = field(default_factory=list)

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome:
        del waiting  # always reached at once
        self.shown.append(signal.id)
        self.looks[signal.id] = look or signal.kind
        return Outcome(Fate.DELIVERED, Channel.BUTTON, None)

    async def deliver_summary(self, signals: Sequence[SignalRecord], why: str) -> Outcome:
        self.summaries.append([s.id for s in signals])
        self.shown.extend(s.id for s in signals)
        return Outcome(Fate.DELIVERED, Channel.BUTTON, None)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in Counter(self.shown).items() if n > 1}


class SkewedClock:
    """The system clock, wrong by a fixed offset (a hub whose NTP never synced)."""

    def __init__(self, offset: timedelta) -> None:
        self._offset = offset
        self._system = SystemClock()

    def now(self) -> datetime:
        return self._system.now() + self._offset

    def monotonic(self) -> float:
        return self._system.monotonic()


def couple_raw(couple: Couple, hub_index: int, data_dir: Path, relay: dict[str, Any]) -> dict[str, Any]:
    """One of ``couple``'s hubs as a config file's tables, on no radio, with these ``[relay]``
    keys (the broker, the login) besides who it is."""
    return {
        "hub": {"person": PEOPLE[hub_index], "partner": PEOPLE[1 - hub_index], "data_dir": str(data_dir)},
        "ble": {"transport": "sim:127.0.0.1:9/none"},
        "relay": {
            "hub_id": couple.hubs[hub_index],
            "partner_hub_id": couple.hubs[1 - hub_index],
            "couple_id": couple.couple_id,
            "couple_key": COUPLE_KEY,
            **relay,
        },
        # Fault tests send bursts; the flood limit has its own tests.
        "delivery": {"max_per_minute": 600},
    }


def node_config(
    broker: Broker,
    hub_index: int,
    data_dir: Path,
    *,
    port: int | None = None,
    couple: Couple = COUPLE,
    password: str | None = None,
    username: str = "",
    broker_url: str | None = None,
    ca_file: Path | None = None,
    keepalive_s: int = 30,
    protocol: str = "mqtt5",
    extra: dict[str, Any] | None = None,
) -> HubConfig:
    """One of the test mosquitto's hubs (``couple``'s; by default the suite's COUPLE)."""
    relay: dict[str, Any] = {
        "broker": broker_url or f"mqtt://127.0.0.1:{port or broker.port}",
        "password": password if password is not None else broker.password(couple.hubs[hub_index]),
        "username": username,
        "keepalive_s": keepalive_s,
        "protocol": protocol,
        **({"ca_file": str(ca_file)} if ca_file else {}),
    }
    raw = couple_raw(couple, hub_index, data_dir, relay)
    for section, values in (extra or {}).items():
        raw.setdefault(section, {}).update(values)
    return parse_config(raw, "test")


class SwallowingLink(MqttLink):
    """A link whose process 'dies' right after paho received a message: never committed or acked."""

    swallow = False

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if self.swallow:
            return
        super()._on_message(client, userdata, message)


class AcklessLink(MqttLink):
    """A link whose process 'dies' between commit and PUBACK: messages are stored, never acked."""

    hold_acks = False

    def ack(self, message: Inbound) -> None:
        if not self.hold_acks:
            super().ack(message)


class RelayNode:
    """The hub's couple link (relay, delivery, the three kinds) for one home, built by the hub's
    own ``open_couple_link``, started and stopped (or crashed) at will."""

    def __init__(
        self,
        config: HubConfig,
        *,
        clock: Clock | None = None,
        person: Person | None = None,
        link_class: type[MqttLink] = MqttLink,
        resend_first_s: float = FAST_RESEND_S,
    ) -> None:
        self.config = config
        self.resend_first_s = resend_first_s
        self.clock = clock or SystemClock()
        self.person = person or Person()
        self._link_class = link_class
        self._stack: contextlib.AsyncExitStack | None = None
        self._db: Database | None = None
        self._couple: CoupleLink | None = None

    @property
    def couple(self) -> CoupleLink:
        assert self._couple is not None, "node never started"
        return self._couple

    @property
    def link(self) -> MqttLink:
        return self.couple.link

    @property
    def relay(self) -> Relay:
        return self.couple.relay

    @property
    def delivery(self) -> DeliveryService:
        return self.couple.delivery

    @property
    def db(self) -> Database:
        assert self._db is not None, "node not started"
        return self._db

    @property
    def signals(self) -> SignalLog:
        return SignalLog(self.db)

    def sent(self) -> list[SignalRecord]:
        return [s for s in self.signals.recent(100_000) if s.direction is Direction.SENT]

    def received(self) -> list[SignalRecord]:
        return [s for s in self.signals.recent(100_000) if s.direction is Direction.RECEIVED]

    async def start(self, *, wait_connected: bool = True) -> None:
        config = self.config
        stack = contextlib.AsyncExitStack()
        self._db = stack.enter_context(contextlib.closing(open_database(config.hub.data_dir)))
        self._couple = await stack.enter_async_context(
            open_couple_link(
                config,
                self._db,
                self.clock,
                UpdateBus(),
                Heartbeats(),
                reach=self.person,
                meanings=lambda: DEFAULT_GESTURE_MEANINGS,
                quiet=(
                    QuietHours.from_config(config.quiet_hours, config.hub.timezone)
                    if config.quiet_hours
                    else None
                ),
                link_factory=self._link_class,
                resend_first_s=self.resend_first_s,
            )
        )
        await stack.enter_async_context(running(self._couple))
        self._stack = stack
        if wait_connected:
            async with asyncio.timeout(START_S):
                await self.link.connected.wait()

    async def stop(self) -> None:
        """A clean shutdown: DISCONNECT sent, database closed."""
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = self._db = None  # the parts stay readable (counters) after they stopped

    async def crash(self) -> None:
        """The process vanishes: no DISCONNECT, nothing flushed beyond what was committed."""
        client = self.link._client
        await asyncio.to_thread(client.loop_stop)
        sock = client.socket()
        if sock is not None:
            sock.close()
        self.link.connected.clear()  # so leaving the link says no goodbye on the dead socket
        await self.stop()

    def reborn(self, **kwargs: Any) -> RelayNode:
        """A new process for the same home (same data dir, same person record)."""
        kwargs.setdefault("resend_first_s", self.resend_first_s)
        return RelayNode(self.config, clock=self.clock, person=self.person, **kwargs)

    def send(self, kind: SignalKind = SignalKind.THINKING_OF_YOU) -> SignalRecord:
        return self.couple.composer.send(kind)


async def started_pair(broker: Broker, tmp_path: Path) -> tuple[RelayNode, RelayNode]:
    """The suite's couple on the test mosquitto, both homes started (A in tmp_path/a, B in /b);
    the test stops them."""
    a = RelayNode(node_config(broker, 0, tmp_path / "a"))
    b = RelayNode(node_config(broker, 1, tmp_path / "b"))
    await a.start()
    await b.start()
    return a, b


def all_settled(sender: RelayNode, ids: set[str]) -> bool:
    """Every id has a receipt at the sender (delivered) and left its outbox."""
    fates = {s.id: s.fate for s in sender.sent()}
    return all(fates.get(i) is Fate.DELIVERED for i in ids) and sender.relay.outbox_depth == 0


def describe(node: RelayNode) -> str:
    """A one-line state summary for failure messages."""
    fates = Counter(s.fate.value for s in node.sent())
    rows = node.db.connection.execute(
        "SELECT COUNT(*), SUM(next_attempt_at IS NULL), MAX(attempts) FROM outbox"
    ).fetchone()
    return (
        f"{node.config.relay.hub_id}: connected={node.link.connected.is_set()} sent fates={dict(fates)} "
        f"outbox(total, unconfirmed, max attempts)={tuple(rows)} in_flight={len(node.relay._in_flight)} "
        f"received={len(node.received())} shown={len(node.person.shown)} rejected={dict(node.relay.rejected)}"
    )
