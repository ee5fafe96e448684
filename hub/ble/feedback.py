"""Haptic and LED feedback to a Heartline button: one authenticated GATT write per command.

Per command: connect, read the button's state (its last accepted command counter), reserve a
newer counter durably *before* writing (a crash can only skip a counter, never reuse one), write
with response, and read the state again until the button has handled the write. The command
counts as confirmed only when the button reports that counter as accepted: a GATT write is
acknowledged by the stack and verified afterwards, in a firmware task, so the write's own status
proves nothing. The state carries the outcome of the last command write the button handled (the
counter it claimed, accepted or why refused, and a count of handled writes), so the hub re-reads
it (``await_outcome``: a few ms apart at first, backing off, bounded by ``OUTCOME_WITHIN_S``)
until its own counter's outcome is there.

A sleepy button (a wearable in deep sleep between listen windows, ``device/sleep.py``) only
listens for a moment every listen period; its listen advert carries the period. ``ListenWindows``
remembers when each one last listened; ``send`` waits for the next window (saying so through
``on_wait``, so the signal shows as held) and connects the moment the button's listen advert is
heard. A window that passes unheard is a ``missed_window`` failure: the caller falls back.

The same path carries the other command: ``set_listen_period`` sends a sleepy button its new
listen period (``command.OP_LISTEN``) in its next window, confirmed by the accepted counter as
feedback is. The button sleeps the new period from then on and its listen adverts say so.

And the acknowledgement of heard touches: ``collect`` writes ``command.OP_ACK`` (the last touch
counter the hub has, and the dropped ones it counted) and, in the same connection once the button
accepted it, reads the kept characteristic: the touches the button still keeps, sealed under the
nonce of that very command (``device/keep.py``), so a stale or forged list does not verify.
Acknowledging is lazy: a touch heard in range costs no connection of its own. When the hub
connects anyway (a feedback command), ``send`` asks its ``AckSource`` whether touches wait for an
acknowledgement and, once the feedback is accepted, writes ``OP_ACK`` in the same connection;
otherwise ingest collects when the button's kept count reaches ``keep.ACK_AT`` (half its bound)
or says it keeps touches the hub never heard.

A peripheral stops advertising while a central is connected and starts again after the
disconnect; a central can only connect to a device that is advertising (its connection request
answers an advert). So a command to a button the hub has just disconnected from waits for the
button's next advert (``READVERTISE_WITHIN_S``) before it connects.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from device import command, gatt, keep, sleep
from hub.ble.transport import BleTransport
from hub.errors import FeedbackError
from hub.events import SignalKind
from hub.store.buttons import ButtonRecord, ButtonRegistry

_LOGGER = logging.getLogger(__name__)

# ATT "insufficient authentication": how the firmware says "bad MIC or replayed counter".
ATT_INSUFFICIENT_AUTHENTICATION: Final = 0x05
# bleak-retry-connector retries transient BlueZ errors; three attempts is its own default.
CONNECT_ATTEMPTS: Final = 3
# A listen advert heard this recently means the button is listening now: connect at once.
LISTENING_NOW_S: Final = 0.5
# A window may open late: the boot after a deep sleep, and the RTC's slow clock drifting (the
# ESP32-C3's internal 136 kHz RC oscillator is the default; a few % over a period).
WINDOW_GRACE_S: Final = 5.0
WINDOW_GRACE_FRACTION: Final = 0.1

# After a disconnect, how long the next command waits for the button to advertise again (an idle
# button advertises every second, device/timing.py); unheard by then it connects anyway, and
# fails as out of range if the button is gone.
READVERTISE_WITHIN_S: Final = 3.0

# FeedbackError.reason of a listen-period command to a button that has no listen window.
ALWAYS_LISTENING: Final = "always_listening"

# How long a button may take to handle a write it acknowledged: verification, a flash write
# (a sector erase is ~45 ms) and its state update take tens of ms on an ESP32-C3; the bound is
# generous, for a button busy playing a pattern or a loaded host.
OUTCOME_WITHIN_S: Final = 5.0
# Re-reads of the state while waiting: the first soon after the write, then backing off.
OUTCOME_FIRST_POLL_S: Final = 0.01
OUTCOME_MAX_POLL_S: Final = 0.2

# How a command fails when the button's radio was not there (a sleepy one may have just slept).
UNREACHED: Final = frozenset({"out_of_range", "connect_failed", "state_unreadable", "timeout"})
# Awaited before a sleepy button's command waits for its window, with "next window in ~N s".
OnWait = Callable[[float], Awaitable[None]]
# A command's sealed frame for the counter reserved for it.
FrameFor = Callable[[int], bytes]
# What to do in the same connection once the button accepted the command with this counter.
AfterAccepted = Callable[[BleakClient, ButtonRecord, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class KeptList:
    """What a button still keeps after an acknowledgement (``device/keep.py``): its touches
    (counter, BTHome button event, age in seconds), oldest first, and how many it dropped
    beyond its bound that no hub has counted yet."""

    dropped: int
    entries: tuple[tuple[int, int, int], ...]


class AckSource(Protocol):
    """Who knows which touches wait for an acknowledgement (``hub.ble.ingest.AdvertIngest``)."""

    def ack_due(self, address: str) -> int | None:
        """The counter to acknowledge up to in a connection made anyway, or None: nothing due."""

    def acked(self, address: str, heard: int, kept: KeptList) -> None:
        """The button accepted an acknowledgement up to ``heard``; ``kept`` is what it still keeps."""


@dataclass(slots=True)
class _Listener:
    period_s: float
    heard_at: float | None  # loop time of the last listen advert; None: a period from settings


class ListenWindows:
    """When each sleepy button listens next, from its listen adverts (and the configured period
    for a button not heard yet). Every time is the event loop's (virtual under a scenario)."""

    def __init__(self) -> None:
        self._buttons: dict[str, _Listener] = {}
        self._heard: dict[str, asyncio.Event] = {}

    def expect(self, address: str, period_s: float) -> None:
        """A button configured as sleepy with this period (until its own adverts say otherwise)."""
        known = self._buttons.get(address.upper())
        if known is None or known.heard_at is None:
            self._buttons[address.upper()] = _Listener(period_s, None)

    def forget(self, address: str) -> None:
        self._buttons.pop(address.upper(), None)

    def on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """Every advert (scanner callback: no I/O). A listen advert opens a window."""
        data = advertisement.service_data.get(gatt.SERVICE_UUID)
        if data is None:
            return
        period = sleep.parse_listen(data)
        if period is None:
            return
        address = device.address.upper()
        self._buttons[address] = _Listener(float(period), _now())
        event = self._heard.pop(address, None)
        if event is not None:
            event.set()

    def period_s(self, address: str) -> float | None:
        """The button's listen period, or None if it is always listening."""
        known = self._buttons.get(address.upper())
        return known.period_s if known else None

    def next_window_s(self, address: str) -> float | None:
        """Seconds until the button listens next (0: now), or None if it is always listening.
        A window overdue by more than the grace was missed (out of range?): the one after it."""
        known = self._buttons.get(address.upper())
        if known is None:
            return None
        if known.heard_at is None:
            return known.period_s  # not heard since the hub started: within one period
        since = _now() - known.heard_at
        if since <= LISTENING_NOW_S:
            return 0.0
        late = since - known.period_s
        if late > self.grace_s(address):
            return known.period_s - late % known.period_s
        return max(-late, 0.0)

    def set_period(self, address: str, period_s: float) -> None:
        """The button confirmed a new listen period: it sleeps that long after this window."""
        known = self._buttons.get(address.upper())
        heard_at = known.heard_at if known is not None else None
        self._buttons[address.upper()] = _Listener(period_s, heard_at)

    def heard_at(self, address: str) -> float | None:
        """Loop time of the button's last listen advert (None: not heard since the hub started)."""
        known = self._buttons.get(address.upper())
        return known.heard_at if known is not None else None

    def missed(self, address: str) -> None:
        """The window just heard had already closed: wait for the next listen advert."""
        known = self._buttons.get(address.upper())
        if known is not None and known.heard_at is not None:
            known.heard_at = min(known.heard_at, _now() - 2 * LISTENING_NOW_S)

    def grace_s(self, address: str) -> float:
        period = self.period_s(address) or 0.0
        return WINDOW_GRACE_S + WINDOW_GRACE_FRACTION * period

    def waiter(self, address: str) -> asyncio.Event:
        """Set by the button's next listen advert (take it before anything that awaits)."""
        return self._heard.setdefault(address.upper(), asyncio.Event())


