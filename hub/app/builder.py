"""``async with open_hub(config) as hub``: build every part of one home's hub, run its background
work as named tasks in one TaskGroup, and take it all down in order when the block ends.

The parts: the store (one SQLite database, one writer: this event loop), the BLE side
(hub.app.ble_side), presence (fed every advert by the BLE side, shared through the relay) and
the couple link (hub.app.couple_link). Data flows one way: radio -> ingest -> composer -> relay
-> partner; partner -> relay -> delivery -> button or phone, and a receipt back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Final

from hub.app.arrived import ArrivedGlow
from hub.app.ble_side import BleOptions, open_ble_side
from hub.app.couple_link import open_couple_link
from hub.app.hub import CurrentSettings, Hub
from hub.ble.care import ButtonCare
from hub.ble.ingest import AdvertIngest
from hub.ble.transport import BleTransport, make_transport
from hub.bus import UpdateBus
from hub.clock import Clock, SystemClock
from hub.config import HubConfig, Settings, SettingsStore
from hub.delivery.phone import PhoneNotifier
from hub.delivery.quiet_hours import quiet_hours_for
from hub.delivery.router import DeliveryRouter
from hub.heartbeats import Heartbeats
from hub.histogram import Histogram
from hub.presence.service import PresenceService
from hub.presence.share import PresenceSharer
from hub.presence.together import TogetherExchange, TogetherSharer
from hub.presence.wearables import WearableExchange, WearableSharer
from hub.privacy.retention import retention_task
from hub.signals.compose import SignalComposer
from hub.signals.visits import VisitButtons
from hub.store.buttons import ButtonRegistry
from hub.store.database import DiskFullError, open_database
from hub.store.meta import MetaStore
from hub.store.presence import PresenceStore
from hub.tasks import running

_LOGGER = logging.getLogger(__name__)

# Presence decides departures (silence) and writes "last seen" on this beat.
PRESENCE_TICK_S: Final = 1.0
# A command for our person's wearable at the partner's home: the relay there and back.
VISIT_RELAY_S: Final = 30.0


@contextlib.asynccontextmanager
async def open_hub(
    config: HubConfig,
    *,
    clock: Clock | None = None,
    transport: BleTransport | None = None,
    windows_clock: Clock | None = None,
) -> AsyncIterator[Hub]:
    """The hub, running; it stops when the block ends (or when one of its tasks fails).
    ``windows_clock``: the felt-it window's clock, if not ``clock`` (the scripted demo's day)."""
    clock = clock or SystemClock()
    transport = transport or make_transport(config.ble.transport)
    person = config.hub.person
    bus, heartbeats, publish_latency = UpdateBus(), Heartbeats(), Histogram()
    async with contextlib.AsyncExitStack() as stack:
        db = open_database(config.hub.data_dir)
        stack.callback(db.close)
        settings = CurrentSettings(SettingsStore(db).load(default=Settings.from_config(config)))
        registry = ButtonRegistry(db)
        for entry in config.buttons:
            registry.upsert(entry.address, entry.kind, bytes.fromhex(entry.key), entry.owner)
        presence = PresenceService(db, clock, _people_devices(config, registry), hub=config.relay.hub_id)

        phone = PhoneNotifier(list(settings.value.notify))
        care = ButtonCare(
            registry,
            clock,
            phone,
            bus,
            MetaStore(db),
            timezone=lambda: settings.value.timezone,
            person=person,
        )
        ble = await stack.enter_async_context(
            open_ble_side(
                transport,
                db,
                clock,
                heartbeats,
                options=BleOptions.from_config(config),
                listeners=(presence.on_advert, care.on_advert),  # strangers too: the radio works
            )
        )
        router = DeliveryRouter(
            person=person,
            partner=config.hub.partner,
            registry=ble.registry,
            feedback=ble.feedback,
            phone=phone,
            is_away=lambda: presence.has_left(person),
        )
        couple = await stack.enter_async_context(
            open_couple_link(
                config,
                db,
                clock,
                bus,
                heartbeats,
                reach=router,
                meanings=settings.meanings,
                quiet=quiet_hours_for(settings.value),
                # Held until home: released once presence hears them (or cannot track them).
                is_home=lambda: presence.state(person).present or not presence.devices_of(person),
                windows_clock=windows_clock,
            )
        )
        couple.link.on_publish_latency = publish_latency.observe
        sharer = PresenceSharer(couple.presence, person, presence.states, clock, share=config.presence.share)

        couple.visits.check_counters(ble.ingest.heard_elsewhere)
        people = (person, config.hub.partner)
        together = TogetherSharer(
            TogetherExchange(
                relay=couple.relay, db=db, people=people, partner_hub=config.relay.partner_hub_id
            ),
            people,
            presence.states,
        )

        partner_home = PresenceStore(db)
        # Our person's wearable at the partner's home, with them: the partner's hub writes what
        # this hub seals (an open together span there says both are at the partner's home).
        router.visit = VisitButtons(
            relay=couple.relay,
            db=db,
            feedback=ble.feedback,
            partner=config.hub.partner,
            visiting=lambda: any(
                s.person == person for s in partner_home.open_sessions(config.relay.partner_hub_id)
            ),
            within_s=config.delivery.button_confirm_timeout_s + VISIT_RELAY_S,
        )

        def wearables_changed() -> None:  # a partner's wearable registered or removed here
            ble.ingest.reload()
            presence.track(config.hub.partner, _people_devices(config, registry)[config.hub.partner])

        wearables = WearableSharer(
            WearableExchange(
                relay=couple.relay,
                db=db,
                person=person,
                partner=config.hub.partner,
                changed=wearables_changed,
            ),
            db,
            person,
            partner_online=lambda: couple.partner_hub.status.online is True,
        )
        hub = Hub(
            config=config,
            clock=clock,
            db=db,
            bus=bus,
            heartbeats=heartbeats,
            settings=settings,
            ble=ble,
            presence=presence,
            couple=couple,
            phone=phone,
            publish_latency=publish_latency,
            care=care,
        )
        async with running(ble, couple) as tasks:
            tasks.start(_touches(ble.ingest, couple.composer), "ble-ingest")
            tasks.start(_presence_ticks(presence), "presence")
            tasks.start(sharer.run(), "presence-share")
            tasks.start(wearables.run(), "wearable-share")
            tasks.start(together.run(), "together-share")
            tasks.start(retention_task(db, clock, lambda: settings.value.retention_days), "retention")
            tasks.start(care.run(), "button-care")
            glow = ArrivedGlow(
                bus=bus,
                composer=couple.composer,
                registry=ble.registry,
                feedback=ble.feedback,
                enabled=lambda: settings.value.arrived_glow,
            )
            tasks.start(glow.run(), "arrived-glow")
            _LOGGER.info("hub for %s is running", person)
            yield hub


def _people_devices(config: HubConfig, registry: ButtonRegistry) -> dict[str, list[str]]:
    people: dict[str, list[str]] = {config.hub.person: [], config.hub.partner: []}
    for button in registry.all():
        people.setdefault(button.owner, []).append(button.address)
    people[config.hub.partner].extend(a.upper() for a in config.presence.partner_devices)
    return people


async def _touches(ingest: AdvertIngest, composer: SignalComposer) -> None:
    async for event in ingest.events():
        try:
            composer.touch(event)
        except DiskFullError as ex:  # nothing of the touch was stored; the hub goes on
            _LOGGER.error("a touch on button %d was not sent: %s", event.button_id, ex)


async def _presence_ticks(presence: PresenceService) -> None:
    while True:
        await asyncio.sleep(PRESENCE_TICK_S)
        presence.tick()
