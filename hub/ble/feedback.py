"""Haptic and LED feedback to a Heartline button: one authenticated GATT write per command.

Per command: connect, read the button's state (its last accepted command counter), reserve a
newer counter durably *before* writing (a crash can only skip a counter, never reuse one), write
with response, and read the state again. The command counts as confirmed only when the button
reports that counter as accepted: on stock MicroPython a GATT write is acknowledged before the
firmware checks it, so the write's own status proves nothing on real hardware.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from device import command, gatt
from hub.ble.transport import BleTransport
from hub.errors import FeedbackError
from hub.events import SignalKind
from hub.store.buttons import ButtonRecord, ButtonRegistry

_LOGGER = logging.getLogger(__name__)

# ATT "insufficient authentication": how the firmware says "bad MIC or replayed counter".
ATT_INSUFFICIENT_AUTHENTICATION: Final = 0x05
# bleak-retry-connector retries transient BlueZ errors; three attempts is its own default.
CONNECT_ATTEMPTS: Final = 3


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


def _block_cipher(key: bytes) -> Callable[[bytes], bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - CCM's block primitive
    return encryptor.update


class FeedbackSender:
    """Sends feedback commands over the hub's BLE transport through bleak."""

    def __init__(self, transport: BleTransport, registry: ButtonRegistry, timeout_s: float) -> None:
        self._transport = transport
        self._registry = registry
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()  # one connection at a time: Pi adapters have few slots

    async def send(self, button: ButtonRecord, kind: SignalKind) -> None:
        """Deliver one command; returns when the button confirmed it, else FeedbackError."""
        async with self._lock:
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._command(button, LOOKS[kind])
            except TimeoutError as ex:
                raise FeedbackError(
                    button.address, "timeout", f"no answer in {self._timeout_s:.0f} s"
                ) from ex
        _LOGGER.info("feedback %s confirmed by button %d", kind.value, button.id)

    async def _command(self, button: ButtonRecord, look: Look) -> None:
        client = await self._connect(button)
        try:
            accepted_before = await self._accepted_counter(client, button)
            counter = self._registry.next_command_counter(button.id, at_least=accepted_before)
            frame = command.pack_feedback(
                _block_cipher(button.key),
                command.mac_bytes(button.address),
                counter,
                look.pattern,
                look.rgb,
                look.deciseconds,
            )
            try:
                await client.write_gatt_char(gatt.COMMAND_UUID, frame, response=True)
            except BleakError as ex:
                reason = "rejected" if _is_authentication_refusal(ex) else "write_failed"
                raise FeedbackError(button.address, reason, str(ex)) from ex
            accepted = await self._accepted_counter(client, button)
            if accepted != counter:
                raise FeedbackError(
                    button.address,
                    "rejected",
                    f"button accepted counter {accepted}, not {counter}; re-pair it if its key changed",
                )
        finally:
            try:
                await client.disconnect()
            except BleakError as ex:
                _LOGGER.debug("disconnect from %s failed: %s", button.address, ex)

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
    async def _accepted_counter(client: BleakClientWithServiceCache, button: ButtonRecord) -> int:
        try:
            value = await client.read_gatt_char(gatt.STATE_UUID)
            _version, counter, _battery, _rejected = struct.unpack(gatt.STATE_FORMAT, value)
        except (BleakError, struct.error) as ex:
            raise FeedbackError(button.address, "state_unreadable", str(ex)) from ex
        return int(counter)


def _is_authentication_refusal(ex: BleakError) -> bool:
    """The button refused the command as unauthenticated (ATT 0x05).

    The simulated backend reports the ATT code itself; bluetoothd maps 0x05 to
    ``org.bluez.Error.NotPermitted`` with the text "Not paired".
    """
    if isinstance(ex, BleakDBusError):
        return ex.dbus_error == "org.bluez.Error.NotPermitted" and "paired" in (ex.dbus_error_details or "")
    return f"0x{ATT_INSUFFICIENT_AUTHENTICATION:02x}" in str(ex)
