"""The air server: every simulated radio joins it over loopback TCP and hears the others.

One asyncio server per simulated world. Peripherals advertise and serve GATT; centrals
(hubs, through the bleak backend) scan and connect. The air decides per packet and per
receiver whether it is heard and at which RSSI (see ``radio_model``), routes GATT requests
from a central to the peripheral it is connected to, and reports disconnections.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Self

from firmware_sim.air import protocol
from firmware_sim.air.radio_model import RadioConditions

_LOGGER = logging.getLogger(__name__)

# A connection needs a usable link; below this level BLE connections fail to establish
# or drop at once in practice (supervision timeouts), so the air refuses them.
CONNECT_MIN_RSSI_DBM: Final = -90
# How long a peripheral may take to answer a read or write before the air gives up.
PERIPHERAL_RESPONSE_TIMEOUT_S: Final = 5.0
# Centrals that asked nothing else hear adverts; keep a slow client from stalling the air.
WRITE_BUFFER_HIGH_WATER: Final = 256 * 1024
_OPS: Final = frozenset(
    {
        "adv",
        "adv_stop",
        "gatt",
        "move",
        "rsp",
        "notify",
        "disconnect",  # peripheral
        "scan",
        "scan_stop",
        "connect",
        "write",
        "read",  # central
        "inject",
        "place",  # control
    }
)


@dataclass(slots=True, eq=False)
class _Radio:
    role: str
    addr: str
    x: float
    y: float
    tx_power: float
    writer: asyncio.StreamWriter
    scanning: bool = False
    shadowed: bool = False
    stalled: str | None = None  # a fault: "rescan" or "rejoin" (what clears it) or "forever"
    services: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0

    def send(self, message: dict[str, Any]) -> None:
        transport = self.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > WRITE_BUFFER_HIGH_WATER:
            self.dropped += 1  # a receiver that stopped reading loses packets, as on air
            return
        self.writer.write(protocol.encode(message))


@dataclass(slots=True, eq=False)
class _Connection:
    conn: int
    central: _Radio
    peripheral: _Radio


class AirServer:
    """A simulated world's radio medium, served on 127.0.0.1."""

    def __init__(
        self,
        conditions: RadioConditions | None = None,
        *,
        on_central_joined: Callable[[str], None] | None = None,
    ) -> None:
        self.conditions = conditions or RadioConditions()
        # Told a central's name while its hello is handled: before it hears or sends anything,
        # so a world can give it its place first.
        self._on_central_joined = on_central_joined
        self._radios: dict[str, _Radio] = {}
        self._positions: dict[str, tuple[float, float]] = {}
        self._stalls: dict[str, str] = {}  # "forever" stalls outlive a rejoin
        self._connections: dict[int, _Connection] = {}
        self._pending: dict[int, tuple[_Radio, int]] = {}
        self._ids = itertools.count(1)
        self._server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0
        self.adverts_sent = 0
        self.adverts_heard = 0

    def centrals(self) -> set[str]:
        """Names of the central radios (hubs) on the air now."""
        return {addr for addr, radio in self._radios.items() if radio.role == "central"}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            host,
            port,
            limit=protocol.MAX_LINE,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        _LOGGER.info("air listening on %s:%d", host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for radio in list(self._radios.values()):
                radio.writer.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    # -- world control (in-process; the same as the "place" and "inject" ops) --------------

    def place(self, addr: str, x: float, y: float, *, shadowed: bool | None = None) -> None:
        """Put a radio at (x, y) metres; remembered for radios that have not joined yet."""
        addr = addr.upper()
        self._positions[addr] = (x, y)
        radio = self._radios.get(addr)
        if radio is not None:
            radio.x, radio.y = x, y
            if shadowed is not None:
                radio.shadowed = shadowed

    def position(self, addr: str) -> tuple[float, float] | None:
        radio = self._radios.get(addr.upper())
        if radio is not None:
            return (radio.x, radio.y)
        return self._positions.get(addr.upper())

    def stall(self, central: str, until: str = "rescan") -> None:
        """Fault injection: the central stops hearing adverts while it believes it is scanning.

        ``until`` says what clears it, like the field failures it models: ``"rescan"`` (the
        controller's scan silently stopped; restarting the scan fixes it), ``"rejoin"`` (the
        adapter is wedged; only leaving and rejoining the air, a power cycle, fixes it), or
        ``"forever"`` (the adapter is dead).
        """
        if until not in {"rescan", "rejoin", "forever"}:
            raise ValueError(f"unknown stall {until!r}")
        radio = self._radios.get(central.upper())
        if radio is None:
            raise KeyError(central)
        radio.stalled = until
        self._stalls[central.upper()] = until

    def inject(self, to: str, addr: str, data: bytes, rssi: int) -> bool:
        """Deliver a raw advert to one scanning central, as a device next to it would."""
        central = self._radios.get(to.upper())
        if central is None or central.role != "central" or not central.scanning or central.stalled:
            return False
        central.send({"op": "adv", "addr": addr.upper(), "data": data.hex(), "rssi": rssi})
        return True

    # -- serving -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        radio: _Radio | None = None
        try:
            radio = await self._hello(reader, writer)
            if radio is None:
                return
            while line := await reader.readline():
                try:
                    message = protocol.decode(line)
                    self._dispatch(radio, message)
                except (ValueError, KeyError, TypeError) as ex:
                    _LOGGER.warning("air: bad message from %s: %s", radio.addr, ex)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            if radio is not None:
                self._leave(radio)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _hello(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> _Radio | None:
        line = await asyncio.wait_for(reader.readline(), timeout=10)
        try:
            hello = protocol.decode(line)
            role = str(hello["role"])
            addr = str(hello["addr"]).upper()
        except (ValueError, KeyError) as ex:
            _LOGGER.warning("air: rejected a radio with a bad hello: %s", ex)
            return None
        if hello["op"] != "hello" or role not in {"peripheral", "central", "control"}:
            _LOGGER.warning("air: rejected a radio with a bad hello: %r", hello)
            return None
        if role == "central" and self._on_central_joined is not None:
            self._on_central_joined(addr)
        x, y = self._positions.get(addr, (float(hello.get("x", 0.0)), float(hello.get("y", 0.0))))
        radio = _Radio(
            role=role,
            addr=addr,
            x=x,
            y=y,
            tx_power=float(hello.get("tx_power", 0.0)),
            writer=writer,
        )
        old = self._radios.get(addr)
        if old is not None and role != "control":
            self._leave(old)
            old.writer.close()
        if role != "control":
            self._radios[addr] = radio
            if self._stalls.get(addr) == "forever":
                radio.stalled = "forever"
            else:
                self._stalls.pop(addr, None)
        radio.send({"op": "welcome"})
        _LOGGER.debug("air: %s %s joined at (%.1f, %.1f)", role, addr, x, y)
        return radio

    def _leave(self, radio: _Radio) -> None:
        if self._radios.get(radio.addr) is radio:
            del self._radios[radio.addr]
        for conn in [c for c in self._connections.values() if radio in (c.central, c.peripheral)]:
            self._close_connection(conn, notify_peripheral=conn.peripheral is not radio)
        for req, (requester, central_req) in list(self._pending.items()):
            if requester is radio:
                del self._pending[req]
            elif radio.role == "peripheral":
                # Requests waiting on a peripheral that left can never be answered.
                del self._pending[req]
                requester.send({"op": "rsp", "req": central_req, "status": protocol.AIR_NOT_CONNECTED})

    def _dispatch(self, radio: _Radio, message: dict[str, Any]) -> None:
        op = message["op"]
        if op not in _OPS:
            raise ValueError(f"unknown op {op!r}")
        handler = getattr(self, "_on_request" if op in ("read", "write") else f"_on_{op}")
        handler(radio, message)

    # peripheral ops

    def _on_adv(self, radio: _Radio, message: dict[str, Any]) -> None:
        data = str(message["data"])
        bytes.fromhex(data)  # validate before spreading it to every scanner
        resp = message.get("resp")
        heard: dict[str, Any] = {"op": "adv", "addr": radio.addr, "data": data}
        if resp is not None:
            bytes.fromhex(str(resp))
            heard["resp"] = str(resp)  # the scan response an active scanner asks for
        self.adverts_sent += 1
        for other in self._radios.values():
            if other.role != "central" or not other.scanning or other.stalled:
                continue
            rssi = self._rssi(radio, other)
            if rssi is None:
                continue
            self.adverts_heard += 1
            other.send({**heard, "rssi": rssi})

    def _on_adv_stop(self, radio: _Radio, message: dict[str, Any]) -> None:
        del radio, message  # adverts are not latched in the air; nothing to stop

    def _on_gatt(self, radio: _Radio, message: dict[str, Any]) -> None:
        services = message["services"]
        if not isinstance(services, list):
            raise TypeError("services must be a list")
        radio.services = services

    def _on_move(self, radio: _Radio, message: dict[str, Any]) -> None:
        self.place(radio.addr, float(message["x"]), float(message["y"]))

    def _on_rsp(self, radio: _Radio, message: dict[str, Any]) -> None:
        del radio
        pending = self._pending.pop(int(message["req"]), None)
        if pending is None:
            return  # answered after the air gave up; the central already saw a timeout
        central, central_req = pending
        answer = {"op": "rsp", "req": central_req, "status": int(message.get("status", 0))}
        if "data" in message:
            answer["data"] = str(message["data"])
        central.send(answer)

    def _on_notify(self, radio: _Radio, message: dict[str, Any]) -> None:
        conn = self._connections.get(int(message["conn"]))
        if conn is None or conn.peripheral is not radio:
            return
        conn.central.send(
            {
                "op": "notify",
                "conn": conn.conn,
                "handle": message["handle"],
                "data": message["data"],
            },
        )

    def _on_disconnect(self, radio: _Radio, message: dict[str, Any]) -> None:
        conn = self._connections.get(int(message["conn"]))
        if conn is None or radio not in (conn.central, conn.peripheral):
            return
        self._close_connection(conn, notify_peripheral=radio is conn.central)

    # central ops

    def _on_scan(self, radio: _Radio, message: dict[str, Any]) -> None:
        del message
        radio.scanning = True
        if radio.stalled == "rescan":
            radio.stalled = None
            self._stalls.pop(radio.addr, None)

    def _on_scan_stop(self, radio: _Radio, message: dict[str, Any]) -> None:
        del message
        radio.scanning = False

    def _on_connect(self, radio: _Radio, message: dict[str, Any]) -> None:
        req = int(message["req"])
        peripheral = self._radios.get(str(message["addr"]).upper())
        if peripheral is None or peripheral.role != "peripheral":
            radio.send({"op": "rsp", "req": req, "status": protocol.AIR_NOT_FOUND})
            return
        level = self._rssi(peripheral, radio, lossless=True)
        if level is None or level < CONNECT_MIN_RSSI_DBM:
            radio.send({"op": "rsp", "req": req, "status": protocol.AIR_NOT_FOUND})
            return
        conn = _Connection(next(self._ids), radio, peripheral)
        self._connections[conn.conn] = conn
        peripheral.send({"op": "connect", "conn": conn.conn, "central": radio.addr})
        radio.send(
            {
                "op": "rsp",
                "req": req,
                "status": 0,
                "conn": conn.conn,
                "services": peripheral.services,
            },
        )

    def _on_request(self, radio: _Radio, message: dict[str, Any]) -> None:
        req = int(message["req"])
        conn = self._connections.get(int(message["conn"]))
        if conn is None or conn.central is not radio:
            radio.send({"op": "rsp", "req": req, "status": protocol.AIR_NOT_CONNECTED})
            return
        air_req = next(self._ids)
        self._pending[air_req] = (radio, req)
        forwarded = {
            "op": message["op"],
            "conn": conn.conn,
            "handle": int(message["handle"]),
            "req": air_req,
        }
        if message["op"] == "write":
            forwarded["data"] = str(message["data"])
        conn.peripheral.send(forwarded)
        asyncio.get_running_loop().call_later(
            PERIPHERAL_RESPONSE_TIMEOUT_S,
            self._expire,
            air_req,
        )

    def _expire(self, air_req: int) -> None:
        pending = self._pending.pop(air_req, None)
        if pending is not None:
            central, central_req = pending
            central.send({"op": "rsp", "req": central_req, "status": protocol.AIR_TIMEOUT})

    # control ops

    def _on_inject(self, radio: _Radio, message: dict[str, Any]) -> None:
        del radio
        self.inject(
            str(message["to"]),
            str(message["addr"]),
            bytes.fromhex(str(message["data"])),
            int(message["rssi"]),
        )

    def _on_place(self, radio: _Radio, message: dict[str, Any]) -> None:
        del radio
        self.place(str(message["addr"]), float(message["x"]), float(message["y"]))

    # helpers

    def _close_connection(self, conn: _Connection, *, notify_peripheral: bool) -> None:
        self._connections.pop(conn.conn, None)
        if notify_peripheral:
            conn.peripheral.send({"op": "disconnect", "conn": conn.conn})
        else:
            conn.central.send({"op": "disconnected", "conn": conn.conn})

    def _rssi(self, sender: _Radio, receiver: _Radio, *, lossless: bool = False) -> int | None:
        distance = math.hypot(sender.x - receiver.x, sender.y - receiver.y)
        return self.conditions.received_rssi(
            sender.tx_power,
            distance,
            shadowed=sender.shadowed,
            lossless=lossless,
        )
