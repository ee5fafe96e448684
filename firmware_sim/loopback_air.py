"""A minimal air server for testing peripherals: one implicit central, no radio model.

Speaks the peripheral half of :mod:`firmware_sim.air.protocol` over real TCP, records every
advert, and lets a test act as the central (connect, write, read). The full air with
distance, loss and bleak centrals lives in :mod:`firmware_sim.air`; this is the small
two-device link the button host is tested against.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

from device import gatt
from firmware_sim.air import protocol

_LOGGER = logging.getLogger(__name__)

CENTRAL_ADDRESS: Final = "C0:FF:EE:00:00:01"  # the implicit central's address
RESPONSE_TIMEOUT_S: Final = 5.0  # a peripheral in the same process answers in milliseconds
WAIT_S: Final = 30.0  # wait_for()'s default: generous, for a machine busy with other work
POLL_S: Final = 0.005  # command(): how often it reads the state while the button verifies


class LoopbackAirError(RuntimeError):
    """A request to a peripheral could not be made (unknown address, no answer)."""


@dataclass(slots=True)
class _Peer:
    address: str
    writer: asyncio.StreamWriter
    x: float
    y: float
    tx_power: int
    services: list[dict[str, Any]] = field(default_factory=list)
    advertising: bytes | None = None
    scan_response: bytes | None = None  # with the current advert
    dropped: set[int] = field(default_factory=set)  # connections the peripheral ended or refused


class LoopbackAir:
    def __init__(self) -> None:
        self.adverts: list[tuple[str, bytes]] = []  # (address, payload) in arrival order
        self.notifications: list[tuple[str, int, bytes]] = []
        self.peers: dict[str, _Peer] = {}
        self._server: asyncio.Server | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise LoopbackAirError("the loopback air is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=protocol.MAX_LINE + 1)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for peer in self.peers.values():
                peer.writer.close()
            # Closing the sockets ends each handler's read loop; cancelling a stream handler
            # instead makes asyncio log a spurious error on Python 3.11.
            if self._handlers:
                _, stuck = await asyncio.wait(self._handlers, timeout=RESPONSE_TIMEOUT_S)
                for task in stuck:
                    task.cancel()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what a test (the central) does -------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = WAIT_S) -> None:
        """Wait until predicate() is true; it is re-checked whenever a peripheral sends."""
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(predicate)

    def adverts_from(self, address: str) -> list[bytes]:
        return [data for addr, data in self.adverts if addr == address.upper()]

    def handle(self, address: str, uuid: str) -> int:
        for service in self.peers[address.upper()].services:
            for char in service["chars"]:
                if char["uuid"] == uuid:
                    return int(char["handle"])
        raise LoopbackAirError(f"{address} has no characteristic {uuid}")

    async def connect(self, address: str) -> int:
        peer = self._peer(address)
        conn = next(self._ids)
        message = {"op": "connect", "conn": conn, "central": CENTRAL_ADDRESS}
        peer.writer.write(protocol.encode(message))
        await peer.writer.drain()
        return conn

    async def disconnect(self, address: str, conn: int) -> None:
        peer = self._peer(address)
        peer.writer.write(protocol.encode({"op": "disconnect", "conn": conn}))
        await peer.writer.drain()

    async def write(self, address: str, conn: int, handle: int, data: bytes) -> int:
        rsp = await self._request(
            address, {"op": "write", "conn": conn, "handle": handle, "data": data.hex()}
        )
        return int(rsp["status"])

    async def read(self, address: str, conn: int, handle: int) -> tuple[int, bytes]:
        rsp = await self._request(address, {"op": "read", "conn": conn, "handle": handle})
        return int(rsp["status"]), bytes.fromhex(rsp.get("data", ""))

    async def command(self, address: str, data: bytes, within_s: float = WAIT_S) -> str:
        """Write a command frame on a fresh connection and return its outcome as the button's
        state characteristic reports it (``device.gatt.OUTCOMES``: "accepted", "replay", ...),
        polling the state until the button has handled the write."""
        conn = await self.connect(address)
        state = self.handle(address, gatt.STATE_UUID)
        try:
            before = await self.state(address, conn, state)
            status = await self.write(address, conn, self.handle(address, gatt.COMMAND_UUID), data)
            if status:
                return f"att_error_{status:#04x}"
            async with asyncio.timeout(within_s):
                while True:
                    after = await self.state(address, conn, state)
                    if after[6] != before[6]:
                        break
                    await asyncio.sleep(POLL_S)
            return gatt.OUTCOMES[after[5]]
        finally:
            await self.disconnect(address, conn)

    async def state(self, address: str, conn: int, handle: int) -> tuple[int, ...]:
        """The state characteristic, unpacked (``device.gatt.STATE_FORMAT``)."""
        status, value = await self.read(address, conn, handle)
        if status:
            raise LoopbackAirError(f"{address} refused to read its state: ATT {status:#04x}")
        return tuple(struct.unpack(gatt.STATE_FORMAT, value))

    # --- internals ----------------------------------------------------------------------

    def _peer(self, address: str) -> _Peer:
        try:
            return self.peers[address.upper()]
        except KeyError:
            raise LoopbackAirError(f"no peripheral {address} has joined the air") from None

    async def _request(self, address: str, message: dict[str, Any]) -> dict[str, Any]:
        peer = self._peer(address)
        req = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req] = future
        try:
            peer.writer.write(protocol.encode({**message, "req": req}))
            await peer.writer.drain()
            async with asyncio.timeout(RESPONSE_TIMEOUT_S):
                return await future
        except TimeoutError as ex:
            raise LoopbackAirError(f"{address} did not answer {message['op']}") from ex
        finally:
            self._pending.pop(req, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        peer: _Peer | None = None
        try:
            hello = protocol.decode(await reader.readline())
            if hello["op"] != "hello" or hello.get("role") != "peripheral":
                _LOGGER.warning("loopback air: refusing %r (peripherals only)", hello)
                return
            peer = _Peer(
                str(hello["addr"]).upper(),
                writer,
                float(hello["x"]),
                float(hello["y"]),
                int(hello["tx_power"]),
            )
            self.peers[peer.address] = peer
            writer.write(protocol.encode({"op": "welcome"}))
            await writer.drain()
            while line := await reader.readline():
                self._on_message(peer, protocol.decode(line))
                async with self._changed:
                    self._changed.notify_all()
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as ex:
            _LOGGER.debug("loopback air: peripheral connection ended: %s", ex)
        finally:
            if peer is not None and self.peers.get(peer.address) is peer:
                del self.peers[peer.address]
            writer.close()
            async with self._changed:
                self._changed.notify_all()
            if task is not None:
                self._handlers.discard(task)

    def _on_message(self, peer: _Peer, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "adv":
            peer.advertising = bytes.fromhex(message["data"])
            resp = message.get("resp")
            peer.scan_response = bytes.fromhex(resp) if resp is not None else None
            self.adverts.append((peer.address, peer.advertising))
        elif op == "disconnect":
            peer.dropped.add(int(message["conn"]))
        elif op == "adv_stop":
            peer.advertising = None
        elif op == "gatt":
            peer.services = list(message["services"])
        elif op == "move":
            peer.x, peer.y = float(message["x"]), float(message["y"])
        elif op == "rsp":
            future = self._pending.get(int(message["req"]))
            if future is not None and not future.done():
                future.set_result(message)
        elif op == "notify":
            self.notifications.append((peer.address, int(message["handle"]), bytes.fromhex(message["data"])))
        else:
            _LOGGER.debug("loopback air: ignoring %r from %s", op, peer.address)
