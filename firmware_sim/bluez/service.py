"""A fake ``org.bluez``: BlueZ's D-Bus objects for one adapter, backed by a simulated radio.

It serves what bleak's own BlueZ backend (``bleak.backends.bluezdbus``) calls, with BlueZ's
names, signatures, error names and signal order, so bleak runs unchanged against it:

* ``/``: ``org.freedesktop.DBus.ObjectManager.GetManagedObjects``; ``InterfacesAdded`` and
  ``InterfacesRemoved`` signals (all interfaces of a new object in one signal, as BlueZ does).
* every object: ``org.freedesktop.DBus.Properties`` ``Get``/``GetAll``/``Set`` and
  ``PropertiesChanged`` carrying only what changed.
* ``/org/bluez/hciN``: ``org.bluez.Adapter1`` (``StartDiscovery``/``StopDiscovery`` per D-Bus
  client, ``SetDiscoveryFilter``, ``GetDiscoveryFilters``, ``RemoveDevice``; ``Powered`` is
  writable).
* ``…/dev_XX_…``: ``org.bluez.Device1`` made from adverts heard while discovering
  (``Connect``, ``Disconnect``); after ``Connect`` the peripheral's GATT table as
  ``org.bluez.GattService1`` / ``org.bluez.GattCharacteristic1`` objects (``ReadValue``,
  ``WriteValue``, ``StartNotify``, ``StopNotify``), ATT errors mapped as BlueZ's
  ``create_gatt_dbus_error`` maps them.

Left out (bleak gets BlueZ's own "unknown method" answer): passive scanning
(``AdvertisementMonitorManager1``), pairing and bonding, ``AcquireWrite``/``AcquireNotify``,
GATT descriptors, BR/EDR.

Fault injection for tests (the adapter watchdog's tests use these): :meth:`FakeBlueZ.fail_next`
makes the next call(s) of a method answer with a BlueZ error, :meth:`FakeBlueZ.set_powered`
powers the adapter off or on as ``rfkill`` or a firmware crash would, and
:meth:`FakeBlueZ.remove_device` drops a device as BlueZ does when it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from firmware_sim.air import protocol
from firmware_sim.bleak_backend.advertising import ParsedAdvertisement, parse_advertisement

_LOGGER = logging.getLogger(__name__)

BLUEZ_SERVICE: Final = "org.bluez"
OBJECT_MANAGER: Final = "org.freedesktop.DBus.ObjectManager"
PROPERTIES: Final = "org.freedesktop.DBus.Properties"
INTROSPECTABLE: Final = "org.freedesktop.DBus.Introspectable"
ADAPTER1: Final = "org.bluez.Adapter1"
DEVICE1: Final = "org.bluez.Device1"
GATT_SERVICE1: Final = "org.bluez.GattService1"
GATT_CHARACTERISTIC1: Final = "org.bluez.GattCharacteristic1"

# BlueZ's error names and the texts bluetoothd sends with them (src/error.c).
ERROR_FAILED: Final = "org.bluez.Error.Failed"
ERROR_IN_PROGRESS: Final = "org.bluez.Error.InProgress"
ERROR_NOT_READY: Final = "org.bluez.Error.NotReady"
ERROR_NOT_PERMITTED: Final = "org.bluez.Error.NotPermitted"
ERROR_NOT_AUTHORIZED: Final = "org.bluez.Error.NotAuthorized"
ERROR_NOT_SUPPORTED: Final = "org.bluez.Error.NotSupported"
ERROR_INVALID_ARGUMENTS: Final = "org.bluez.Error.InvalidArguments"
ERROR_DOES_NOT_EXIST: Final = "org.bluez.Error.DoesNotExist"
DBUS_UNKNOWN_OBJECT: Final = "org.freedesktop.DBus.Error.UnknownObject"
DBUS_UNKNOWN_METHOD: Final = "org.freedesktop.DBus.Error.UnknownMethod"
DBUS_UNKNOWN_PROPERTY: Final = "org.freedesktop.DBus.Error.UnknownProperty"
DBUS_PROPERTY_READ_ONLY: Final = "org.freedesktop.DBus.Error.PropertyReadOnly"
DBUS_INVALID_ARGS: Final = "org.freedesktop.DBus.Error.InvalidArgs"
DEFAULT_ERROR_TEXT: Final = {
    ERROR_FAILED: "Operation failed",
    ERROR_IN_PROGRESS: "In Progress",
    ERROR_NOT_READY: "Resource Not Ready",
    ERROR_NOT_PERMITTED: "Operation Not Permitted",
    ERROR_NOT_AUTHORIZED: "Operation Not Authorized",
    ERROR_NOT_SUPPORTED: "Operation is not supported",
    ERROR_INVALID_ARGUMENTS: "Invalid arguments in method call",
    ERROR_DOES_NOT_EXIST: "Does Not Exist",
}
# What bluetoothd answers Connect with when the kernel's LE create-connection timed out
# (ETIMEDOUT -> "le-connection-timeout", BlueZ >= 5.62): the device is not in range.
CONNECT_TIMEOUT_TEXT: Final = "le-connection-timeout"
# The filters BlueZ's GetDiscoveryFilters lists (org.bluez.Adapter.rst).
DISCOVERY_FILTERS: Final = (
    "UUIDs",
    "RSSI",
    "Pathloss",
    "Transport",
    "DuplicateData",
    "Discoverable",
    "Pattern",
)
# ATT MTU a Pi's controller typically negotiates with a modern peripheral; bleak derives the
# write-without-response size from it (MTU - 3).
DEFAULT_MTU: Final = 247
# Connect waits this long for the air; bleak's own connect timeout is usually shorter.
CONNECT_TIMEOUT_S: Final = 10.0
# Closing our own bus connection takes one loop turn; seconds mean the daemon is gone.
STOP_TIMEOUT_S: Final = 5.0

# ATT error codes that BlueZ turns into dedicated D-Bus errors (Core Spec Vol 3 Part F 3.4.1.1).
_ATT_READ_NOT_PERMITTED: Final = 0x02
_ATT_WRITE_NOT_PERMITTED: Final = 0x03
_ATT_INSUFFICIENT_AUTHENTICATION: Final = 0x05
_ATT_REQUEST_NOT_SUPPORTED: Final = 0x06
_ATT_INVALID_OFFSET: Final = 0x07
_ATT_INSUFFICIENT_AUTHORIZATION: Final = 0x08
_ATT_INSUFFICIENT_ENCRYPTION_KEY_SIZE: Final = 0x0C
_ATT_INVALID_ATTRIBUTE_VALUE_LENGTH: Final = 0x0D
_ATT_INSUFFICIENT_ENCRYPTION: Final = 0x0F

Properties = dict[str, Variant]
# D-Bus booleans; dbus-fast's Variant takes the value positionally.
_TRUE: Final = Variant("b", True)  # noqa: FBT003
_FALSE: Final = Variant("b", False)  # noqa: FBT003


class BlueZError(Exception):
    """A D-Bus error reply, by BlueZ's error name."""

    def __init__(self, name: str, text: str | None = None) -> None:
        self.name = name
        self.text = text if text is not None else DEFAULT_ERROR_TEXT.get(name, name)
        super().__init__(f"[{name}] {self.text}")


