"""Host shim of MicroPython's low-level ``bluetooth`` module over the simulated air.

One :class:`BLE` per simulated button. The firmware calls it exactly as on a board
(``gap_advertise``, ``gatts_register_services``, ``irq``, ``gatts_read``/``gatts_write``);
what would go on the radio goes to an :class:`AirLink` instead (the simulated button host
turns it into air protocol messages). The host feeds the air's requests back in through the
``deliver_*`` methods, which raise the same irq events a board's stack would.

As strict as an ESP32-C3 running stock MicroPython with NimBLE:

* The irq handler runs on the radio's own thread (:class:`firmware_sim.shims.irq.IrqThread`),
  never in the event loop, as on the board's NimBLE task. asyncio used from there is refused
  (:func:`firmware_sim.shims.irq.guard_loop`); ``asyncio.ThreadSafeFlag`` wakes the loop.
* An exception out of the handler is logged and the handler is dropped for good: MicroPython's
  ``invoke_irq_handler`` (``extmod/modbluetooth.c``) prints it and sets the handler to None, so
  the board hears no further radio events until it reboots. ``irq_failures`` counts them.
* A write longer than the characteristic's buffer (``gatts_set_buffer``, default 20) is cut to
  the buffer, as NimBLE's access callback copies at most the buffer's length.
* ``connectable`` and ``resp_data`` are honoured: the scan response goes on the air with the
  advert (an active scanner merges them), and a central cannot connect while the advert is
  non-connectable.

Two deliberate differences from stock MicroPython, both documented in hardware/ble-spec.md:

* A non-zero return from the ``_IRQ_GATTS_WRITE`` handler is answered to the central as
  that ATT error. (The firmware returns 0 and reports each command's outcome in its state
  characteristic, which is what a hub reads on any stack.)
* Advertising is modelled as the payload being re-sent to the air every advertising interval
  (at least every ``min_repeat_s``), since the air protocol carries payloads, not timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from firmware_sim.shims.irq import IrqThread, guard_loop, in_irq

_LOGGER = logging.getLogger(__name__)

FLAG_BROADCAST: Final = 0x0001
FLAG_READ: Final = 0x0002
FLAG_WRITE_NO_RESPONSE: Final = 0x0004
FLAG_WRITE: Final = 0x0008
FLAG_NOTIFY: Final = 0x0010

IRQ_CENTRAL_CONNECT: Final = 1
IRQ_CENTRAL_DISCONNECT: Final = 2
IRQ_GATTS_WRITE: Final = 3

ATT_OK: Final = 0x00
ATT_INVALID_HANDLE: Final = 0x01
ATT_READ_NOT_PERMITTED: Final = 0x02
ATT_WRITE_NOT_PERMITTED: Final = 0x03
ATT_INVALID_ATTRIBUTE_LENGTH: Final = 0x0D
ATT_UNLIKELY_ERROR: Final = 0x0E

DEFAULT_BUFFER: Final = 20  # MicroPython's default attribute size (ATT MTU 23 minus 3)
# Two air messages per 100 ms at most: fine-grained enough for a 1.5 s burst to be heard
# ~15 times, coarse enough that two buttons do not flood the air at 40 ms intervals.
MIN_REPEAT_S: Final = 0.1
_BASE_UUID_TAIL: Final = "-0000-1000-8000-00805f9b34fb"

# Advertising at this interval or slower is "slow" (idle/presence) for slow_repeat_s.
SLOW_INTERVAL_S: Final = 0.5

IrqHandler = Callable[[int, tuple[Any, ...]], int | None]


def _now() -> float:
    """Event-loop time (virtual under a scenario), or monotonic outside a loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


@dataclass(slots=True)
class AdvertisingSpan:
    """One advertising set that ran from ``start`` to ``end`` (loop seconds)."""

    start: float
    end: float
    interval_us: int
    payload_len: int

    @property
    def events(self) -> float:
        """Advertising events the controller would have sent (one per interval)."""
        return max(self.end - self.start, 0.0) * 1e6 / self.interval_us