def _now() -> float:
    return asyncio.get_running_loop().time()


@dataclass(frozen=True, slots=True)
class ButtonState:
    """The button's state characteristic (``device.gatt.STATE_FORMAT``, hardware/ble-spec.md)."""

    version: int
    accepted: int  # last accepted command counter
    battery: int
    rejected: int
    outcome_counter: int  # the counter the last handled command write claimed
    outcome: str  # device.gatt.OUTCOMES: "none", "accepted", "bad_mic", ...
    writes: int  # command writes handled since the button booted (u8, wrapping)


def parse_state(value: bytes) -> ButtonState:
    """struct.error if it is not a state value."""
    version, accepted, battery, rejected, claimed, outcome, writes = struct.unpack(gatt.STATE_FORMAT, value)
    if not 0 <= outcome < len(gatt.OUTCOMES):
        raise struct.error(f"unknown command outcome {outcome}")
    return ButtonState(version, accepted, battery, rejected, claimed, gatt.OUTCOMES[outcome], writes)


async def read_state(client: BleakClient) -> ButtonState:
    """BleakError or struct.error if it cannot be read."""
    return parse_state(bytes(await client.read_gatt_char(gatt.STATE_UUID)))


async def await_outcome(
    client: BleakClient, counter: int, before: ButtonState, within_s: float = OUTCOME_WITHIN_S
) -> ButtonState:
    """Re-read the state until the button has handled the write of ``counter`` (its outcome is
    on show, from a write handled after ``before`` was read) or accepted it; returns that state.
    TimeoutError if it has not within ``within_s``."""
    pause = OUTCOME_FIRST_POLL_S
    async with asyncio.timeout(within_s):
        while True:
            state = await read_state(client)
            if state.accepted == counter:
                return state
            if state.outcome_counter == counter and state.writes != before.writes:
                return state
            await asyncio.sleep(pause)
            pause = min(pause * 2, OUTCOME_MAX_POLL_S)