_ATT_ERRORS: Final = {
    _ATT_READ_NOT_PERMITTED: (ERROR_NOT_PERMITTED, "Read not permitted"),
    _ATT_WRITE_NOT_PERMITTED: (ERROR_NOT_PERMITTED, "Write not permitted"),
    _ATT_INSUFFICIENT_AUTHENTICATION: (ERROR_NOT_PERMITTED, "Not paired"),
    _ATT_INSUFFICIENT_ENCRYPTION: (ERROR_NOT_PERMITTED, "Not paired"),
    _ATT_INSUFFICIENT_ENCRYPTION_KEY_SIZE: (ERROR_NOT_PERMITTED, "Not paired"),
    _ATT_INVALID_OFFSET: (ERROR_INVALID_ARGUMENTS, "Invalid offset"),
    _ATT_INVALID_ATTRIBUTE_VALUE_LENGTH: (ERROR_INVALID_ARGUMENTS, "Invalid Length"),
    _ATT_INSUFFICIENT_AUTHORIZATION: (ERROR_NOT_AUTHORIZED, None),
    _ATT_REQUEST_NOT_SUPPORTED: (ERROR_NOT_SUPPORTED, None),
}


def att_error(status: int) -> BlueZError:
    """The D-Bus error bluetoothd sends for an ATT error response (create_gatt_dbus_error)."""
    if status in _ATT_ERRORS:
        return BlueZError(*_ATT_ERRORS[status])
    if status == 0 or status > 0xFF:  # no ATT code: the link failed under the request
        return BlueZError(ERROR_FAILED, "Operation failed")
    return BlueZError(ERROR_FAILED, f"Operation failed with ATT error: 0x{status:02x}")


# -- what the fake needs from a radio ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Characteristic:
    uuid: str
    handle: int  # the value handle, as the peripheral's GATT table names it
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Service:
    uuid: str
    characteristics: tuple[Characteristic, ...]


