"""BLE transports, chosen by a spec string: ``bluez:hci0`` on a Pi, ``sim:HOST:PORT[/NAME]``.

A transport hands out bleak's own ``BleakScanner`` and ``BleakClient`` front classes, bound to
the right backend; everything above this module speaks only bleak's public API.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from bleak import BleakClient, BleakScanner
from bleak.args.bluez import OrPattern, OrPatternLike
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.errors import TransportError

DetectionCallback = Callable[[BLEDevice, AdvertisementData], None]

_SIM_SPEC: Final = re.compile(r"^sim:(?P<host>[^:/]+):(?P<port>\d{1,5})(?:/(?P<name>[\w:.-]+))?$")
_BLUEZ_SPEC: Final = re.compile(r"^bluez:(?P<adapter>hci\d{1,2})$")
PASSIVE_PATTERNS: Final[list[OrPatternLike]] = [
    OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, b"\xd2\xfc"),  # BTHome (UUID 0xFCD2, LE)
    OrPattern(0, AdvertisementDataType.SHORTENED_LOCAL_NAME, b"HL"),  # Heartline devices' idle advert
]
_EXPECTED: Final = "expected 'bluez:hci0' or 'sim:127.0.0.1:7000[/NAME]'"
# Every D-Bus call to bluetoothd gets an answer within this, or counts as failed.
DBUS_TIMEOUT_S: Final = 10.0
# Name a simulated hub's radio gets when the spec does not name it.
DEFAULT_SIM_NAME: Final = "HUB"


@dataclass(frozen=True, slots=True)
class AdapterState:
    """What the adapter says of itself (BlueZ ``org.bluez.Adapter1``: ``Powered``,
    ``Discovering``, and since BlueZ 5.66 ``PowerState``, "off-blocked" under rfkill)."""

    powered: bool
    discovering: bool
    power_state: str | None = None


class BleTransport(Protocol):
    spec: str
    # True where the stack can scan passively (BlueZ advertisement monitors); the scan
    # supervisor tries it first and falls back to active scanning, saying so in the log.
    supports_passive: bool

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def scanner(self, callback: DetectionCallback, *, passive: bool = False) -> BleakScanner: ...
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments that bind a ``BleakClient`` (or a retry connector) to this transport."""
        ...

    def ble_device(self, address: str) -> BLEDevice:
        """A device handle to connect to without a fresh discovery (the hub is always scanning)."""
        ...

    async def power_cycle(self) -> None:
        """Turn the adapter off and on again (the recovery a person would do by hand)."""
        ...

    async def adapter_state(self) -> AdapterState | None:
        """The adapter's own state, or None where the stack has none to tell (the sim)."""
        ...