@dataclass(slots=True)
class RadioActivity:
    """What the radio did, exactly, for the energy model and ground truth."""

    spans: list[AdvertisingSpan] = field(default_factory=list)
    connection_s: float = 0.0
    connections: int = 0
    _open_span: AdvertisingSpan | None = None
    _open_conns: dict[int, float] = field(default_factory=dict)

    def start_advertising(self, now: float, interval_us: int, payload_len: int) -> None:
        self.stop_advertising(now)
        self._open_span = AdvertisingSpan(now, now, interval_us, payload_len)

    def stop_advertising(self, now: float) -> None:
        if self._open_span is not None:
            self._open_span.end = now
            self.spans.append(self._open_span)
            self._open_span = None

    def connected(self, now: float, conn: int) -> None:
        self.connections += 1
        self._open_conns[conn] = now

    def disconnected(self, now: float, conn: int) -> None:
        began = self._open_conns.pop(conn, None)
        if began is not None:
            self.connection_s += now - began

    def close(self, now: float) -> None:
        """Account open spans and connections up to ``now`` (end of a run)."""
        self.stop_advertising(now)
        for conn in list(self._open_conns):
            self.disconnected(now, conn)


class AirLink(Protocol):
    """Where the radio's output goes: one air protocol message at a time."""

    def send(self, message: dict[str, Any]) -> None: ...


class UUID:
    """A 16- or 128-bit UUID; str() is the canonical lowercase 128-bit form."""

    def __init__(self, value: int | str | bytes | UUID) -> None:
        if isinstance(value, UUID):
            self._text: str = str(value)
        elif isinstance(value, int):
            if not 0 <= value <= 0xFFFF:
                raise ValueError("integer UUIDs are 16-bit")
            self._text = f"0000{value:04x}{_BASE_UUID_TAIL}"
        else:
            raw = value.decode() if isinstance(value, bytes) else value
            text = raw.lower()
            if len(text.replace("-", "")) != 32:
                raise ValueError(f"not a 128-bit UUID: {raw!r}")
            self._text = text

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"UUID({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UUID) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)


def _props(flags: int) -> list[str]:
    names = []
    if flags & FLAG_READ:
        names.append("read")
    if flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
        names.append("write")
    if flags & FLAG_NOTIFY:
        names.append("notify")
    return names


class _Attribute:
    __slots__ = ("buffer", "flags", "value")

    def __init__(self, flags: int) -> None:
        self.flags = flags
        self.value = b""
        self.buffer = DEFAULT_BUFFER


