"""A small asyncio TCP proxy on 127.0.0.1 for network faults between a hub and its broker.

``TcpProxy(target_port)`` listens on a free loopback port and forwards every connection to
the target. While running it can:

- ``cut()``: reset every open connection (a cable pulled, a NAT entry dropped); with
  ``refuse=True`` new connections are closed at once until ``heal()``;
- ``blackhole()``: keep every socket open but silently drop all bytes in both directions,
  new connections included (a dead Wi-Fi access point, a half-open TCP path) — only
  keepalive notices this;
- ``latency_s``: delay every chunk by this much in each direction, order preserved (a
  realistic internet path).

It runs in the event loop of whoever starts it; connections are counted for assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from typing import Final, Self

_LOGGER = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
CHUNK: Final = 65536
# Connecting to a loopback target either works at once or not at all.
CONNECT_TIMEOUT_S: Final = 5.0


@dataclass(eq=False)
class _Pair:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                transport = writer.transport
                # SO_LINGER 0 would send RST; abort() does the same without touching the socket.
                transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = LOOPBACK, *, latency_s: float = 0.0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.latency_s = latency_s
        self.port = 0
        self.connections = 0
        self.refusing = False
        self.blackholed = False
        self._server: asyncio.Server | None = None
        self._pairs: set[_Pair] = set()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, LOOPBACK, self.port or 0)
        sock: socket.socket = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.cut()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2.0)
            self._server = None

    # -- faults ----------------------------------------------------------------------------

    def cut(self, *, refuse: bool = False) -> int:
        """Reset every open connection; with ``refuse`` also turn new ones away. Returns how many."""
        self.refusing = self.refusing or refuse
        pairs = list(self._pairs)
        for pair in pairs:
            pair.abort()
        self._pairs.clear()
        return len(pairs)

    def blackhole(self) -> None:
        """Keep sockets open, drop every byte both ways (also on new connections)."""
        self.blackholed = True

    def heal(self) -> None:
        """Forward normally again. A black-holed connection stays useless: its bytes are gone."""
        self.refusing = False
        self.blackholed = False

    @property
    def open_connections(self) -> int:
        return len(self._pairs)

    # -- forwarding ------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        self.connections += 1
        pair = _Pair(writer)
        self._pairs.add(pair)
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(self.target_host, self.target_port), timeout=CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError):
            # The target is down (e.g. the broker was killed): the client sees a reset, as it would.
            self._pairs.discard(pair)
            writer.transport.abort()
            return
        if pair not in self._pairs:  # cut while connecting
            up_writer.transport.abort()
            return
        pair.upstream = up_writer
        pair.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, pair), name="proxy-up"),
            asyncio.create_task(self._pump(up_reader, writer, pair), name="proxy-down"),
        ]

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pair: _Pair) -> None:
        loop = asyncio.get_running_loop()
        pending: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.create_task(self._send_later(pending, writer, pair), name="proxy-send")
        try:
            while True:
                try:
                    data = await reader.read(CHUNK)
                except (ConnectionError, OSError):
                    data = b""
                if not data:
                    break
                if self.blackholed:
                    continue  # swallowed: the peer never learns anything happened
                pending.put_nowait((loop.time() + self.latency_s, data))
            pending.put_nowait((loop.time() + self.latency_s, b""))
            await sender
        finally:
            sender.cancel()

    async def _send_later(
        self, pending: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter, pair: _Pair
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, data = await pending.get()
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if not data:
                # One side closed: close both, as a real path would once FINs cross.
                pair.abort()
                self._pairs.discard(pair)
                return
            if self.blackholed:
                continue
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                pair.abort()
                self._pairs.discard(pair)
                return