class BlueZTransport:
    """The real thing: bleak's BlueZ backend on a local adapter."""

    supports_passive = True

    def __init__(self, spec: str, adapter: str) -> None:
        self.spec = spec
        self.adapter = adapter

    async def open(self) -> None:
        return None  # bleak talks to BlueZ per scanner/client; nothing to hold open

    async def close(self) -> None:
        return None

    def scanner(self, callback: DetectionCallback, *, passive: bool = False) -> BleakScanner:
        if passive:
            # Passive scanning needs a filter: adverts carrying BTHome service data (our
            # buttons, off-the-shelf BTHome buttons) and our devices' idle adverts ("HL").
            return BleakScanner(
                callback,
                scanning_mode="passive",
                bluez={"adapter": self.adapter, "or_patterns": PASSIVE_PATTERNS},
            )
        return BleakScanner(callback, scanning_mode="active", bluez={"adapter": self.adapter})

    def client_kwargs(self) -> dict[str, Any]:
        return {"bluez": {"adapter": self.adapter}}

    async def power_cycle(self) -> None:
        from dbus_fast import BusType, Message, MessageType, Variant  # noqa: PLC0415 - Linux only
        from dbus_fast.aio import MessageBus  # noqa: PLC0415

        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation (a hub stopping).
        async with asyncio.timeout(DBUS_TIMEOUT_S):
            bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        try:
            for powered in (False, True):
                async with asyncio.timeout(DBUS_TIMEOUT_S):
                    reply = await bus.call(
                        Message(
                            destination="org.bluez",
                            path=f"/org/bluez/{self.adapter}",
                            interface="org.freedesktop.DBus.Properties",
                            member="Set",
                            signature="ssv",
                            body=["org.bluez.Adapter1", "Powered", Variant("b", powered)],
                        )
                    )
                if reply is None or reply.message_type == MessageType.ERROR:
                    detail = reply.error_name if reply is not None else "no reply"
                    raise TransportError(self.spec, f"setting Powered={powered} failed: {detail}")
        finally:
            bus.disconnect()

    async def adapter_state(self) -> AdapterState:
        from dbus_fast import BusType, Message, MessageType  # noqa: PLC0415 - Linux only
        from dbus_fast.aio import MessageBus  # noqa: PLC0415

        async with asyncio.timeout(DBUS_TIMEOUT_S):
            bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        try:
            async with asyncio.timeout(DBUS_TIMEOUT_S):
                reply = await bus.call(
                    Message(
                        destination="org.bluez",
                        path=f"/org/bluez/{self.adapter}",
                        interface="org.freedesktop.DBus.Properties",
                        member="GetAll",
                        signature="s",
                        body=["org.bluez.Adapter1"],
                    )
                )
        finally:
            bus.disconnect()
        if reply is None or reply.message_type == MessageType.ERROR:
            detail = reply.error_name if reply is not None else "no reply"
            raise TransportError(self.spec, f"reading the adapter's state failed: {detail}")
        props = reply.body[0]
        power_state = props.get("PowerState")
        return AdapterState(
            powered=bool(props["Powered"].value),
            discovering=bool(props["Discovering"].value),
            power_state=str(power_state.value) if power_state is not None else None,
        )

    def ble_device(self, address: str) -> BLEDevice:
        # bleak's BlueZ client connects by object path; passing a bare address would make it
        # start a second discovery, which bluetoothd refuses (InProgress) while the hub scans.
        path = f"/org/bluez/{self.adapter}/dev_{address.upper().replace(':', '_')}"
        return BLEDevice(address.upper(), None, {"path": path, "props": {}})


class SimTransport:
    """bleak over the simulated air (``firmware_sim``), for the demo, tests and scenarios."""

    supports_passive = False  # the air has no scan modes that change what is heard

    def __init__(self, spec: str, host: str, port: int, name: str) -> None:
        from firmware_sim.bleak_backend import AirLink  # noqa: PLC0415 - a Pi never imports the sim

        self.spec = spec
        self.link = AirLink(host, port, name)

    async def open(self) -> None:
        from firmware_sim.bleak_backend import AirLinkError  # noqa: PLC0415

        try:
            await self.link.open()
        except AirLinkError as ex:
            raise TransportError(self.spec, str(ex)) from ex

    async def close(self) -> None:
        await self.link.close()

    def scanner(self, callback: DetectionCallback, *, passive: bool = False) -> BleakScanner:
        from firmware_sim.bleak_backend import AirScanner  # noqa: PLC0415

        mode: Literal["active", "passive"] = "passive" if passive else "active"
        return BleakScanner(callback, scanning_mode=mode, backend=AirScanner, air=self.link)

    def client_kwargs(self) -> dict[str, Any]:
        from firmware_sim.bleak_backend import AirClient  # noqa: PLC0415

        return {"backend": AirClient, "air": self.link}

    def ble_device(self, address: str) -> BLEDevice:
        return BLEDevice(address.upper(), None, None)

    async def adapter_state(self) -> None:
        return None  # the air has no adapter to ask; silence is judged from adverts alone

    async def power_cycle(self) -> None:
        """The simulated adapter leaves the air and joins it again."""
        await self.link.close()
        await self.open()


def make_transport(spec: str) -> BleTransport:
    """Parse a transport spec string; raises TransportError saying what a good one looks like."""
    if match := _BLUEZ_SPEC.match(spec):
        return BlueZTransport(spec, match["adapter"])
    if match := _SIM_SPEC.match(spec):
        port = int(match["port"])
        if not 0 < port < 65536:
            raise TransportError(spec, f"port must be between 1 and 65535; {_EXPECTED}")
        return SimTransport(spec, match["host"], port, match["name"] or DEFAULT_SIM_NAME)
    raise TransportError(spec, _EXPECTED)


def make_client(transport: BleTransport, device: BLEDevice | str, timeout: float) -> BleakClient:
    return BleakClient(device, timeout=timeout, **transport.client_kwargs())
