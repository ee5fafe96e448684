"""From bleak's detection callback to authenticated, de-duplicated touch events.

The callback runs on the event loop and must never block: it only filters by address and
enqueues. A single consumer decodes with ``bthome-ble`` (which decrypts AES-CCM), checks the
advert counter against the last accepted one, and emits ``TouchEvent``s. Every advert that is
not turned into an event is counted under one reason, so nothing disappears unexplained.

A sleepy button's *listen advert* (hardware/ble-spec.md: the idle advert plus the Heartline
service data, version and listen period) is a known kind, not a touch: it is checked in the
callback (three bytes), counted in ``accepted["listen"]`` (a malformed one under a reason of its
own) and updates the button's last seen and RSSI, which button care reads for "not heard for a
day". The hub's feedback and presence read its period themselves.

Touches made out of range (``device/keep.py``): a button keeps every touch until a hub
acknowledges it, and its idle or listen advert says how many it keeps. A touch heard in range
costs no connection: its acknowledgement waits for one the hub makes anyway (the feedback
sender asks ``ack_due`` after a feedback command) or for a batch. Ingest collects when the count
says the button keeps touches the hub never heard (more than it heard and has not acknowledged),
when the count reaches ``keep.ACK_AT`` (half the bound, so touches made away always find room),
or when a touch advert's counter skips one (a touch was missed): it asks its collector (the
feedback sender's ``collect``: an authenticated ``OP_ACK`` write, then the sealed kept list) for
the touches after the last one it has, turns each into a ``TouchEvent`` with ``made_at`` (the
hub's time minus the age the button reported) in counter order, and once the consumer has
handled them acknowledges them, so the button forgets them. A gapped advert itself is taken
from the kept list, never from the air, so the last accepted counter always means "every touch
up to here": the acknowledgement is that counter. Touches the button dropped beyond its bound
are logged and counted (``rejected["kept_dropped"]``), never silent. With no collector (unit
tests, tools) a gapped advert is accepted as before.

Replay state lives in memory so the hot path never waits on the disk. It reaches SQLite two
ways: a touch's counter is committed in the same transaction as the signal it causes (the hub
does that), and everything else (battery, RSSI, counters of adverts without an event) is
written by ``flush()`` every few seconds and at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData, DeviceKey, SensorDeviceClass, SensorUpdate
from habluetooth import BluetoothServiceInfoBleak

from device import bthome, gatt, keep, sleep
from hub.ble.feedback import KeptList
from hub.clock import Clock
from hub.errors import FeedbackError
from hub.events import Gesture, TouchEvent
from hub.store.buttons import ButtonRecord, ButtonRegistry

_LOGGER = logging.getLogger(__name__)

BTHOME_UUID: Final = "0000fcd2-0000-1000-8000-00805f9b34fb"
# BTHome v2 device-information byte: bit 0 says the payload is encrypted.
BTHOME_ENCRYPTED_FLAG: Final = 0x01
# Encrypted BTHome v2: device info (1) + at least one object (2) + counter (4) + MIC (4).
BTHOME_MIN_ENCRYPTED_LEN: Final = 11
# Adverts arrive in bursts (each event is repeated so a lossy radio still gets one through);
# 1,024 queued adverts is several seconds of a flood from hundreds of devices.
QUEUE_SIZE: Final = 1024
# bthome-ble's event types for a button (its names for BTHome's event ids), mapped onto our gestures.
_GESTURES: Final[dict[str, Gesture]] = {
    "press": Gesture.TAP,
    "double_press": Gesture.DOUBLE_TAP,
    "long_press": Gesture.LONG_PRESS,
}
# The BTHome button events a kept list carries (device/bthome.py), as our gestures.
_KEPT_GESTURES: Final[dict[int, Gesture]] = {
    bthome.EVENT_PRESS: Gesture.TAP,
    bthome.EVENT_DOUBLE_PRESS: Gesture.DOUBLE_TAP,
    bthome.EVENT_LONG_PRESS: Gesture.LONG_PRESS,
}
# A kept touch this old when heard was made where no hub heard it ("while away"); a younger one
# only waited behind an acknowledgement (a second touch within a few seconds in range).
AWAY_AFTER_S: Final = 60
# After a collection failed (out of range again, busy radio), wait this long before the next try.
COLLECT_RETRY_S: Final = 5.0
# Acknowledge-and-read rounds per collection: the touches, then their acknowledgement; more only
# if the person touched again meanwhile.
COLLECT_ROUNDS: Final = 4

# (button, last counter the hub has, dropped ones it counted) -> what the button still keeps.
Collector = Callable[[ButtonRecord, int, int], Awaitable[KeptList]]

# Where bthome-ble puts an advert's battery level: a second battery object would be "battery_2",
# and it never sets device_id (one device per advert).
_BATTERY: Final = DeviceKey(SensorDeviceClass.BATTERY.value)


@dataclass(slots=True)
class _Known:
    record: ButtonRecord
    parser: BTHomeBluetoothDeviceData
    last_counter: int
    dirty: bool = False
    battery: int | None = None
    rssi: int = 0
    seen_at: datetime | None = None
    handled: int = 0  # every touch up to this counter was handled (committed) by the consumer
    # The last counter acknowledged to the button; None: not known (touches were heard before
    # the hub started), so the first kept count it hears is collected once.
    acked: int | None = None
    marker: int = 0  # the last kept count heard in an advert (0: none)


@dataclass(frozen=True, slots=True)
class _Marker:
    """An idle or listen advert's kept count, in order with the touches heard before it."""

    address: str
    count: int


