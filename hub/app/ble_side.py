"""This home's Bluetooth, as one part: the transport, one scanner whose every advert goes to
ingest (touches), pairing (only while one runs) and any listeners (presence), and the feedback
sender that plays a signal on a button.

``open_ble_side`` opens the adapter and builds every piece; ``start(group)`` runs its loops as
named tasks in the caller's TaskGroup; leaving the context flushes what ingest counted and
closes the adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.ble.feedback import FeedbackSender
from hub.ble.ingest import AdvertIngest
from hub.ble.pairing import SETTLE_S, Pairing
from hub.ble.scanning import DEFAULT_SILENCE_S, ScanSupervisor
from hub.ble.transport import BleTransport
from hub.clock import Clock
from hub.config import HubConfig
from hub.heartbeats import Heartbeats
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.database import Database, DiskFullError
from hub.tasks import Tasks

# Battery, RSSI and counters of adverts that caused no signal reach the disk this often.
_LOGGER = logging.getLogger(__name__)

INGEST_FLUSH_S: Final = 5.0
DEFAULT_FEEDBACK_TIMEOUT_S: Final = 5.0

AdvertListener = Callable[[BLEDevice, AdvertisementData], None]


@dataclass(frozen=True, slots=True)
class BleOptions:
    silence_s: float = DEFAULT_SILENCE_S  # no advert from anyone this long: recover the scan
    feedback_timeout_s: float = DEFAULT_FEEDBACK_TIMEOUT_S  # a button must confirm a command
    pairing_settle_s: float = SETTLE_S  # listen this long for a second button in pairing mode

    @classmethod
    def from_config(cls, config: HubConfig) -> BleOptions:
        return cls(
            silence_s=config.ble.watchdog_silence_s,
            feedback_timeout_s=config.delivery.button_confirm_timeout_s,
        )


@dataclass(frozen=True, slots=True)
class BleSide:
    transport: BleTransport
    registry: ButtonRegistry
    scanning: ScanSupervisor
    ingest: AdvertIngest
    pairing: Pairing
    feedback: FeedbackSender

    def start(self, tasks: Tasks) -> None:
        tasks.start(self.scanning.run(), "ble-scanner")
        tasks.start(self._flush_ingest(), "ble-ingest-flush")
        tasks.start(self.ingest.collect_kept(), "ble-kept-touches")

    def add_button(self, address: str, kind: str, key: bytes, owner: str) -> ButtonRecord:
        return _register(self.registry, self.ingest, address, kind, key, owner)

    def remove_button(self, button_id: int) -> bool:
        removed = self.registry.remove(button_id)
        if removed:
            self.ingest.reload()
        return removed

    async def _flush_ingest(self) -> None:
        while True:
            await asyncio.sleep(INGEST_FLUSH_S)
            try:
                self.ingest.flush()
            except DiskFullError as ex:  # kept in memory and written at a later flush
                _LOGGER.warning("buttons' last-seen counters not saved yet: %s", ex)


@contextlib.asynccontextmanager
async def open_ble_side(
    transport: BleTransport,
    db: Database,
    clock: Clock,
    heartbeats: Heartbeats,
    *,
    options: BleOptions = BleOptions(),
    listeners: Sequence[AdvertListener] = (),
) -> AsyncIterator[BleSide]:
    registry = ButtonRegistry(db)
    ingest = AdvertIngest(registry, clock)

    def register(address: str, kind: str, key: bytes, owner: str) -> ButtonRecord:
        return _register(registry, ingest, address, kind, key, owner)

    pairing = Pairing(transport, registry, clock, register=register, settle_s=options.pairing_settle_s)
    feedback = FeedbackSender(transport, registry, options.feedback_timeout_s)
    ingest.attach_collector(feedback.collect)  # touches kept out of range: read, acknowledged
    feedback.attach_acks(ingest)  # heard touches acknowledged in feedback connections
    every = (*listeners, ingest.on_advert, pairing.on_advert, feedback.on_advert)

    def heard(device: BLEDevice, advertisement: AdvertisementData) -> None:
        """Every advert, from anyone. Each listener only enqueues or counts: no I/O here."""
        for listener in every:
            listener(device, advertisement)

    await transport.open()
    try:
        yield BleSide(
            transport=transport,
            registry=registry,
            scanning=ScanSupervisor(
                transport,
                heard,
                clock,
                silence_s=options.silence_s,
                heartbeats=heartbeats,
                # The registered buttons go where their owners go: their silence alone may be
                # an empty home, not a deaf radio (hub.ble.scanning).
                carried=lambda address: registry.by_address(address) is not None,
            ),
            ingest=ingest,
            pairing=pairing,
            feedback=feedback,
        )
    finally:
        ingest.flush()
        await transport.close()


def _register(  # noqa: PLR0917 - the upsert's own four, after the two it keeps in step
    registry: ButtonRegistry, ingest: AdvertIngest, address: str, kind: str, key: bytes, owner: str
) -> ButtonRecord:
    """Register (or re-key) a button; ingest knows it from the next advert heard."""
    record = registry.upsert(address, kind, key, owner)
    ingest.reload()
    return record
