"""The couple link, as one part: the MQTT link and relay with the three kinds it carries
(signals and receipts, the hello, presence), delivery of what arrives, and the composer that
turns this home's touches into signals.

``open_couple_link`` builds every piece and starts the MQTT connection; ``start(group)`` runs the
relay and delivery loops as named tasks in the caller's TaskGroup; leaving the context says
goodbye to the broker (retained "offline") and stops paho's thread. ``partner_hub`` follows the
partner hub's retained status the link hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from hub.broker.config import STATUS_OFFLINE, STATUS_ONLINE
from hub.bus import PartnerHubUpdate, UpdateBus
from hub.clock import Clock
from hub.config import HubConfig
from hub.couple.hello import HelloExchange, pending_hello, queue_hello
from hub.couple.link import CoupleCodec
from hub.delivery.moments import Moments
from hub.delivery.quiet_hours import QuietHours
from hub.delivery.rate_limit import RateLimiter
from hub.delivery.router import Reach
from hub.delivery.service import DeliveryService
from hub.events import SignalRecord
from hub.health import PartnerHubStatus
from hub.heartbeats import Heartbeats
from hub.presence.share import PresenceExchange
from hub.relay.mqtt_link import MqttLink, MqttSettings, mqtt_settings
from hub.relay.partner_status import StatusExchange
from hub.relay.relay import Relay, RelayIdentity
from hub.signals.compose import Meanings, SignalComposer
from hub.signals.exchange import SignalExchange
from hub.signals.visits import VisitTouches
from hub.store.database import Database
from hub.store.holds import SignalLinks
from hub.store.relay_queue import RESEND_FIRST_S
from hub.store.signals import SignalLog
from hub.tasks import Tasks

_LOGGER = logging.getLogger(__name__)


class PartnerHubWatch:
    """The partner hub's status (online, offline, unknown) and when it was last known online,
    on this hub's clock; every change of ``online`` goes on the update bus."""

    def __init__(self, clock: Clock, bus: UpdateBus) -> None:
        self._clock = clock
        self._bus = bus
        self.status = PartnerHubStatus()

    def heard(self, status: str | None) -> None:
        """``status`` is "online", "offline" or None (this hub's own link went down)."""
        old, now = self.status, self._clock.now()
        if status == STATUS_ONLINE:
            new = PartnerHubStatus(online=True, last_seen=now)
        else:
            # Online until this moment, if it was online; otherwise unchanged (a retained
            # "offline" says nothing about when it was last online).
            online = False if status == STATUS_OFFLINE else None
            new = PartnerHubStatus(online=online, last_seen=now if old.online else old.last_seen)
        self.status = new
        if new.online != old.online:
            state = {True: "online", False: "offline", None: "unknown (relay link down)"}[new.online]
            _LOGGER.info("partner hub is %s", state)
            self._bus.publish(PartnerHubUpdate(new))


@dataclass(frozen=True, slots=True)
class CoupleLink:
    link: MqttLink
    relay: Relay
    signals: SignalExchange
    hello: HelloExchange
    presence: PresenceExchange
    delivery: DeliveryService
    composer: SignalComposer
    visits: VisitTouches
    arrived: asyncio.Queue[SignalRecord]  # received, committed, not yet handed to delivery
    partner_hub: PartnerHubWatch

    def start(self, tasks: Tasks) -> None:
        self.relay.start(tasks)
        tasks.start(self._hand_over(), "delivery-intake")
        tasks.start(self.delivery.run(), "delivery-run")

    async def _hand_over(self) -> None:
        """Received signals -> delivery (quiet hours, rate limit, button or phone) -> receipts."""
        while True:
            self.delivery.submit(await self.arrived.get())


def _linked(codec: CoupleCodec, data_dir: Path) -> bool:
    """The partner's hub can open what this one seals: set up by hand, or the invite's hello done."""
    if codec.state is None:
        return not codec.guarded  # an inviting hub before the first hello: nobody to tell yet
    return pending_hello(data_dir) is None


@contextlib.asynccontextmanager
async def open_couple_link(
    config: HubConfig,
    db: Database,
    clock: Clock,
    bus: UpdateBus,
    heartbeats: Heartbeats,
    *,
    reach: Reach,
    meanings: Meanings,
    quiet: QuietHours | None,
    is_home: Callable[[], bool] = lambda: True,
    windows_clock: Clock | None = None,
    link_factory: Callable[[MqttSettings], MqttLink] = MqttLink,
    resend_first_s: float = RESEND_FIRST_S,
) -> AsyncIterator[CoupleLink]:
    link = link_factory(mqtt_settings(config))
    # The couple key for hellos, the link an invite made for everything else (hub.couple.link).
    codec = CoupleCodec(
        bytes.fromhex(config.relay.couple_key),
        config.relay.hub_id,
        config.relay.partner_hub_id,
        config.hub.data_dir,
    )
    relay = Relay(
        identity=RelayIdentity(
            person=config.hub.person,
            hub_id=config.relay.hub_id,
            partner_hub_id=config.relay.partner_hub_id,
            couple_id=config.relay.couple_id,
        ),
        db=db,
        link=link,
        codec=codec,
        clock=clock,
        heartbeats=heartbeats,
        resend_first_s=resend_first_s,
    )
    arrived: asyncio.Queue[SignalRecord] = asyncio.Queue()
    moments = Moments(
        SignalLinks(db),
        windows_clock or clock,  # the felt-it window's clock (the scripted demo's runs with its day)
        felt_it_window_s=config.delivery.felt_it_window_s,
        shared_s=config.delivery.shared_moment_s,
        signals=SignalLog(db),
    )
    signals = SignalExchange(
        relay=relay, db=db, clock=clock, bus=bus, deliver=arrived.put_nowait, moments=moments
    )
    hello = HelloExchange(relay=relay, db=db, codec=codec, data_dir=config.hub.data_dir, clock=clock)
    presence = PresenceExchange(relay=relay, db=db, bus=bus)
    delivery = DeliveryService(
        db=db,
        reach=reach,
        receipts=relay.queue_receipt,
        clock=clock,
        bus=bus,
        moments=moments,
        limiter=RateLimiter(config.delivery.max_per_minute, clock),
        quiet=quiet,
        is_home=is_home,
    )
    visits = VisitTouches(relay=relay, person=config.hub.person)
    composer = SignalComposer(
        person=config.hub.person,
        db=db,
        relay=relay,
        exchange=signals,
        moments=moments,
        meanings=meanings,
        clock=clock,
        bus=bus,
        visiting=visits.hand_on,
    )
    visits.attach(composer.compose_visiting, signals.announce)
    for record in signals.undelivered():
        arrived.put_nowait(record)
    queue_hello(hello, config.hub.data_dir)  # once, after joining by an invite code
    partner_hub = PartnerHubWatch(clock, bus)
    link.on_partner_status = partner_hub.heard
    # The hubs also tell each other directly, sealed: retained status is only a hint.
    status = StatusExchange(
        relay=relay,
        clock=clock,
        on_status=link.partner_said,
        may_send=lambda: not link.closing and _linked(codec, config.hub.data_dir),
    )
    link.on_connected = status.connected
    await link.start()
    try:
        yield CoupleLink(
            link, relay, signals, hello, presence, delivery, composer, visits, arrived, partner_hub
        )
    finally:
        await link.stop()