class BLE:
    """``slow_repeat_s`` thins out slow (>= 0.5 s) advertising on the air, for long virtual-time
    scenarios; the radio's activity is logged exactly in ``activity`` regardless."""

    def __init__(
        self,
        link: AirLink,
        address: str,
        *,
        speed: float = 1.0,
        min_repeat_s: float = MIN_REPEAT_S,
        slow_repeat_s: float = 0.0,
    ) -> None:
        self._link = link
        self._address = address.upper()
        self._speed = speed
        self._min_repeat_s = min_repeat_s
        self._slow_repeat_s = slow_repeat_s
        self.activity = RadioActivity()
        self._active = False
        self._irq: IrqHandler | None = None
        self.irq_failures = 0  # handlers dropped after raising (as modbluetooth.c does)
        self._irq_thread = IrqThread(f"nimble {self._address}")
        self._loop = asyncio.get_running_loop()
        guard_loop(self._loop)
        self.connectable = False  # whether the current advert accepts connections
        self.scan_response: bytes | None = None
        self._adv_interval_us: int | None = None
        self._attrs: dict[int, _Attribute] = {}
        self._next_handle = 1
        self._adv_task: asyncio.Task[None] | None = None
        self._connections: set[int] = set()
        self.advertising: bytes | None = None  # the payload being advertised, None if stopped

    # --- the board API the firmware calls -----------------------------------------------

    def active(self, change: bool | None = None) -> bool:
        if change is not None:
            self._active = bool(change)
            if not change:
                self._stop_advertising()
        return self._active

    def config(self, *names: str, **values: Any) -> Any:
        if values:
            return None  # gap_name, mtu, ...: accepted, not modelled
        if names == ("mac",):
            return (0, bytes.fromhex(self._address.replace(":", "")))
        raise ValueError(f"config {names!r} is not modelled by the bluetooth shim")

    def irq(self, handler: IrqHandler) -> None:
        self._irq = handler

    def gap_advertise(
        self,
        interval_us: int | None,
        adv_data: bytes | None = None,
        resp_data: bytes | None = None,
        connectable: bool = True,
    ) -> None:
        self._require_active()
        payload = bytes(adv_data or b"")
        response = bytes(resp_data) if resp_data else None
        if len(payload) > 31 or len(response or b"") > 31:
            raise ValueError("legacy advertising and scan response data are at most 31 bytes each")
        if not self._on_loop():  # the irq thread: the controller takes it from any task
            self._loop.call_soon_threadsafe(
                self._start_advertising, interval_us, payload, response, connectable
            )
            return
        self._start_advertising(interval_us, payload, response, connectable)

    def _start_advertising(
        self, interval_us: int | None, payload: bytes, response: bytes | None, connectable: bool
    ) -> None:
        self._stop_advertising(announce=interval_us is None)
        if interval_us is None:
            return
        self.advertising = payload
        self.scan_response = response
        self.connectable = bool(connectable)
        self._adv_interval_us = interval_us
        self.activity.start_advertising(_now(), interval_us, len(payload))
        interval_s = interval_us / 1e6
        floor = self._slow_repeat_s if interval_s >= SLOW_INTERVAL_S else self._min_repeat_s
        period = max(interval_s, floor) / self._speed
        self._adv_task = self._loop.create_task(
            self._advertise(payload, response, period), name=f"adv {self._address}"
        )

    def transmitting(self) -> bool:
        """The radio is busy: a fast advertising burst or a connection (the cell sags)."""
        fast = self._adv_interval_us is not None and self._adv_interval_us < SLOW_INTERVAL_S * 1e6
        return fast or bool(self._connections)

    def gatts_register_services(
        self, services: tuple[tuple[UUID, tuple[tuple[UUID, int], ...]], ...]
    ) -> tuple[tuple[int, ...], ...]:
        self._require_active()
        table: list[dict[str, Any]] = []
        handles: list[tuple[int, ...]] = []
        for service_uuid, chars in services:
            self._next_handle += 1  # service declaration
            entries: list[dict[str, Any]] = []
            service_handles: list[int] = []
            for char_uuid, flags in chars:
                value_handle = self._next_handle + 1  # after the characteristic declaration
                self._next_handle += 2
                self._attrs[value_handle] = _Attribute(flags)
                service_handles.append(value_handle)
                entries.append({"uuid": str(char_uuid), "handle": value_handle, "props": _props(flags)})
            table.append({"uuid": str(service_uuid), "chars": entries})
            handles.append(tuple(service_handles))
        self._link.send({"op": "gatt", "services": table})
        return tuple(handles)

    def gatts_read(self, handle: int) -> bytes:
        return self._attr(handle).value

    def gatts_write(self, handle: int, data: bytes, send_update: bool = False) -> None:
        self._attr(handle).value = bytes(data)
        if send_update:
            for conn in self._connections:
                self.gatts_notify(conn, handle)

    def gatts_set_buffer(self, handle: int, length: int, append: bool = False) -> None:
        del append
        self._attr(handle).buffer = length

    def gatts_notify(self, conn_handle: int, value_handle: int, data: bytes | None = None) -> None:
        value = self._attr(value_handle).value if data is None else bytes(data)
        self._send({"op": "notify", "conn": conn_handle, "handle": value_handle, "data": value.hex()})

    def gap_disconnect(self, conn_handle: int) -> bool:
        if conn_handle not in self._connections:
            return False
        if not self._on_loop():
            self._loop.call_soon_threadsafe(self.gap_disconnect, conn_handle)
            return True
        self._link.send({"op": "disconnect", "conn": conn_handle})
        self.deliver_disconnect(conn_handle)
        return True

    # --- the air's side: what a central did ---------------------------------------------

    def deliver_connect(self, conn: int, central: str) -> bool:
        """A central connects; False (refused) while the advert is not connectable."""
        if not self.connectable or self.advertising is None:
            return False
        self._connections.add(conn)
        self.activity.connected(_now(), conn)
        # A MicroPython peripheral stops advertising when a central connects.
        self._stop_advertising(announce=True)
        self._fire(IRQ_CENTRAL_CONNECT, (conn, 0, bytes.fromhex(central.replace(":", ""))))
        return True

    def deliver_disconnect(self, conn: int) -> None:
        if conn in self._connections:
            self._connections.discard(conn)
            self.activity.disconnected(_now(), conn)
            self._fire(IRQ_CENTRAL_DISCONNECT, (conn, 0, b"\x00" * 6))

    def deliver_write(self, conn: int, handle: int, data: bytes) -> int:
        """A central wrote; returns the ATT status to answer with."""
        attr = self._attrs.get(handle)
        if attr is None:
            return ATT_INVALID_HANDLE
        if not attr.flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
            return ATT_WRITE_NOT_PERMITTED
        attr.value = bytes(data[: attr.buffer])  # NimBLE keeps what fits the buffer
        status = self._fire(IRQ_GATTS_WRITE, (conn, handle))
        return status or ATT_OK

    def deliver_read(self, handle: int) -> tuple[int, bytes]:
        attr = self._attrs.get(handle)
        if attr is None:
            return ATT_INVALID_HANDLE, b""
        if not attr.flags & FLAG_READ:
            return ATT_READ_NOT_PERMITTED, b""
        return ATT_OK, attr.value

    def reset(self) -> None:
        """The board rebooted: the controller forgets its links, advert, GATT table and irq."""
        for conn in list(self._connections):
            self._link.send({"op": "disconnect", "conn": conn})
            self.activity.disconnected(_now(), conn)
        self._connections.clear()
        self._stop_advertising(announce=True)
        self._attrs.clear()
        self._next_handle = 1
        self._irq = None
        self._active = False

    async def aclose(self) -> None:
        """Stop background advertising (the host calls this when the button stops)."""
        task, self._adv_task = self._adv_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._active = False
        self._irq_thread.close()

    # --- internals ----------------------------------------------------------------------

    def _fire(self, event: int, data: tuple[Any, ...]) -> int:
        handler = self._irq
        if handler is None:
            return ATT_OK
        try:
            result = self._irq_thread.run(lambda: handler(event, data))
        except Exception:
            # modbluetooth.c prints the exception and sets the handler to None: no more events.
            _LOGGER.exception(
                "%s: the irq handler raised for event %d; it is disabled until the board reboots",
                self._address,
                event,
            )
            if self._irq is handler:
                self._irq = None
            self.irq_failures += 1
            return ATT_UNLIKELY_ERROR
        return int(result or 0)

    def _on_loop(self) -> bool:
        return not in_irq()

    def _send(self, message: dict[str, Any]) -> None:
        if self._on_loop():
            self._link.send(message)
        else:
            self._loop.call_soon_threadsafe(self._link.send, message)

    def _attr(self, handle: int) -> _Attribute:
        try:
            return self._attrs[handle]
        except KeyError:
            raise ValueError(f"no attribute with handle {handle}") from None

    def _require_active(self) -> None:
        if not self._active:
            raise OSError("bluetooth is not active; call BLE.active(True) first")

    def _stop_advertising(self, *, announce: bool = False) -> None:
        self.activity.stop_advertising(_now())
        if self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None
        if announce and self.advertising is not None:
            self._link.send({"op": "adv_stop"})
        self.advertising = None
        self.scan_response = None
        self.connectable = False
        self._adv_interval_us = None

    async def _advertise(self, payload: bytes, response: bytes | None, period: float) -> None:
        message: dict[str, Any] = {"op": "adv", "data": payload.hex()}
        if response:
            message["resp"] = response.hex()
        while True:
            self._link.send(message)
            await asyncio.sleep(period)