@dataclass(frozen=True, slots=True)
class Look:
    """How a signal kind feels and looks on the button."""

    pattern: int
    rgb: tuple[int, int, int]
    deciseconds: int


# Warm colours, a distinct rhythm per kind; the firmware owns the rhythms themselves.
LOOKS: Final = {
    SignalKind.THINKING_OF_YOU: Look(command.PATTERN_THINKING_OF_YOU, (255, 120, 60), 30),
    SignalKind.CELEBRATE: Look(command.PATTERN_CELEBRATE, (255, 200, 0), 40),
    SignalKind.NEED_YOU: Look(command.PATTERN_NEED_YOU, (200, 40, 160), 60),
    SignalKind.FELT_IT: Look(command.PATTERN_FELT_IT, (255, 150, 150), 20),
    SignalKind.SHARED_MOMENT: Look(command.PATTERN_SHARED_MOMENT, (255, 80, 120), 50),
}


# The "it arrived" glow: the sender's button, when the partner's receipt says delivered.
ARRIVED_LOOK: Final = Look(command.PATTERN_ARRIVED, (90, 40, 30), 20)


def _block_cipher(key: bytes) -> Callable[[bytes], bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - CCM's block primitive
    return encryptor.update


def seal_feedback(button: ButtonRecord, kind: SignalKind, counter: int) -> bytes:
    """The sealed feedback frame of ``kind`` for ``button`` with ``counter`` (reserved by the
    caller): what a visiting person's own hub hands to the host's hub to write."""
    look = LOOKS[kind]
    return command.pack_feedback(
        _block_cipher(button.key),
        command.mac_bytes(button.address),
        counter,
        look.pattern,
        look.rgb,
        look.deciseconds,
    )


class FeedbackSender:
    """Sends feedback commands over the hub's BLE transport through bleak."""

    def __init__(self, transport: BleTransport, registry: ButtonRegistry, timeout_s: float) -> None:
        self._transport = transport
        self._registry = registry
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()  # one connection at a time: Pi adapters have few slots
        self.windows = ListenWindows()
        self._acks: AckSource | None = None
        # Set by a button's first advert after the hub disconnected from it.
        self._readvertised: dict[str, asyncio.Event] = {}
        self.connections = 0  # connections opened (commands, acknowledgements, collections)
        self.piggybacked_acks = 0  # acknowledgements written in a feedback's connection

    def attach_acks(self, acks: AckSource) -> None:
        """Acknowledge heard touches in feedback connections (ingest's pending acknowledgements)."""
        self._acks = acks

    def on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        self.windows.on_advert(device, advertisement)
        event = self._readvertised.pop(device.address.upper(), None)
        if event is not None:
            event.set()

    async def send(self, button: ButtonRecord, kind: SignalKind, on_wait: OnWait | None = None) -> None:
        """Deliver one command; returns when the button confirmed it, else FeedbackError.
        A sleepy button's command waits for its next listen window first."""
        await self._show(button, LOOKS[kind], on_wait)
        _LOGGER.info("feedback %s confirmed by button %d", kind.value, button.id)

    async def glow_arrived(self, button: ButtonRecord) -> None:
        """The soft "it arrived" glow (no motor) on the sender's button; FeedbackError if not."""
        await self._show(button, ARRIVED_LOOK, None)
        _LOGGER.info("arrived glow confirmed by button %d", button.id)

    async def _show(self, button: ButtonRecord, look: Look, on_wait: OnWait | None) -> None:

        def frame(counter: int) -> bytes:
            return command.pack_feedback(
                _block_cipher(button.key),
                command.mac_bytes(button.address),
                counter,
                look.pattern,
                look.rgb,
                look.deciseconds,
            )

        await self._deliver(button, frame, on_wait, extra=self._piggyback_ack)

    async def _piggyback_ack(self, client: BleakClient, button: ButtonRecord, counter: int) -> None:
        # The feedback is confirmed; an acknowledgement due rides in the same connection. Its
        # failure is not the feedback's: the touches stay kept and are acknowledged later.
        del counter
        acks = self._acks
        heard = acks.ack_due(button.address) if acks is not None else None
        if acks is None or heard is None:
            return
        cipher = _block_cipher(button.key)
        mac = command.mac_bytes(button.address)

        def frame(counter: int) -> bytes:
            return command.pack_ack(cipher, mac, counter, heard, 0)

        try:
            answered = await self._write(client, button, frame)
            kept = await _read_kept(client, button, cipher, mac, answered)
        except FeedbackError as ex:
            _LOGGER.info("acknowledgement after feedback to button %d not done: %s", button.id, ex)
            return
        self.piggybacked_acks += 1
        acks.acked(button.address, heard, kept)

    async def collect(self, button: ButtonRecord, heard: int, dropped: int) -> KeptList:
        """Acknowledge every touch up to counter ``heard`` (and ``dropped`` lost ones counted);
        returns what the button still keeps. FeedbackError if it was not reached or refused."""
        cipher = _block_cipher(button.key)
        mac = command.mac_bytes(button.address)
        answers: list[KeptList] = []

        def frame(counter: int) -> bytes:
            return command.pack_ack(cipher, mac, counter, heard, dropped)

        async def read_kept(client: BleakClient, button: ButtonRecord, counter: int) -> None:
            answers.append(await _read_kept(client, button, cipher, mac, counter))

        await self._deliver(button, frame, None, read_kept)
        return answers[-1]

    async def send_sealed(self, button: ButtonRecord, frame: bytes, counter: int) -> None:
        """Write a frame another hub sealed (with its own ``counter``: only the owner's hub keeps
        a wearable's command counter); returns when the button accepted that counter, else
        FeedbackError. This hub reserves no counter of its own for it."""
        await self._await_window(button, None)
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._write_sealed(button, frame, counter)
            except TimeoutError as ex:
                raise FeedbackError(
                    button.address, "timeout", f"no answer in {self._timeout_s:.0f} s"
                ) from ex
        _LOGGER.info("a command sealed by the partner's hub was confirmed by button %d", button.id)

    async def _write_sealed(self, button: ButtonRecord, frame: bytes, counter: int) -> None:
        client = await self._connect(button)
        try:
            before = await self._state(client, button)
            await self._write_confirmed(client, button, frame, counter, before)
        finally:
            try:
                await client.disconnect()
            except BleakError as ex:
                _LOGGER.debug("disconnect from %s failed: %s", button.address, ex)

    def listen_bound_s(self, address: str) -> float | None:
        """How long a listen-period command may take: one period, its grace and the command
        itself (None: the button always listens)."""
        period = self.windows.period_s(address)
        if period is None:
            return None
        return period + self.windows.grace_s(address) + self._timeout_s

    async def set_listen_period(
        self, button: ButtonRecord, period_s: int, on_wait: OnWait | None = None
    ) -> None:
        """Give a sleepy button a new listen period in its next window; returns once the button
        confirmed it. FeedbackError: ALWAYS_LISTENING for a button with no listen window (or not
        heard listening since the hub started), ``missed_window`` if it did not listen in time,
        or why the command failed."""
        command.pack_listen_plaintext(period_s)  # ValueError before anything waits
        within = self.listen_bound_s(button.address)
        if within is None:
            raise FeedbackError(button.address, ALWAYS_LISTENING, "it has no listen window to change")

        def frame(counter: int) -> bytes:
            return command.pack_listen(
                _block_cipher(button.key), command.mac_bytes(button.address), counter, period_s
            )

        try:
            async with asyncio.timeout(within):
                await self._deliver(button, frame, on_wait)
        except TimeoutError as ex:
            raise FeedbackError(
                button.address, "missed_window", f"the button did not listen within {within:.0f} s"
            ) from ex
        self.windows.set_period(button.address, period_s)
        _LOGGER.info("listen period %d s confirmed by button %d", period_s, button.id)

    async def _deliver(
        self,
        button: ButtonRecord,
        frame: FrameFor,
        on_wait: OnWait | None,
        then: AfterAccepted | None = None,
        extra: AfterAccepted | None = None,
    ) -> None:
        await self._await_window(button, on_wait)
        try:
            await self._send_now(button, frame, then, extra)
        except FeedbackError as ex:
            if ex.reason not in UNREACHED or self.windows.period_s(button.address) is None:
                raise
            # It fell asleep just as its window was heard: the next window, once.
            self.windows.missed(button.address)
            await self._await_window(button, on_wait)
            await self._send_now(button, frame, then, extra)

    async def _send_now(
        self,
        button: ButtonRecord,
        frame: FrameFor,
        then: AfterAccepted | None = None,
        extra: AfterAccepted | None = None,
    ) -> None:
        """One connection: the command, ``then`` (part of it), and ``extra`` (best effort, with
        its own time bound: the command is confirmed whatever becomes of it)."""
        async with self._lock:
            await self._await_readvertised(button.address)
            client: BleakClient | None = None
            try:
                try:
                    async with asyncio.timeout(self._timeout_s):
                        client = await self._connect(button)
                        self.connections += 1
                        counter = await self._write(client, button, frame)
                        if then is not None:
                            await then(client, button, counter)
                except TimeoutError as ex:
                    raise FeedbackError(
                        button.address, "timeout", f"no answer in {self._timeout_s:.0f} s"
                    ) from ex
                if extra is not None:
                    try:
                        async with asyncio.timeout(self._timeout_s):
                            await extra(client, button, counter)
                    except TimeoutError:
                        _LOGGER.info("button %d: no answer in time after the command", button.id)
            finally:
                if client is not None:
                    await self._disconnect(client, button.address)

    async def _disconnect(self, client: BleakClient, address: str) -> None:
        self._readvertised[address.upper()] = asyncio.Event()
        try:
            async with asyncio.timeout(self._timeout_s):
                await client.disconnect()
        except (BleakError, TimeoutError) as ex:
            _LOGGER.debug("disconnect from %s failed: %s", address, ex)

    async def _await_readvertised(self, address: str) -> None:
        # Just disconnected from: not connectable until it advertises again.
        event = self._readvertised.get(address.upper())
        if event is None:
            return
        try:
            async with asyncio.timeout(READVERTISE_WITHIN_S):
                await event.wait()
        except TimeoutError:
            _LOGGER.debug("%s not heard advertising again; connecting anyway", address)
        finally:
            if self._readvertised.get(address.upper()) is event:
                del self._readvertised[address.upper()]

    async def _await_window(self, button: ButtonRecord, on_wait: OnWait | None) -> None:
        windows = self.windows
        next_s = windows.next_window_s(button.address)
        if not next_s:
            return  # always listening, or listening now
        heard = windows.waiter(button.address)
        if on_wait is not None:
            await on_wait(next_s)
        within = next_s + windows.grace_s(button.address)
        try:
            async with asyncio.timeout(within):
                await heard.wait()
        except TimeoutError as ex:
            raise FeedbackError(
                button.address, "missed_window", f"no listen window within {within:.0f} s"
            ) from ex

    async def _write(self, client: BleakClient, button: ButtonRecord, frame_for: FrameFor) -> int:
        """One command in an open connection; returns its counter once the button accepted it."""
        before = await self._state(client, button)
        counter = self._registry.next_command_counter(button.id, at_least=before.accepted)
        await self._write_confirmed(client, button, frame_for(counter), counter, before)
        return counter

    async def _write_confirmed(
        self, client: BleakClient, button: ButtonRecord, frame: bytes, counter: int, before: ButtonState
    ) -> None:
        """Write one sealed command and wait until the button's state shows it accepted."""
        try:
            await client.write_gatt_char(gatt.COMMAND_UUID, frame, response=True)
        except BleakError as ex:
            reason = "rejected" if _is_authentication_refusal(ex) else "write_failed"
            raise FeedbackError(button.address, reason, str(ex)) from ex
        try:
            after = await await_outcome(client, counter, before)
        except (BleakError, struct.error) as ex:
            raise FeedbackError(button.address, "state_unreadable", str(ex)) from ex
        except TimeoutError as ex:
            raise FeedbackError(
                button.address,
                "unconfirmed",
                f"no outcome for counter {counter} within {OUTCOME_WITHIN_S:g} s",
            ) from ex
        if after.accepted != counter:
            raise FeedbackError(
                button.address,
                "rejected",
                f"button refused counter {counter} ({after.outcome}; it last accepted {after.accepted});"
                " re-pair it if its key changed",
            )

    async def _connect(self, button: ButtonRecord) -> BleakClientWithServiceCache:
        device = self._transport.ble_device(button.address)
        try:
            return await establish_connection(
                BleakClientWithServiceCache,
                device,
                f"button {button.id}",
                max_attempts=CONNECT_ATTEMPTS,
                **self._transport.client_kwargs(),
            )
        except BleakDeviceNotFoundError as ex:
            raise FeedbackError(button.address, "out_of_range", str(ex)) from ex
        except (BleakError, TimeoutError) as ex:
            raise FeedbackError(button.address, "connect_failed", str(ex)) from ex

    @staticmethod
    async def _state(client: BleakClient, button: ButtonRecord) -> ButtonState:
        try:
            return await read_state(client)
        except (BleakError, struct.error) as ex:
            raise FeedbackError(button.address, "state_unreadable", str(ex)) from ex


async def _read_kept(
    client: BleakClient,
    button: ButtonRecord,
    cipher: Callable[[bytes], bytes],
    mac: bytes,
    counter: int,
) -> KeptList:
    """The kept list the button published for the acknowledgement with this counter."""
    try:
        value = bytes(await client.read_gatt_char(gatt.KEPT_UUID))
        answered, left, entries = keep.unseal(cipher, mac, value)
    except (BleakError, ValueError) as ex:
        raise FeedbackError(button.address, "kept_unreadable", str(ex)) from ex
    if answered != counter:
        raise FeedbackError(button.address, "kept_unreadable", f"kept list answers {answered}, not {counter}")
    return KeptList(left, tuple(entries))


def _is_authentication_refusal(ex: BleakError) -> bool:
    """The button refused the command as unauthenticated (ATT 0x05).

    The simulated backend reports the ATT code itself; bluetoothd maps 0x05 to
    ``org.bluez.Error.NotPermitted`` with the text "Not paired".
    """
    if isinstance(ex, BleakDBusError):
        return ex.dbus_error == "org.bluez.Error.NotPermitted" and "paired" in (ex.dbus_error_details or "")
    return f"0x{ATT_INSUFFICIENT_AUTHENTICATION:02x}" in str(ex)