class RadioError(ConnectionError):
    """The radio could not do it; ``status`` is an ATT error code or an air status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RadioListener(Protocol):
    def advert_heard(self, address: str, data: bytes, rssi: int) -> None: ...
    def notified(self, conn: int, handle: int, data: bytes) -> None: ...
    def link_lost(self, conn: int) -> None: ...


class Radio(Protocol):
    """A central radio the fake adapter drives (``bridge.AirRadio`` on the simulated air)."""

    def bind(self, listener: RadioListener) -> None: ...
    def start_scan(self) -> None: ...
    def stop_scan(self) -> None: ...
    async def connect(self, address: str) -> tuple[int, list[Service]]: ...
    async def read(self, conn: int, handle: int) -> bytes: ...
    async def write(self, conn: int, handle: int, data: bytes) -> None: ...
    def disconnect(self, conn: int) -> None: ...


# -- object state ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Fault:
    member: str
    error: BlueZError
    times: int
    path: str | None


@dataclass(slots=True, eq=False)
class _Char:
    path: str
    info: Characteristic
    busy: bool = False


@dataclass(slots=True, eq=False)
class _Device:
    path: str
    address: str
    conn: int | None = None
    connecting: bool = False
    chars: dict[int, _Char] = field(default_factory=dict)  # by value handle
    service_paths: list[str] = field(default_factory=list)
    disconnect_replies: list[Message] = field(default_factory=list)


class FakeBlueZ:
    """``org.bluez`` on ``bus_address`` with one adapter driven by ``radio``."""

    def __init__(
        self,
        bus_address: str,
        radio: Radio,
        *,
        adapter: str = "hci0",
        address: str = "B8:27:EB:00:00:01",
        mtu: int = DEFAULT_MTU,
    ) -> None:
        self.bus_address = bus_address
        self.radio = radio
        self.adapter = adapter
        self.adapter_path = f"/org/bluez/{adapter}"
        self.address = address.upper()
        self.mtu = mtu
        self.calls: list[tuple[str, str]] = []  # (member, path) of every org.bluez call, for tests
        self._bus: MessageBus | None = None
        self._objects: dict[str, dict[str, Properties]] = {}
        self._devices: dict[str, _Device] = {}  # by path
        self._sessions: set[str] = set()  # D-Bus senders with a discovery session
        self._filters: dict[str, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._scanning = False
        self.changed = asyncio.Event()  # set whenever the object tree or a property changes

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        bus = MessageBus(bus_address=self.bus_address)
        await bus.connect()
        self._bus = bus
        bus.add_message_handler(self._on_message)
        await self._call_daemon(
            "AddMatch",
            "s",
            [
                (
                    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                    "member='NameOwnerChanged'"
                ),
            ],
        )
        self.radio.bind(self)
        self._add_object(self.adapter_path, {ADAPTER1: self._adapter_properties()})
        reply = await bus.request_name(BLUEZ_SERVICE)
        _LOGGER.debug("fake BlueZ owns %s (%s) on %s", BLUEZ_SERVICE, reply, self.bus_address)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._scanning:
            self._scanning = False
            with contextlib.suppress(ConnectionError):
                self.radio.stop_scan()
        for device in self._devices.values():
            if device.conn is not None:
                with contextlib.suppress(ConnectionError):
                    self.radio.disconnect(device.conn)
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]  # unannotated in dbus-fast

    # -- what tests look at and do --------------------------------------------------------

    @property
    def powered(self) -> bool:
        return bool(self._objects[self.adapter_path][ADAPTER1]["Powered"].value)

    @property
    def discovering(self) -> bool:
        return bool(self._objects[self.adapter_path][ADAPTER1]["Discovering"].value)

    def device_path(self, address: str) -> str:
        return f"{self.adapter_path}/dev_{address.upper().replace(':', '_')}"

    def device_properties(self, address: str) -> dict[str, Any] | None:
        """A device's Device1 properties as plain values, or None if BlueZ does not know it."""
        interfaces = self._objects.get(self.device_path(address))
        if interfaces is None:
            return None
        return {name: variant.value for name, variant in interfaces[DEVICE1].items()}

    def is_connected(self, address: str) -> bool:
        device = self._devices.get(self.device_path(address))
        return device is not None and device.conn is not None

    def fail_next(
        self,
        member: str,
        error: str = ERROR_IN_PROGRESS,
        text: str | None = None,
        *,
        times: int = 1,
        path: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``member`` (on ``path``, if given) with ``error``."""
        self._faults.append(_Fault(member, BlueZError(error, text), times, path))

    def set_powered(self, powered: bool) -> None:
        """Power the adapter on or off, as ``rfkill``, a controller reset or a user would."""
        if powered == self.powered:
            return
        if not powered:
            for device in list(self._devices.values()):
                if device.conn is not None:
                    with contextlib.suppress(ConnectionError):
                        self.radio.disconnect(device.conn)
                    self._disconnected(device)
            self._sessions.clear()
            self._filters.clear()
        self._set(
            self.adapter_path,
            ADAPTER1,
            {
                "Powered": Variant("b", powered),
                "PowerState": Variant("s", "on" if powered else "off"),
            },
        )
        self._update_discovering()

    def remove_device(self, address: str) -> bool:
        """Forget a device (disconnecting it first), as RemoveDevice or BlueZ's expiry does."""
        device = self._devices.get(self.device_path(address))
        if device is None:
            return False
        self._remove_device(device)
        return True

    # -- radio events (RadioListener) ------------------------------------------------------

    def advert_heard(self, address: str, data: bytes, rssi: int) -> None:
        if not self.discovering:
            return
        address = address.upper()
        parsed = parse_advertisement(data)
        path = self.device_path(address)
        interfaces = self._objects.get(path)
        if interfaces is None:
            self._devices[path] = _Device(path, address)
            self._add_object(path, {DEVICE1: self._new_device_properties(address, parsed, rssi)})
        else:
            self._set(path, DEVICE1, _advert_update(interfaces[DEVICE1], parsed, rssi))

    def _new_device_properties(self, address: str, parsed: ParsedAdvertisement, rssi: int) -> Properties:
        props: Properties = {
            "Address": Variant("s", address),
            "AddressType": Variant("s", _address_type(address)),
            "Alias": Variant("s", parsed.local_name or address.replace(":", "-")),
            "Paired": _FALSE,
            "Bonded": _FALSE,
            "Trusted": _FALSE,
            "Blocked": _FALSE,
            "LegacyPairing": _FALSE,
            "Connected": _FALSE,
            "ServicesResolved": _FALSE,
            "UUIDs": Variant("as", list(dict.fromkeys(parsed.service_uuids))),
            "Adapter": Variant("o", self.adapter_path),
            "RSSI": Variant("n", rssi),
        }
        if parsed.local_name is not None:
            props["Name"] = Variant("s", parsed.local_name)
        if parsed.tx_power is not None:
            props["TxPower"] = Variant("n", parsed.tx_power)
        if parsed.manufacturer_data:
            props["ManufacturerData"] = _manufacturer_variant(parsed.manufacturer_data)
        if parsed.service_data:
            props["ServiceData"] = _service_data_variant(parsed.service_data)
        return props

    def notified(self, conn: int, handle: int, data: bytes) -> None:
        for device in self._devices.values():
            if device.conn == conn and (char := device.chars.get(handle)) is not None:
                if self._objects[char.path][GATT_CHARACTERISTIC1]["Notifying"].value:
                    self._set(char.path, GATT_CHARACTERISTIC1, {"Value": Variant("ay", data)}, force=True)
                return

    def link_lost(self, conn: int) -> None:
        for device in list(self._devices.values()):
            if device.conn == conn:
                self._disconnected(device)

    # -- D-Bus dispatch ---------------------------------------------------------------------

    def _on_message(self, msg: Message) -> Message | bool | None:
        if msg.message_type == MessageType.SIGNAL:
            if msg.member == "NameOwnerChanged" and msg.sender == "org.freedesktop.DBus":
                name, _old, new = msg.body
                if not new and name.startswith(":"):
                    self._client_left(name)
            return None
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        try:
            return self._dispatch(msg)
        except BlueZError as ex:
            return Message.new_error(msg, ex.name, ex.text)

    def _dispatch(self, msg: Message) -> Message | bool | None:
        path = msg.path or "/"
        interface = msg.interface or ""
        member = msg.member or ""
        if interface == OBJECT_MANAGER and member == "GetManagedObjects":
            if path != "/":
                raise BlueZError(DBUS_UNKNOWN_METHOD, f"No ObjectManager at {path}")
            return self._managed_objects(msg)
        if path not in self._objects:
            if interface.startswith("org.bluez") or interface == PROPERTIES:
                raise BlueZError(DBUS_UNKNOWN_OBJECT, f"Method {member!r} on unknown object {path}")
            return None  # Introspect and Peer: dbus-fast's defaults answer
        self.calls.append((member, path))
        self._check_faults(member, path)
        if interface == PROPERTIES:
            return self._properties_call(msg, path, member)
        handler = self._handlers().get((interface, member))
        if handler is None or interface not in self._objects[path]:
            raise BlueZError(DBUS_UNKNOWN_METHOD, f"Unknown method {interface}.{member}")
        return handler(msg, path)

    def _handlers(self) -> dict[tuple[str, str], Callable[[Message, str], Message | bool]]:
        return {
            (ADAPTER1, "StartDiscovery"): self._start_discovery,
            (ADAPTER1, "StopDiscovery"): self._stop_discovery,
            (ADAPTER1, "SetDiscoveryFilter"): self._set_discovery_filter,
            (ADAPTER1, "GetDiscoveryFilters"): self._get_discovery_filters,
            (ADAPTER1, "RemoveDevice"): self._remove_device_call,
            (DEVICE1, "Connect"): self._connect,
            (DEVICE1, "Disconnect"): self._disconnect,
            (DEVICE1, "Pair"): self._not_supported,
            (GATT_CHARACTERISTIC1, "ReadValue"): self._read_value,
            (GATT_CHARACTERISTIC1, "WriteValue"): self._write_value,
            (GATT_CHARACTERISTIC1, "StartNotify"): self._start_notify,
            (GATT_CHARACTERISTIC1, "StopNotify"): self._stop_notify,
            (GATT_CHARACTERISTIC1, "AcquireWrite"): self._not_supported,
            (GATT_CHARACTERISTIC1, "AcquireNotify"): self._not_supported,
        }

    def _check_faults(self, member: str, path: str) -> None:
        for fault in self._faults:
            if fault.member == member and fault.path in (None, path):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                raise fault.error

    def _managed_objects(self, msg: Message) -> Message:
        body = {
            path: {INTROSPECTABLE: {}, PROPERTIES: {}, **interfaces}
            for path, interfaces in self._objects.items()
        }
        return Message.new_method_return(msg, "a{oa{sa{sv}}}", [body])

    def _properties_call(self, msg: Message, path: str, member: str) -> Message:
        interfaces = self._objects[path]
        if member == "GetAll" and msg.signature == "s":
            return Message.new_method_return(msg, "a{sv}", [dict(interfaces.get(msg.body[0], {}))])
        if member == "Get" and msg.signature == "ss":
            props = interfaces.get(msg.body[0], {})
            if msg.body[1] not in props:
                raise BlueZError(DBUS_INVALID_ARGS, f"No such property '{msg.body[1]}'")
            return Message.new_method_return(msg, "v", [props[msg.body[1]]])
        if member == "Set" and msg.signature == "ssv":
            interface, name, value = msg.body
            self._set_property(path, interface, name, value)
            return Message.new_method_return(msg)
        raise BlueZError(DBUS_UNKNOWN_METHOD, f"Unknown method Properties.{member}")

    def _set_property(self, path: str, interface: str, name: str, value: Variant) -> None:
        props = self._objects[path].get(interface)
        if props is None or name not in props:
            raise BlueZError(DBUS_INVALID_ARGS, f"No such property '{name}'")
        if value.signature != props[name].signature:
            raise BlueZError(ERROR_INVALID_ARGUMENTS)
        if interface == ADAPTER1 and name == "Powered":
            self.set_powered(bool(value.value))
        elif (interface, name) in {
            (ADAPTER1, "Alias"),
            (ADAPTER1, "Discoverable"),
            (ADAPTER1, "Pairable"),
            (DEVICE1, "Trusted"),
            (DEVICE1, "Blocked"),
            (DEVICE1, "Alias"),
        }:
            self._set(path, interface, {name: value})
        else:
            raise BlueZError(DBUS_PROPERTY_READ_ONLY, f"Property '{name}' is not writable")

    # -- Adapter1 -------------------------------------------------------------------------

    def _start_discovery(self, msg: Message, path: str) -> Message:
        del path
        if not self.powered:
            raise BlueZError(ERROR_NOT_READY)
        sender = msg.sender or ""
        if sender in self._sessions:
            # "Every client can only start one discovery" (adapter.c start_discovery).
            raise BlueZError(ERROR_IN_PROGRESS, "Operation already in progress")
        self._sessions.add(sender)
        self._update_discovering()
        return Message.new_method_return(msg)

    def _stop_discovery(self, msg: Message, path: str) -> Message:
        del path
        if not self.powered:
            raise BlueZError(ERROR_NOT_READY)
        sender = msg.sender or ""
        if sender not in self._sessions:
            raise BlueZError(ERROR_FAILED, "No discovery started")
        self._sessions.discard(sender)
        self._update_discovering()
        return Message.new_method_return(msg)

    def _set_discovery_filter(self, msg: Message, path: str) -> Message:
        del path
        if msg.signature != "a{sv}":
            raise BlueZError(ERROR_INVALID_ARGUMENTS)
        if not self.powered:
            raise BlueZError(ERROR_NOT_READY)
        filters = {key: variant.value for key, variant in msg.body[0].items()}
        unknown = set(filters) - set(DISCOVERY_FILTERS)
        if unknown or filters.get("Transport", "le") not in ("auto", "bredr", "le"):
            raise BlueZError(ERROR_INVALID_ARGUMENTS)
        sender = msg.sender or ""
        if filters:
            self._filters[sender] = filters
        else:
            self._filters.pop(sender, None)
        return Message.new_method_return(msg)

    def _get_discovery_filters(self, msg: Message, path: str) -> Message:
        del path
        return Message.new_method_return(msg, "as", [list(DISCOVERY_FILTERS)])

    def _remove_device_call(self, msg: Message, path: str) -> Message:
        del path
        if msg.signature != "o":
            raise BlueZError(ERROR_INVALID_ARGUMENTS)
        device = self._devices.get(msg.body[0])
        if device is None:
            raise BlueZError(ERROR_DOES_NOT_EXIST)
        self._remove_device(device)
        return Message.new_method_return(msg)

    def _update_discovering(self) -> None:
        discovering = self.powered and bool(self._sessions)
        if discovering and not self._scanning:
            self.radio.start_scan()
            self._scanning = True
        elif not discovering and self._scanning:
            self._scanning = False
            with contextlib.suppress(ConnectionError):
                self.radio.stop_scan()
        if discovering != self.discovering:
            self._set(self.adapter_path, ADAPTER1, {"Discovering": Variant("b", discovering)})
            if not discovering:
                # BlueZ forgets what only discovery knew: RSSI and TxPower are invalidated.
                for device in self._devices.values():
                    self._invalidate(device.path, DEVICE1, ["RSSI", "TxPower"])

    def _client_left(self, sender: str) -> None:
        self._filters.pop(sender, None)
        if sender in self._sessions:
            self._sessions.discard(sender)
            self._update_discovering()

    # -- Device1 --------------------------------------------------------------------------

    def _connect(self, msg: Message, path: str) -> Message | bool:
        device = self._devices[path]
        if not self.powered:
            raise BlueZError(ERROR_NOT_READY)
        if device.conn is not None:
            return Message.new_method_return(msg)
        if device.connecting:
            raise BlueZError(ERROR_IN_PROGRESS)
        device.connecting = True
        self._spawn(self._connect_async(msg, device), f"connect {device.address}")
        return True

    async def _connect_async(self, msg: Message, device: _Device) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                conn, services = await self.radio.connect(device.address)
        except (RadioError, TimeoutError) as ex:
            _LOGGER.debug("fake BlueZ: connect to %s failed: %s", device.address, ex)
            self._reply_error(msg, BlueZError(ERROR_FAILED, CONNECT_TIMEOUT_TEXT))
            return
        finally:
            device.connecting = False
        if device.path not in self._devices or not self.powered:
            self.radio.disconnect(conn)
            self._reply_error(msg, BlueZError(ERROR_FAILED, "le-connection-abort-by-local"))
            return
        device.conn = conn
        self._set(device.path, DEVICE1, {"Connected": _TRUE})
        self._send(Message.new_method_return(msg))
        await asyncio.sleep(0)  # BlueZ answers Connect before it finishes resolving services
        if device.conn != conn:
            return
        self._export_gatt(device, services)
        uuids = list(
            dict.fromkeys(
                [*self._objects[device.path][DEVICE1]["UUIDs"].value, *(service.uuid for service in services)]
            )
        )
        self._set(device.path, DEVICE1, {"UUIDs": Variant("as", uuids)})
        self._set(device.path, DEVICE1, {"ServicesResolved": _TRUE})

    def _disconnect(self, msg: Message, path: str) -> Message | bool:
        device = self._devices[path]
        if device.conn is None:
            return Message.new_method_return(msg)
        device.disconnect_replies.append(msg)
        with contextlib.suppress(ConnectionError):
            self.radio.disconnect(device.conn)
        self._disconnected(device)
        return True

    def _disconnected(self, device: _Device) -> None:
        """The link is gone (either side, or power): the order of signals BlueZ sends."""
        if device.conn is None:
            return
        device.conn = None
        self._set(device.path, DEVICE1, {"ServicesResolved": _FALSE})
        for service_path in reversed(device.service_paths):
            for char_path in [p for p in self._objects if p.startswith(f"{service_path}/")]:
                self._remove_object(char_path)
            self._remove_object(service_path)
        device.service_paths.clear()
        device.chars.clear()
        self._set(device.path, DEVICE1, {"Connected": _FALSE})
        replies, device.disconnect_replies = device.disconnect_replies, []
        for reply in replies:
            self._send(Message.new_method_return(reply))

    def _remove_device(self, device: _Device) -> None:
        if device.conn is not None:
            with contextlib.suppress(ConnectionError):
                self.radio.disconnect(device.conn)
            self._disconnected(device)
        del self._devices[device.path]
        self._remove_object(device.path)

    def _export_gatt(self, device: _Device, services: list[Service]) -> None:
        for service in services:
            if not service.characteristics:
                continue
            # The air names value handles; BlueZ's paths use declaration handles.
            service_handle = min(char.handle for char in service.characteristics) - 2
            service_path = f"{device.path}/service{service_handle:04x}"
            self._add_object(
                service_path,
                {
                    GATT_SERVICE1: {
                        "UUID": Variant("s", service.uuid),
                        "Device": Variant("o", device.path),
                        "Primary": _TRUE,
                        "Includes": Variant("ao", []),
                    }
                },
            )
            device.service_paths.append(service_path)
            for info in service.characteristics:
                char_path = f"{service_path}/char{info.handle - 1:04x}"
                props: Properties = {
                    "UUID": Variant("s", info.uuid),
                    "Service": Variant("o", service_path),
                    "Value": Variant("ay", b""),
                    "Flags": Variant("as", list(info.flags)),
                    "MTU": Variant("q", self.mtu),
                }
                if "notify" in info.flags or "indicate" in info.flags:
                    props["Notifying"] = _FALSE
                self._add_object(char_path, {GATT_CHARACTERISTIC1: props})
                device.chars[info.handle] = _Char(char_path, info)

    # -- GattCharacteristic1 ----------------------------------------------------------------

    def _char(self, path: str) -> tuple[_Device, _Char]:
        for device in self._devices.values():
            for char in device.chars.values():
                if char.path == path:
                    if device.conn is None:
                        raise BlueZError(ERROR_FAILED, "Not connected")
                    return device, char
        raise BlueZError(ERROR_FAILED, "Not connected")

    def _read_value(self, msg: Message, path: str) -> bool:
        device, char = self._char(path)
        if char.busy:
            raise BlueZError(ERROR_IN_PROGRESS)
        char.busy = True
        self._spawn(self._gatt_async(msg, device, char, None), f"read {path}")
        return True

    def _write_value(self, msg: Message, path: str) -> Message | bool:
        if msg.signature != "aya{sv}":
            raise BlueZError(ERROR_INVALID_ARGUMENTS)
        device, char = self._char(path)
        options = {key: variant.value for key, variant in msg.body[1].items()}
        kind = options.get("type", "request")
        if kind not in ("request", "command", "reliable"):
            raise BlueZError(ERROR_INVALID_ARGUMENTS)
        if "write" not in char.info.flags and "write-without-response" not in char.info.flags:
            raise BlueZError(ERROR_NOT_SUPPORTED)
        if char.busy:
            raise BlueZError(ERROR_IN_PROGRESS)
        char.busy = True
        self._spawn(self._gatt_async(msg, device, char, bytes(msg.body[0]), kind=kind), f"write {path}")
        return True

    async def _gatt_async(
        self,
        msg: Message,
        device: _Device,
        char: _Char,
        data: bytes | None,
        *,
        kind: str = "request",
    ) -> None:
        conn = device.conn
        assert conn is not None
        try:
            if data is None:
                value = await self.radio.read(conn, char.info.handle)
            else:
                await self.radio.write(conn, char.info.handle, data)
        except RadioError as ex:
            if ex.status in (None, protocol.AIR_NOT_CONNECTED, protocol.AIR_TIMEOUT):
                self._disconnected(device)
                self._reply_error(msg, BlueZError(ERROR_FAILED, "Not connected"))
            elif data is not None and kind == "command":
                self._send(Message.new_method_return(msg))  # a Write Command has no response
            else:
                self._reply_error(msg, att_error(ex.status))
            return
        finally:
            char.busy = False
        if data is None:
            if char.path in self._objects:
                self._set(char.path, GATT_CHARACTERISTIC1, {"Value": Variant("ay", value)})
            self._send(Message.new_method_return(msg, "ay", [value]))
        else:
            self._send(Message.new_method_return(msg))

    def _start_notify(self, msg: Message, path: str) -> Message:
        _device, char = self._char(path)
        if "notify" not in char.info.flags and "indicate" not in char.info.flags:
            raise BlueZError(ERROR_NOT_SUPPORTED)
        self._set(path, GATT_CHARACTERISTIC1, {"Notifying": _TRUE})
        return Message.new_method_return(msg)

    def _stop_notify(self, msg: Message, path: str) -> Message:
        self._char(path)  # raises "Not connected" as BlueZ does
        if "Notifying" in self._objects[path][GATT_CHARACTERISTIC1]:
            self._set(path, GATT_CHARACTERISTIC1, {"Notifying": _FALSE})
        return Message.new_method_return(msg)

    def _not_supported(self, msg: Message, path: str) -> Message:
        del msg, path
        raise BlueZError(ERROR_NOT_SUPPORTED)

    # -- object tree and signals -----------------------------------------------------------

    def _adapter_properties(self) -> Properties:
        return {
            "Address": Variant("s", self.address),
            "AddressType": Variant("s", "public"),
            "Name": Variant("s", "heartline-hub"),
            "Alias": Variant("s", "heartline-hub"),
            "Class": Variant("u", 0),
            "Powered": _TRUE,
            "PowerState": Variant("s", "on"),
            "Discoverable": _FALSE,
            "DiscoverableTimeout": Variant("u", 180),
            "Pairable": _FALSE,
            "PairableTimeout": Variant("u", 0),
            "Discovering": _FALSE,
            "UUIDs": Variant("as", []),
            "Modalias": Variant("s", "usb:v1D6Bp0246d0548"),
            "Roles": Variant("as", ["central", "peripheral"]),
            "ExperimentalFeatures": Variant("as", []),
        }

    def _add_object(self, path: str, interfaces: dict[str, Properties]) -> None:
        self._objects[path] = interfaces
        body = {INTROSPECTABLE: {}, PROPERTIES: {}, **interfaces}
        self._signal("/", OBJECT_MANAGER, "InterfacesAdded", "oa{sa{sv}}", [path, body])

    def _remove_object(self, path: str) -> None:
        interfaces = self._objects.pop(path, None)
        if interfaces is None:
            return
        names = [INTROSPECTABLE, PROPERTIES, *interfaces]
        self._signal("/", OBJECT_MANAGER, "InterfacesRemoved", "oas", [path, names])

    def _set(self, path: str, interface: str, values: Properties, *, force: bool = False) -> None:
        """Update properties; signal only those whose value changed, as BlueZ does."""
        props = self._objects[path][interface]
        changed = {
            name: value
            for name, value in values.items()
            if force or name not in props or props[name] != value
        }
        if not changed:
            return
        props.update(changed)
        self._signal(path, PROPERTIES, "PropertiesChanged", "sa{sv}as", [interface, changed, []])

    def _invalidate(self, path: str, interface: str, names: list[str]) -> None:
        props = self._objects[path][interface]
        gone = [name for name in names if props.pop(name, None) is not None]
        if gone:
            self._signal(path, PROPERTIES, "PropertiesChanged", "sa{sv}as", [interface, {}, gone])

    def _signal(self, path: str, interface: str, member: str, signature: str, body: list[Any]) -> None:
        self.changed.set()
        self._send(Message.new_signal(path, interface, member, signature, body))

    def _send(self, message: Message) -> None:
        if self._bus is None or not self._bus.connected:
            return
        self._bus.send(message).add_done_callback(_consume)

    def _reply_error(self, msg: Message, error: BlueZError) -> None:
        self._send(Message.new_error(msg, error.name, error.text))

    async def _call_daemon(self, member: str, signature: str, body: list[Any]) -> None:
        assert self._bus is not None
        reply = await self._bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member=member,
                signature=signature,
                body=body,
            )
        )
        if reply.message_type == MessageType.ERROR:
            raise BlueZError(reply.error_name or DBUS_UNKNOWN_METHOD, str(reply.body))

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"fake-bluez {name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (ex := task.exception()) is not None:
            _LOGGER.error("fake BlueZ: %s failed", task.get_name(), exc_info=ex)


