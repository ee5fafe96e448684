"""Pairing a Heartline button to this hub: find it in pairing mode, agree a key, register it.

The button opens pairing mode for three minutes after a factory reset (hold the pad 10 s, let
go) or at power-on with no key, and advertises the name ``HL-PAIR``. The hub hears that advert
through its one shared scanner (:meth:`Pairing.on_advert`, called from the scan callback; this
module never starts a scanner of its own), connects, and runs an X25519 exchange over the
provisioning characteristic (codec: ``device/pairing.py``; spec: hardware/ble-spec.md):

1. read the button's public key (status ``open``);
2. write the hub's fresh public key (the button takes exactly one per pairing window);
3. poll until the button reports ``paired``; both sides derive the 16-byte button key with
   HKDF-SHA256 from the shared secret, so the key itself never crosses the air;
4. send a first authenticated feedback command with the new key and read the button's state:
   the button buzzes ("paired") and its accepted counter proves both sides hold the same key;
5. only then store the button (owner, key; the database file is 0600; the key is never logged).

A passive sniffer who records the whole exchange learns two public keys and nothing it can
turn into the key. An *active* attacker in radio range during the window could still sit in
the middle; the residual risk and its mitigations are in hardware/ble-spec.md.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from device import command, gatt, pairing
from hub.ble.feedback import await_outcome, read_state
from hub.ble.transport import BleTransport
from hub.clock import Clock
from hub.errors import HeartlineError
from hub.store.buttons import ButtonRecord, ButtonRegistry

_LOGGER = logging.getLogger(__name__)

PAIRING_NAME: Final = pairing.PAIRING_NAME.decode()  # "HL-PAIR": the pairing-mode advert's name
# Once one button in pairing mode is heard, listen this much longer for a second one. Pairing
# adverts repeat every 200 ms (device/timing.py), so 2 s gives each button about ten chances.
SETTLE_S: Final = 2.0
# A pairing advert older than this no longer counts: the button may have left pairing mode.
FRESH_S: Final = 5.0
# Connect, read, write, the button's curve arithmetic (1-2 s on an ESP32-C3, twice in the
# worst case), the confirming command: all of it within this, or the pairing failed.
EXCHANGE_TIMEOUT_S: Final = 30.0
# Between reads of the provisioning status while the button derives the key.
STATUS_POLL_S: Final = 0.05
# bleak-retry-connector's own default number of attempts.
CONNECT_ATTEMPTS: Final = 3
# The "paired" buzz: one soft pulse, green, for two seconds.
CONFIRM_PATTERN: Final = command.PATTERN_FELT_IT
CONFIRM_RGB: Final = (0, 255, 80)
CONFIRM_DECISECONDS: Final = 20
KIND: Final = "heartline"

_RESET_HINT: Final = "hold its pad for 10 s until it glows red, let go (it glows blue), then pair again"

Register = Callable[[str, str, bytes, str], ButtonRecord]


class PairingError(HeartlineError, RuntimeError):
    """Pairing did not happen. ``reason`` is short and stable; the message says what to do.

    Reasons: ``busy``, ``no_button``, ``several_buttons``, ``known`` (that address is registered:
    pair with ``replace`` to re-key it), ``connect_failed``, ``refused``, ``exchange_failed``,
    ``unconfirmed``, ``timeout``.
    """

    def __init__(self, reason: str, message: str, address: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.address = address


@dataclass(frozen=True, slots=True)
class Sighting:
    """A button heard advertising pairing mode."""

    address: str
    rssi: int
    at: float  # clock.monotonic()


class Pairing:
    """Pairs one button at a time. Feed it every advert with :meth:`on_advert`.

    ``register`` stores the paired button; the hub passes ``Hub.add_button`` so ingest reloads
    its keys, and the default is ``registry.upsert``.
    """

    def __init__(
        self,
        transport: BleTransport,
        registry: ButtonRegistry,
        clock: Clock,
        *,
        register: Register | None = None,
        settle_s: float = SETTLE_S,
        exchange_timeout_s: float = EXCHANGE_TIMEOUT_S,
    ) -> None:
        self._transport = transport
        self._registry = registry
        self._clock = clock
        self._register = register or registry.upsert
        self._settle_s = settle_s
        self._exchange_timeout_s = exchange_timeout_s
        self._lock = asyncio.Lock()
        self._listening = False
        self._seen: dict[str, Sighting] = {}
        self._heard = asyncio.Event()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    # -- hot path: every advert the hub's scanner hears ------------------------------------

    def on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """Note buttons in pairing mode while a pairing runs; otherwise costs one attribute read."""
        if not self._listening or advertisement.local_name != PAIRING_NAME:
            return
        address = device.address.upper()
        self._seen[address] = Sighting(address, advertisement.rssi, self._clock.monotonic())
        self._heard.set()

    # -- pairing ---------------------------------------------------------------------------

    async def pair(self, owner: str, timeout_s: float, *, replace: bool = False) -> ButtonRecord:
        """Find the one button in pairing mode within ``timeout_s``, pair it, store it for ``owner``.
        A button already registered is left alone (still in pairing mode) unless ``replace``."""
        if not owner:
            raise ValueError("owner must not be empty")
        if self._lock.locked():
            raise PairingError("busy", "a pairing is already running on this hub; wait for it to finish")
        async with self._lock:
            sighting = await self._find(timeout_s)
            address = sighting.address
            known = self._registry.by_address(address)
            if known is not None and not replace:
                raise PairingError(
                    "known",
                    f"button {address} is already registered (button {known.id}, {known.owner}'s); "
                    "pairing it again replaces its key and owner: pair again with --replace "
                    "(the dashboard asks first) while it is still in pairing mode",
                    address,
                )
            _LOGGER.info("pairing button %s (RSSI %d dBm) for %s", address, sighting.rssi, owner)
            try:
                async with asyncio.timeout(self._exchange_timeout_s):
                    key = await self._exchange(address)
            except TimeoutError as ex:
                raise PairingError(
                    "timeout",
                    f"pairing with button {address} did not finish within {self._exchange_timeout_s:g} s; "
                    f"keep it near the hub and pair again (if its 3 minutes are over, {_RESET_HINT})",
                    address,
                ) from ex
            record = self._register(address, KIND, key, owner)
            # The confirming command used a counter; record it, so the next one is higher.
            self._registry.next_command_counter(record.id, at_least=0)
            stored = self._registry.by_address(address) or record
            _LOGGER.info("paired button %d (%s) for %s", stored.id, address, owner)
            return stored

    async def _find(self, timeout_s: float) -> Sighting:
        self._seen.clear()
        self._heard.clear()
        self._listening = True
        try:
            try:
                async with asyncio.timeout(timeout_s):
                    await self._heard.wait()
            except TimeoutError as ex:
                raise PairingError(
                    "no_button",
                    f"no button in pairing mode within {timeout_s:g} s; to pair a button, {_RESET_HINT}"
                    " (a new button is in pairing mode for 3 minutes after power-on)",
                ) from ex
            await asyncio.sleep(self._settle_s)  # a second button in pairing mode must be heard too
        finally:
            self._listening = False
        now = self._clock.monotonic()
        fresh = sorted(
            (s for s in self._seen.values() if now - s.at <= FRESH_S), key=lambda s: s.address
        ) or list(self._seen.values())
        if len(fresh) > 1:
            addresses = ", ".join(s.address for s in fresh)
            raise PairingError(
                "several_buttons",
                f"{len(fresh)} buttons are in pairing mode ({addresses}); pair one at a time: wait "
                "3 minutes for the others to leave pairing mode (or switch them off), then pair again",
            )
        return fresh[0]

    async def _exchange(self, address: str) -> bytes:
        client = await self._connect(address)
        try:
            status, button_public = await self._read_status(client, address)
            if status != pairing.OPEN:
                raise PairingError(
                    "refused",
                    f"button {address} is not waiting for a key (it is {pairing.STATUS_NAMES[status]}); "
                    f"{_RESET_HINT}",
                    address,
                )
            hub_private = X25519PrivateKey.generate()
            hub_public = hub_private.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            try:
                await client.write_gatt_char(
                    gatt.PROVISION_UUID, pairing.hub_key_value(hub_public), response=True
                )
            except BleakError as ex:
                raise PairingError(
                    "refused",
                    f"button {address} refused the hub's key ({ex}); another device may have paired "
                    f"with it first: {_RESET_HINT}",
                    address,
                ) from ex
            echoed = await self._wait_paired(client, address)
            if echoed != button_public:
                raise PairingError(
                    "exchange_failed",
                    f"button {address} changed its public key during pairing; {_RESET_HINT}",
                    address,
                )
            try:
                shared = hub_private.exchange(X25519PublicKey.from_public_bytes(button_public))
            except ValueError as ex:  # a low-order point: not a real button's key
                raise PairingError(
                    "exchange_failed", f"button {address} sent an unusable public key; {_RESET_HINT}", address
                ) from ex
            key = derive_key(shared, command.mac_bytes(address), button_public, hub_public)
            await self._confirm(client, address, key)
            return key
        finally:
            try:
                await client.disconnect()
            except BleakError as ex:
                _LOGGER.debug("disconnect from %s failed: %s", address, ex)

    async def _connect(self, address: str) -> BleakClientWithServiceCache:
        try:
            return await establish_connection(
                BleakClientWithServiceCache,
                self._transport.ble_device(address),
                f"pairing {address}",
                max_attempts=CONNECT_ATTEMPTS,
                use_services_cache=False,  # a reset button may have new firmware: read its table afresh
                **self._transport.client_kwargs(),
            )
        except (BleakDeviceNotFoundError, BleakError) as ex:
            raise PairingError(
                "connect_failed",
                f"could not connect to button {address} ({ex}); bring it next to the hub and pair again",
                address,
            ) from ex

    @staticmethod
    async def _read_status(client: BleakClientWithServiceCache, address: str) -> tuple[int, bytes]:
        try:
            value = await client.read_gatt_char(gatt.PROVISION_UUID)
            return pairing.parse_status(bytes(value))
        except BleakError as ex:
            raise PairingError(
                "exchange_failed",
                f"could not read button {address}'s pairing state ({ex}); pair again",
                address,
            ) from ex
        except ValueError as ex:
            raise PairingError(
                "exchange_failed",
                f"button {address} does not speak pairing version {pairing.VERSION} ({ex}); "
                "update its firmware",
                address,
            ) from ex

    async def _wait_paired(self, client: BleakClientWithServiceCache, address: str) -> bytes:
        """Poll until the button reports ``paired`` (bounded by the exchange timeout)."""
        while True:
            status, public = await self._read_status(client, address)
            if status == pairing.PAIRED:
                return public
            if status == pairing.CLOSED:
                raise PairingError(
                    "refused",
                    f"button {address} closed pairing mode without taking the hub's key; {_RESET_HINT}",
                    address,
                )
            await asyncio.sleep(STATUS_POLL_S)  # open (a board acks before it looks) or deriving

    async def _confirm(self, client: BleakClientWithServiceCache, address: str, key: bytes) -> None:
        """The first authenticated command: the button buzzes, and its counter proves the key."""
        accepted = await self._accepted_counter(client, address)
        counter = accepted + 1
        frame = command.pack_feedback(
            _block_cipher(key),
            command.mac_bytes(address),
            counter,
            CONFIRM_PATTERN,
            CONFIRM_RGB,
            CONFIRM_DECISECONDS,
        )
        try:
            before = await read_state(client)
            await client.write_gatt_char(gatt.COMMAND_UUID, frame, response=True)
            # The button verifies in a task after the write is acknowledged: await its outcome.
            accepted = (await await_outcome(client, counter, before)).accepted
        except (BleakError, struct.error, TimeoutError) as ex:
            raise _unconfirmed(address, str(ex) or "no outcome from the button") from ex
        if accepted != counter:
            raise _unconfirmed(address, "the button did not accept it")

    @staticmethod
    async def _accepted_counter(client: BleakClientWithServiceCache, address: str) -> int:
        try:
            counter = (await read_state(client)).accepted
        except (BleakError, struct.error) as ex:
            raise PairingError(
                "exchange_failed", f"could not read button {address}'s state ({ex}); pair again", address
            ) from ex
        return int(counter)


def derive_key(shared: bytes, mac: bytes, button_public: bytes, hub_public: bytes) -> bytes:
    """The button key from the X25519 shared secret (HKDF-SHA256; the firmware's twin is
    ``device.pairing.derive_key``, cross-checked in tests/device/test_reset.py)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=pairing.KEY_LEN,
        salt=pairing.SALT,
        info=pairing.INFO + mac + button_public + hub_public,
    ).derive(shared)


def _unconfirmed(address: str, detail: str) -> PairingError:
    return PairingError(
        "unconfirmed",
        f"button {address} did not accept the hub's first command with the new key ({detail}); "
        f"the exchange was garbled or tampered with, so nothing was stored: {_RESET_HINT}",
        address,
    )


def _block_cipher(key: bytes) -> Callable[[bytes], bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - CCM's block primitive
    return encryptor.update