@dataclass(slots=True)
class _Batch:
    """Touches from one kept list, handed to the consumer; done once it handled them all."""

    remaining: int
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def handled(self) -> None:
        self.remaining -= 1
        if self.remaining <= 0:
            self.done.set()


@dataclass(frozen=True, slots=True)
class _Collected:
    event: TouchEvent
    batch: _Batch


@dataclass(frozen=True, slots=True)
class _Heard:
    address: str
    name: str | None
    service_data: bytes
    rssi: int
    monotonic: float


class AdvertIngest:
    """Owns the decode queue; ``events()`` yields touch events from registered buttons."""

    def __init__(self, registry: ButtonRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock
        self._queue: asyncio.Queue[_Heard | _Collected | _Marker] = asyncio.Queue(QUEUE_SIZE)
        self._known: dict[str, _Known] = {}
        self._collector: Collector | None = None
        self._to_collect: asyncio.Queue[str] = asyncio.Queue()
        self._collecting: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self.kept_collected = 0  # touches that arrived from a button's kept list
        self.rejected: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()  # by kind: "touch", "listen"
        self.adverts_seen = 0
        self.reload()

    def reload(self) -> None:
        """Re-read the registry (after a button was added or removed)."""
        known: dict[str, _Known] = {}
        for record in self._registry.all():
            previous = self._known.get(record.address)
            if previous is not None and previous.record.key == record.key:
                previous.record = record
                known[record.address] = previous
                continue
            known[record.address] = _Known(
                record,
                BTHomeBluetoothDeviceData(bindkey=record.key),
                record.advert_counter,
                handled=max(record.advert_counter, 0),  # committed with their signals
                acked=0 if record.advert_counter <= 0 else None,
            )
        self._known = known

    def attach_collector(self, collector: Collector) -> None:
        """Read and acknowledge kept touches with this (the feedback sender's ``collect``)."""
        self._collector = collector

    # -- hot path: called by bleak for every advert ---------------------------------------

    def on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        self.adverts_seen += 1
        if device.address.upper() not in self._known:
            self.rejected["unknown_device"] += 1
            return
        data = advertisement.service_data.get(BTHOME_UUID)
        if data is None:
            listen = advertisement.service_data.get(gatt.SERVICE_UUID)
            if listen is None:
                self.rejected["not_bthome"] += 1
                return
            address = device.address.upper()
            self._heard_marker(address, keep.marker_count(listen))
            if len(listen) == 2 and listen[0] == keep.MARKER_VERSION:
                self.accepted["kept_marker"] += 1  # a puck's kept count: it listens always
            else:
                self._listen(address, listen, advertisement.rssi)
            return
        try:
            self._queue.put_nowait(
                _Heard(
                    device.address.upper(),
                    advertisement.local_name,
                    data,
                    advertisement.rssi,
                    self._clock.monotonic(),
                ),
            )
        except asyncio.QueueFull:
            self.rejected["queue_full"] += 1

    def _listen(self, address: str, data: bytes, rssi: int) -> None:
        """A listen advert: the button is alive and listening; it says nothing else."""
        reason = listen_problem(data)
        if reason is not None:
            self.rejected[reason] += 1
            return
        known = self._known[address]
        known.dirty, known.rssi, known.seen_at = True, rssi, self._clock.now()
        self.accepted["listen"] += 1

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    # -- consumer ------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[TouchEvent]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _Marker):
                self._on_marker(item)
                continue
            if isinstance(item, _Collected):
                yield item.event
                self._handled(item.event)
                item.batch.handled()  # the consumer is back: it handled (committed) the touch
                continue
            event = self.decode(item)
            if event is not None:
                yield event
                self._handled(event)

    def heard_elsewhere(self, address: str, counter: int) -> bool:
        """A touch with this advert counter that the partner's hub heard (a visit): True if it is
        newer than any heard here; it then counts as heard here too, so its repeats, heard when
        the button is back home, are not a second touch."""
        known = self._known.get(address.upper())
        if known is None or counter <= known.last_counter:
            return False
        known.last_counter = counter
        known.dirty, known.seen_at = True, self._clock.now()
        return True

    def flush(self) -> None:
        """Persist counters, battery and RSSI accepted since the last flush, in one transaction."""
        dirty = [known for known in self._known.values() if known.dirty and known.seen_at is not None]
        if not dirty:
            return
        with self._registry.transaction():
            for known in dirty:
                assert known.seen_at is not None
                self._registry.record_seen(
                    known.record.id,
                    known.last_counter,
                    known.seen_at,
                    battery=known.battery,
                    rssi=known.rssi,
                )
        for known in dirty:  # only once committed: a write refused (a full disk) is tried again
            known.dirty = False

    def process_pending(self) -> list[TouchEvent]:
        """Decode everything queued now, synchronously (for tests, benchmarks and scenarios)."""
        events = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, _Marker):
                self._on_marker(item)
                continue
            if isinstance(item, _Collected):
                events.append(item.event)
                self._handled(item.event)
                item.batch.handled()
                continue
            event = self.decode(item)
            if event is not None:
                events.append(event)
                self._handled(event)
        return events

    def decode(self, heard: _Heard) -> TouchEvent | None:  # noqa: PLR0911 - one return per counted reason
        known = self._known.get(heard.address)
        if known is None:  # removed while queued
            self.rejected["unknown_device"] += 1
            return None
        data = heard.service_data
        if not data or not data[0] & BTHOME_ENCRYPTED_FLAG:
            # A keyed button never sends plaintext; someone is trying a downgrade.
            self.rejected["downgrade"] += 1
            return None
        if len(data) < BTHOME_MIN_ENCRYPTED_LEN:
            self.rejected["malformed"] += 1
            return None
        counter = int.from_bytes(data[-8:-4], "little")
        if counter == known.last_counter:
            self.rejected["duplicate"] += 1  # a repeat of the burst: expected, not an attack
            return None
        if counter < known.last_counter:
            self.rejected["replay"] += 1
            return None
        if counter > max(known.last_counter, 0) + 1 and self._collector is not None:
            # Touches before this one were made where no hub heard them: the button keeps them
            # (and this one); they come from its kept list, in order.
            self.rejected["gap_collected"] += 1
            self._want_collection(heard.address)
            return None
        try:
            update = known.parser.update(_service_info(heard))
        except Exception:  # a third-party parser must not take the hub down on one bad advert
            _LOGGER.debug("bthome-ble could not parse an advert from %s", heard.address, exc_info=True)
            self.rejected["parse_error"] += 1
            return None
        if known.parser.decryption_failed or not known.parser.bindkey_verified:
            self.rejected["bad_mic"] += 1
            return None
        at = self._clock.now()
        battery = _battery(update)
        known.last_counter = counter
        known.dirty, known.battery, known.rssi, known.seen_at = True, battery, heard.rssi, at
        gesture = _gesture(update)
        if gesture is None:
            self.rejected["no_event"] += 1  # a presence/battery advert: handled elsewhere later
            return None
        self.accepted["touch"] += 1
        return TouchEvent(
            button_id=known.record.id,
            address=heard.address,
            owner=known.record.owner,
            gesture=gesture,
            battery=battery,
            rssi=heard.rssi,
            counter=counter,
            at=at,
        )

    # -- kept touches ---------------------------------------------------------------------

    def _handled(self, event: TouchEvent) -> None:
        known = self._known.get(event.address)
        if known is not None and event.counter is not None:
            known.handled = max(known.handled, event.counter)

    def _heard_marker(self, address: str, count: int) -> None:
        # Scanner callback: a changed count is queued behind the touches heard before it (a
        # touch advert still queued must not look like a touch the hub never heard).
        known = self._known.get(address)
        if known is None or known.marker == count:
            return
        known.marker = count
        if count == 0:
            return
        try:
            self._queue.put_nowait(_Marker(address, count))
        except asyncio.QueueFull:
            known.marker = 0  # asked again by the next advert
            self.rejected["queue_full"] += 1

    def _on_marker(self, marker: _Marker) -> None:
        known = self._known.get(marker.address)
        if known is None:
            return
        if self._collection_due(known, marker.count) and not self._want_collection(marker.address):
            known.marker = 0  # collecting, or waiting to retry: asked again by a later advert

    @staticmethod
    def _collection_due(known: _Known, count: int) -> bool:
        if known.acked is None:
            return True  # heard before the hub started: once, to learn where the button is
        waiting = max(known.last_counter, 0) - known.acked  # heard, not acknowledged
        return count > waiting or count >= keep.ACK_AT

    def ack_due(self, address: str) -> int | None:
        """The counter a connection made anyway should acknowledge up to (None: nothing due).
        Only touches the consumer handled, and never while a collection is reading the list."""
        known = self._known.get(address.upper())
        if known is None or address.upper() in self._collecting:
            return None
        if known.handled <= 0 or (known.acked is not None and known.acked >= known.handled):
            return None
        return known.handled

    def acked(self, address: str, heard: int, kept: KeptList) -> None:
        """The button accepted an acknowledgement up to ``heard`` (in a feedback connection)."""
        known = self._known.get(address.upper())
        if known is None:
            return
        known.acked = heard
        known.marker = 0  # its next advert's count is judged afresh
        if kept.dropped or any(entry[0] > known.last_counter for entry in kept.entries):
            self._want_collection(address.upper())  # it keeps touches the hub never heard

    def _want_collection(self, address: str) -> bool:
        """Queue a collection; False if none is queued (collecting already, or retrying later)."""
        if self._collector is None or address in self._collecting:
            return False
        if self._retry_at.get(address, 0.0) > self._clock.monotonic():
            return False
        self._collecting.add(address)
        self._to_collect.put_nowait(address)
        return True

    async def collect_kept(self) -> None:
        """Collect the kept touches of each button whose adverts asked for it (a task)."""
        while True:
            address = await self._to_collect.get()
            known = self._known.get(address)
            try:
                if known is not None and self._collector is not None:
                    await self._collect(known, self._collector)
                self._retry_at.pop(address, None)
            except FeedbackError as ex:
                _LOGGER.info("kept touches of %s not read yet: %s", address, ex)
                self._retry_at[address] = self._clock.monotonic() + COLLECT_RETRY_S
            finally:
                self._collecting.discard(address)
                if known is not None:
                    known.marker = 0  # the next advert's count is judged afresh (or retried)

    async def _collect(self, known: _Known, collector: Collector) -> None:
        counted = 0
        for _ in range(COLLECT_ROUNDS):
            # Between rounds the feedback sender waits for the button to advertise again.
            heard = max(known.last_counter, 0)
            kept = await collector(known.record, heard, counted)
            known.acked = heard
            counted = kept.dropped
            if kept.dropped:
                self.rejected["kept_dropped"] += kept.dropped
                _LOGGER.warning(
                    "button %d dropped %d touches made out of range beyond the %d it keeps;"
                    " they are lost (bring it home sooner)",
                    known.record.id,
                    kept.dropped,
                    keep.MAX_KEPT,
                )
            fresh = sorted(entry for entry in kept.entries if entry[0] > known.last_counter)
            if not fresh and not counted:
                return
            events = self._kept_events(known, fresh)
            if events:
                batch = _Batch(len(events))
                for event in events:
                    await self._queue.put(_Collected(event, batch))
                await batch.done.wait()

    def _kept_events(self, known: _Known, fresh: list[tuple[int, int, int]]) -> list[TouchEvent]:
        heard_at = self._clock.now()
        events = []
        for counter, code, age_s in fresh:
            known.last_counter = counter
            known.dirty, known.seen_at = True, heard_at
            gesture = _KEPT_GESTURES.get(code)
            if gesture is None:
                self.rejected["no_event"] += 1
                continue
            self.accepted["touch"] += 1
            self.kept_collected += 1
            events.append(
                TouchEvent(
                    button_id=known.record.id,
                    address=known.record.address,
                    owner=known.record.owner,
                    gesture=gesture,
                    battery=known.battery,
                    rssi=known.rssi,
                    counter=counter,
                    at=heard_at,
                    made_at=heard_at - timedelta(seconds=age_s),
                    made_away=age_s >= AWAY_AFTER_S,
                )
            )
        return events


