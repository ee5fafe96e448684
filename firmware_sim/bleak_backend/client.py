"""``BaseBleakClient`` over the simulated air: connect, discover services, read, write."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

from firmware_sim.air import protocol
from firmware_sim.bleak_backend.link import AirLink, AirLinkError

_LOGGER = logging.getLogger(__name__)

# BlueZ reports 23 (the ATT minimum) until an exchange; the simulated link does the same.
DEFAULT_MTU = 23


class AirClient(BaseBleakClient):
    """GATT client on the simulated air. Use as ``BleakClient(addr, backend=AirClient, air=link)``."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        air: AirLink,
        disconnected_callback: Any = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=disconnected_callback,
            timeout=timeout,
        )
        del kwargs  # services=, bluez=, winrt= do not apply to the air
        self._air = air
        self._conn: int | None = None
        self._notify: dict[int, NotifyCallback] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._conn is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        del kwargs
        if pair:
            raise BleakError(
                "the simulated air has no link-layer pairing; Heartline authenticates in the application"
            )
        try:
            answer = await self._air.request(
                {"op": "connect", "addr": self.address},
                wait_s=self._timeout,
            )
        except AirLinkError as ex:
            if ex.status == protocol.AIR_NOT_FOUND:
                raise BleakDeviceNotFoundError(
                    self.address,
                    f"Device with address {self.address} was not found in range.",
                ) from ex
            raise BleakError(f"connect to {self.address} failed: {ex}") from ex
        self._conn = int(answer["conn"])
        self.services = _service_collection(answer.get("services", []))
        self._air.watch_connection(self._conn, self._on_notify, self._on_disconnected)

    async def disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        self._air.forget_connection(conn)
        if self._air.is_open:
            self._air.send_disconnect(conn)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is done by Heartline's provisioning, not by the link layer")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is done by Heartline's provisioning, not by the link layer")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        answer = await self._gatt({"op": "read", "handle": characteristic.handle})
        return bytearray.fromhex(str(answer.get("data", "")))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        raise BleakError("the simulated buttons expose no descriptors")

    async def write_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        data: Any,
        response: bool,
    ) -> None:
        await self._gatt({"op": "write", "handle": characteristic.handle, "data": bytes(data).hex()})

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("the simulated buttons expose no descriptors")

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        self._notify[characteristic.handle] = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._notify.pop(characteristic.handle, None)

    async def _gatt(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._conn is None:
            raise BleakError("Not connected")
        try:
            return await self._air.request({**message, "conn": self._conn}, wait_s=self._timeout)
        except AirLinkError as ex:
            if ex.status == protocol.AIR_NOT_CONNECTED:
                self._conn = None
            raise BleakError(f"{message['op']} on handle {message['handle']} failed: {ex}") from ex

    def _on_notify(self, conn: int, handle: int, data: bytes) -> None:
        del conn
        callback = self._notify.get(handle)
        if callback is not None:
            callback(bytearray(data))

    def _on_disconnected(self, conn: int) -> None:
        del conn
        self._conn = None
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)


def _service_collection(services: list[dict[str, Any]]) -> BleakGATTServiceCollection:
    collection = BleakGATTServiceCollection()
    for service_spec in services:
        chars = service_spec.get("chars", [])
        first = min((int(c["handle"]) for c in chars), default=1)
        service = BleakGATTService(None, first - 1, str(service_spec["uuid"]).lower())
        collection.add_service(service)
        for char in chars:
            characteristic = BleakGATTCharacteristic(
                None,
                int(char["handle"]),
                str(char["uuid"]).lower(),
                cast("list[CharacteristicPropertyName]", list(char.get("props", []))),
                lambda: DEFAULT_MTU - 3,
                service,
            )
            collection.add_characteristic(characteristic)
    return collection