def _advert_update(current: Properties, parsed: ParsedAdvertisement, rssi: int) -> Properties:
    """What a further advert sets on a known device; ``_set`` then signals only the changes."""
    update: Properties = {"RSSI": Variant("n", rssi)}
    if parsed.local_name is not None:
        update["Name"] = Variant("s", parsed.local_name)
        update["Alias"] = Variant("s", parsed.local_name)
    if parsed.tx_power is not None:
        update["TxPower"] = Variant("n", parsed.tx_power)
    update["UUIDs"] = Variant("as", list(dict.fromkeys([*current["UUIDs"].value, *parsed.service_uuids])))
    # BlueZ merges advertising data into what it already knows, key by key.
    if parsed.manufacturer_data:
        old = _plain(current.get("ManufacturerData"))
        update["ManufacturerData"] = _manufacturer_variant({**old, **parsed.manufacturer_data})
    if parsed.service_data:
        old = _plain(current.get("ServiceData"))
        update["ServiceData"] = _service_data_variant({**old, **parsed.service_data})
    return update


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # a send to a bus that went away; nothing is waiting for it


def _address_type(address: str) -> str:
    # The air carries no address type; a static random address has its two top bits set.
    return "random" if int(address[:2], 16) & 0xC0 == 0xC0 else "public"


def _plain(variant: Variant | None) -> dict[Any, bytes]:
    if variant is None:
        return {}
    return {key: bytes(value.value) for key, value in variant.value.items()}


def _manufacturer_variant(data: dict[int, bytes]) -> Variant:
    return Variant("a{qv}", {company: Variant("ay", value) for company, value in data.items()})


def _service_data_variant(data: dict[str, bytes]) -> Variant:
    return Variant("a{sv}", {uuid: Variant("ay", value) for uuid, value in data.items()})
