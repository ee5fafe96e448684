"""The hub: wires ingest, relay, delivery and store together and runs them as named tasks.

Data flows one way: radio -> ingest (decode, authenticate, de-duplicate) -> touch events ->
relay (outbox -> MQTT -> partner) ; partner -> relay (inbox) -> delivery -> receipt.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.ble.feedback import FeedbackSender
from hub.ble.ingest import AdvertIngest
from hub.ble.pairing import Pairing
from hub.ble.scanning import ScanSupervisor
from hub.ble.transport import BleTransport, make_transport
from hub.broker.config import inbox_topic, status_topic
from hub.bus import UpdateBus
from hub.clock import Clock, SystemClock
from hub.config import HubConfig
from hub.couple.hello import queue_hello
from hub.couple.ledger import InviteLedger
from hub.delivery.moments import Moments
from hub.delivery.phone import PhoneNotifier
from hub.delivery.rate_limit import RateLimiter
from hub.delivery.router import DeliveryRouter
from hub.delivery.service import DeliveryService
from hub.events import SignalKind, SignalRecord, TouchEvent
from hub.presence.service import PresenceService
from hub.privacy.retention import retention_task
from hub.relay.envelope import EnvelopeCodec
from hub.relay.mqtt_link import MqttLink, MqttSettings
from hub.relay.presence_share import PresenceSharer
from hub.relay.relay import Relay, RelayIdentity
from hub.settings import Settings, SettingsStore, validate
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database, open_database
from hub.store.holds import SignalLinks
from hub.store.signals import SignalLog
from hub.systemd import Heartbeats
from hub.web.metrics import Histogram

_LOGGER = logging.getLogger(__name__)

SECONDS_PER_DAY: Final = 86_400
DEFAULT_MQTT_PORT: Final = 1883
DEFAULT_MQTTS_PORT: Final = 8883
# Presence decides departures (silence) and writes "last seen" on this beat.
PRESENCE_TICK_S: Final = 1.0
# Battery, RSSI and counters of adverts that caused no signal reach the disk this often.
INGEST_FLUSH_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Health:
    ble: str  # "ok" | "starting" | "error: ..."
    relay: str  # "connected" | "disconnected" | "error: ..."
    outbox: int
    ingest_queue: int
    adverts_seen: int
    rejected: dict[str, int]


def mqtt_settings(config: HubConfig) -> MqttSettings:
    relay = config.relay
    url = urlsplit(relay.broker)
    tls: ssl.SSLContext | None = None
    if url.scheme == "mqtts":
        tls = ssl.create_default_context(cafile=str(relay.ca_file) if relay.ca_file else None)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
    return MqttSettings(
        host=url.hostname or "127.0.0.1",
        port=url.port or (DEFAULT_MQTTS_PORT if tls else DEFAULT_MQTT_PORT),
        client_id=relay.hub_id,
        username=config.mqtt_username,
        password=relay.password,
        tls=tls,
        protocol=relay.protocol,
        keepalive_s=relay.keepalive_s,
        session_expiry_s=relay.session_expiry_days * SECONDS_PER_DAY,
        subscriptions=(inbox_topic(relay.couple_id, relay.hub_id),),
        status_topic=status_topic(relay.couple_id, relay.hub_id),
    )


class Hub:
    """One home's hub. ``run()`` until cancelled; ``ready`` is set once everything is up."""

    def __init__(
        self,
        config: HubConfig,
        *,
        clock: Clock | None = None,
        transport: BleTransport | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.transport = transport or make_transport(config.ble.transport)
        self.bus = UpdateBus()
        self.ready = asyncio.Event()
        self._scanning: ScanSupervisor | None = None
        self._db: Database | None = None
        self._relay: Relay | None = None
        self._link = MqttLink(mqtt_settings(config))
        self._ingest: AdvertIngest | None = None
        self._presence: PresenceService | None = None
        self._pairing: Pairing | None = None
        self._delivery: DeliveryService | None = None
        self._phone: PhoneNotifier | None = None
        # What the dashboard edits: the config file's values until settings are saved, then the
        # stored ones (loaded at start, applied to the running parts on every change).
        self.settings = Settings.from_config(config)
        # Each long-running loop promises its next beat; systemd's watchdog is fed only while
        # every promise is kept (hub.systemd), so a wedged loop gets the hub restarted.
        self.heartbeats = Heartbeats()
        self.publish_latency = Histogram()
        self._link.on_publish_latency = self.publish_latency.observe
        self._deliveries: asyncio.Queue[SignalRecord] = asyncio.Queue()
        self.on_touch: list[Callable[[TouchEvent], Awaitable[None] | None]] = []

    # -- parts, available once run() has opened them ----------------------------------------

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the hub is not running")
        return self._db

    @property
    def relay(self) -> Relay:
        if self._relay is None:
            raise RuntimeError("the hub is not running")
        return self._relay

    @property
    def pairing(self) -> Pairing:
        if self._pairing is None:
            raise RuntimeError("the hub is not running")
        return self._pairing

    @property
    def link(self) -> MqttLink:
        return self._link

    @property
    def scanning(self) -> ScanSupervisor | None:
        return self._scanning

    @property
    def presence(self) -> PresenceService:
        if self._presence is None:
            raise RuntimeError("the hub is not running")
        return self._presence

    @property
    def registry(self) -> ButtonRegistry:
        return ButtonRegistry(self.db)

    @property
    def signals(self) -> SignalLog:
        return SignalLog(self.db)

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        config = self.config
        self._db = open_database(config.hub.data_dir)
        try:
            self.settings = SettingsStore(self._db).load(default=Settings.from_config(config))
            settings = self.settings
            registry = ButtonRegistry(self._db)
            for entry in config.buttons:
                registry.upsert(entry.address, entry.kind, bytes.fromhex(entry.key), entry.owner)
            self._ingest = AdvertIngest(registry, self.clock)
            self._pairing = Pairing(self.transport, registry, self.clock, register=self.add_button)
            self._presence = PresenceService(
                self._db, self.clock, self._people_devices(registry), hub=config.relay.hub_id
            )
            moments = Moments(
                SignalLinks(self._db),
                self.clock,
                felt_it_window_s=config.delivery.felt_it_window_s,
                shared_s=config.delivery.shared_moment_s,
            )
            self._relay = Relay(
                identity=RelayIdentity(
                    person=config.hub.person,
                    hub_id=config.relay.hub_id,
                    partner_hub_id=config.relay.partner_hub_id,
                    couple_id=config.relay.couple_id,
                ),
                db=self._db,
                link=self._link,
                codec=EnvelopeCodec(
                    bytes.fromhex(config.relay.couple_key),
                    config.relay.hub_id,
                    config.relay.partner_hub_id,
                ),
                clock=self.clock,
                bus=self.bus,
                deliver=self._deliveries.put_nowait,
                shape=moments.shape,
                heartbeats=self.heartbeats,
                invites=InviteLedger(config.hub.data_dir),
            )
            self._phone = PhoneNotifier(list(settings.notify))
            delivery = DeliveryService(
                db=self._db,
                reach=DeliveryRouter(
                    person=config.hub.person,
                    partner=config.hub.partner,
                    registry=registry,
                    feedback=FeedbackSender(
                        self.transport, registry, config.delivery.button_confirm_timeout_s
                    ),
                    phone=self._phone,
                    is_away=self._person_is_away,
                ),
                receipts=self._relay.queue_receipt,
                clock=self.clock,
                bus=self.bus,
                moments=moments,
                limiter=RateLimiter(config.delivery.max_per_minute, self.clock),
                quiet=settings.quiet(),
            )
            self._delivery = delivery
            for record in self._relay.recover():
                self._deliveries.put_nowait(record)
            queue_hello(self._relay, config.hub.data_dir)  # once, after joining by an invite code
            await self.transport.open()
            self._scanning = ScanSupervisor(
                self.transport,
                self._on_advert,
                self.clock,
                silence_s=config.ble.watchdog_silence_s,
                heartbeats=self.heartbeats,
            )
            await self._link.start()
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._scanning.run(), name="ble-scanner")
                    group.create_task(self._touches(), name="ble-ingest")
                    group.create_task(self._flush_ingest(), name="ble-ingest-flush")
                    group.create_task(self._presence_ticks(), name="presence")
                    group.create_task(
                        PresenceSharer(
                            self._relay, self._presence.states, self.clock, share=config.presence.share
                        ).run(),
                        name="presence-share",
                    )
                    group.create_task(
                        retention_task(self._db, self.clock, self._retention_days), name="retention"
                    )
                    group.create_task(self._relay.run(), name="relay")
                    group.create_task(self._deliver(delivery), name="delivery")
                    self.ready.set()
                    _LOGGER.info("hub for %s is running", config.hub.person)
            finally:
                self._ingest.flush()
                await self._link.stop()
                await self.transport.close()
        finally:
            self.ready.clear()
            self._db.close()

    def _person_is_away(self) -> bool:
        """Presence knows this home's person left (not merely "not heard yet")."""
        presence, person = self._presence, self.config.hub.person
        if presence is None or not presence.devices_of(person):
            return False
        state = presence.state(person)
        return not state.present and state.since is not None

    def _people_devices(self, registry: ButtonRegistry) -> dict[str, list[str]]:
        people: dict[str, list[str]] = {self.config.hub.person: [], self.config.hub.partner: []}
        for button in registry.all():
            people.setdefault(button.owner, []).append(button.address)
        people[self.config.hub.partner].extend(a.upper() for a in self.config.presence.partner_devices)
        return people

    def _on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """Every advert, from anyone: presence hears it (strangers too: they prove the radio
        works), ingest decides whether it is a touch. Both only enqueue or count: no I/O."""
        assert self._presence is not None
        assert self._ingest is not None
        assert self._pairing is not None
        self._presence.observe(device.address.upper(), advertisement.rssi, self.clock.monotonic())
        self._ingest.on_advert(device, advertisement)
        self._pairing.on_advert(device, advertisement)  # free unless a pairing is running

    async def _presence_ticks(self) -> None:
        assert self._presence is not None
        while True:
            await asyncio.sleep(PRESENCE_TICK_S)
            self._presence.tick()

    async def _flush_ingest(self) -> None:
        assert self._ingest is not None
        while True:
            await asyncio.sleep(INGEST_FLUSH_S)
            self._ingest.flush()

    async def _touches(self) -> None:
        assert self._ingest is not None
        async for event in self._ingest.events():
            kind = self.settings.meanings()[event.gesture]
            _LOGGER.info("touch %s from button %d -> %s", event.gesture.value, event.button_id, kind.value)
            self.bus.publish(
                {
                    "type": "touch",
                    "button": event.button_id,
                    "gesture": event.gesture.value,
                    "owner": event.owner,
                },
            )
            # The advert counter becomes durable together with the signal it caused: after a
            # crash either both exist or neither does, so a replayed advert cannot resend it.
            with self.db.transaction():
                self.registry.record_seen(
                    event.button_id, event.counter, event.at, battery=event.battery, rssi=event.rssi
                )
                if event.owner == self.config.hub.person:
                    self.send(kind)
            for callback in self.on_touch:
                result = callback(event)
                if result is not None:
                    await result

    async def _deliver(self, delivery: DeliveryService) -> None:
        """Received signals -> delivery (quiet hours, rate limit, button or phone) -> receipts."""

        async def hand_over() -> None:
            while True:
                delivery.submit(await self._deliveries.get())

        async with asyncio.TaskGroup() as group:
            group.create_task(hand_over(), name="delivery-intake")
            group.create_task(delivery.run(), name="delivery-run")

    async def relay_connected(self) -> None:
        """Wait until the relay's MQTT session is up (the hub must be running)."""
        await self._link.connected.wait()

    def _retention_days(self) -> int:
        return self.settings.retention_days

    # -- what the web app and CLI use -------------------------------------------------------

    def update_settings(self, settings: Settings) -> Settings:
        """Validate, store and apply new settings at once (SettingsError names a wrong one)."""
        validate(settings)
        SettingsStore(self.db).save(settings)
        self.settings = settings
        if self._phone is not None:
            self._phone.reconfigure(list(settings.notify))
        if self._delivery is not None:
            self._delivery.set_quiet(settings.quiet())
        _LOGGER.info("settings changed and applied")
        return settings

    def send(self, kind: SignalKind) -> SignalRecord:
        return self.relay.send_signal(kind)

    def add_button(self, address: str, kind: str, key: bytes, owner: str) -> ButtonRecord:
        record = self.registry.upsert(address, kind, key, owner)
        if self._ingest is not None:
            self._ingest.reload()
        return record

    def remove_button(self, button_id: int) -> bool:
        removed = self.registry.remove(button_id)
        if removed and self._ingest is not None:
            self._ingest.reload()
        return removed

    def health(self) -> Health:
        link, ingest = self._link, self._ingest
        relay_state = "stopped"
        if self._relay is not None:
            relay_state = (
                "connected"
                if link.connected.is_set()
                else (f"error: {link.last_error}" if link.last_error else "disconnected")
            )
        rejected: dict[str, Any] = {}
        if ingest is not None:
            rejected.update({f"advert_{k}": v for k, v in ingest.rejected.items()})
        if self._relay is not None:
            rejected.update({f"relay_{k}": v for k, v in self._relay.rejected.items()})
        return Health(
            ble=self._scanning.state if self._scanning else "stopped",
            relay=relay_state,
            outbox=self._relay.outbox_depth if self._relay else 0,
            ingest_queue=ingest.queue_depth if ingest else 0,
            adverts_seen=ingest.adverts_seen if ingest else 0,
            rejected=rejected,
        )