def listen_problem(data: bytes) -> str | None:
    """Why this Heartline service data is not a listen record, or None if it is one."""
    if len(data) < len(sleep.listen_data(sleep.DEFAULT_PERIOD_S)):
        return "listen_malformed"
    if data[0] != sleep.LISTEN_VERSION:
        return "listen_version"  # a newer firmware's record: update the hub
    if sleep.parse_listen(data) is None:
        return "listen_period"  # outside 10..3600 s: no button sends that
    return None


def _service_info(heard: _Heard) -> BluetoothServiceInfoBleak:
    return BluetoothServiceInfoBleak(
        name=heard.name or heard.address,
        address=heard.address,
        rssi=heard.rssi,
        manufacturer_data={},
        service_data={BTHOME_UUID: heard.service_data},
        service_uuids=[BTHOME_UUID],
        source="heartline",
        device=BLEDevice(heard.address, heard.name, None),
        advertisement=None,
        connectable=True,
        time=heard.monotonic,
        tx_power=None,
    )


def _gesture(update: SensorUpdate) -> Gesture | None:
    """The advert's first event that is one of our gestures (a button sends one per advert)."""
    for event in update.events.values():
        gesture = _GESTURES.get(event.event_type)
        if gesture is not None:
            return gesture
    return None


def _battery(update: SensorUpdate) -> int | None:
    """Battery level in percent, if the advert carries one."""
    value = update.entity_values.get(_BATTERY)
    if value is None or not isinstance(value.native_value, int | float):
        return None
    return int(value.native_value)
