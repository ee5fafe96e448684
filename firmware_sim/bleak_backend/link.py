"""One central's connection to the air, shared by its scanner and its GATT clients."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any, Final, Self

from firmware_sim.air import protocol

_LOGGER = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 5.0
REQUEST_TIMEOUT_S: Final = 10.0

AdvertHandler = Callable[[str, bytes, int], None]
NotifyHandler = Callable[[int, int, bytes], None]
DisconnectHandler = Callable[[int], None]


class AirLinkError(ConnectionError):
    """The air is unreachable or answered a request with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AirLink:
    """A central radio on the simulated air at ``host:port``, named ``addr``."""

    def __init__(self, host: str, port: int, addr: str) -> None:
        self.host = host
        self.port = port
        self.addr = addr.upper()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._requests: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._advert_handlers: dict[object, AdvertHandler] = {}
        self._notify_handlers: dict[int, NotifyHandler] = {}
        self._disconnect_handlers: dict[int, DisconnectHandler] = {}
        self._scanners = 0
        self.closed = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def open(self) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):  # not wait_for: see request()
                reader, writer = await asyncio.open_connection(self.host, self.port, limit=protocol.MAX_LINE)
            self._reader, self._writer = reader, writer
            writer.write(protocol.encode({"op": "hello", "role": "central", "addr": self.addr}))
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                welcome = protocol.decode(await reader.readline())
        except (OSError, TimeoutError, ValueError, TypeError) as ex:
            await self.close()
            raise AirLinkError(
                f"cannot join the simulated air at {self.host}:{self.port}: {ex or type(ex).__name__}"
                " (is the simulator running?)",
            ) from ex
        if welcome["op"] != "welcome":
            await self.close()
            raise AirLinkError(f"the air refused {self.addr}: {welcome}")
        self.closed.clear()
        self._reader_task = asyncio.create_task(self._read_loop(), name=f"air-link-{self.addr}")

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
            self._reader_task = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._writer = None
        self._fail_pending("the air link was closed")
        self.closed.set()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- scanning ------------------------------------------------------------------------

    def add_advert_handler(self, handler: AdvertHandler) -> Callable[[], None]:
        token = object()
        self._advert_handlers[token] = handler

        def remove() -> None:
            self._advert_handlers.pop(token, None)

        return remove

    def start_scan(self, *, active: bool) -> None:
        self._scanners += 1
        self._send({"op": "scan", "active": active})

    def stop_scan(self) -> None:
        self._scanners = max(0, self._scanners - 1)
        if self._scanners == 0:
            self._send({"op": "scan_stop"})

    # -- GATT ----------------------------------------------------------------------------

    async def request(self, message: dict[str, Any], wait_s: float = REQUEST_TIMEOUT_S) -> dict[str, Any]:
        req = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._requests[req] = future
        try:
            self._send({**message, "req": req})
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that races
            # the answer, and the hub task that was being stopped would then run on forever.
            async with asyncio.timeout(wait_s):
                answer = await future
        except TimeoutError as ex:
            raise AirLinkError(f"{message['op']} timed out after {wait_s:.0f} s") from ex
        finally:
            self._requests.pop(req, None)
        status = int(answer.get("status", 0))
        if status:
            raise AirLinkError(f"{message['op']} failed with status 0x{status:02x}", status)
        return answer

    def watch_connection(
        self,
        conn: int,
        on_notify: NotifyHandler,
        on_disconnect: DisconnectHandler,
    ) -> None:
        self._notify_handlers[conn] = on_notify
        self._disconnect_handlers[conn] = on_disconnect

    def forget_connection(self, conn: int) -> None:
        self._notify_handlers.pop(conn, None)
        self._disconnect_handlers.pop(conn, None)

    def send_disconnect(self, conn: int) -> None:
        self._send({"op": "disconnect", "conn": conn})

    # -- internals -----------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            raise AirLinkError("not joined to the simulated air")
        self._writer.write(protocol.encode(message))

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while line := await self._reader.readline():
                try:
                    self._handle(protocol.decode(line))
                except (ValueError, KeyError, TypeError) as ex:
                    _LOGGER.warning("air link %s: dropped a bad message: %s", self.addr, ex)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as ex:
            _LOGGER.warning("air link %s lost: %s", self.addr, ex)
        finally:
            self._fail_pending("the simulated air went away")
            for conn, handler in list(self._disconnect_handlers.items()):
                handler(conn)
            self._disconnect_handlers.clear()
            self._notify_handlers.clear()
            self.closed.set()

    def _handle(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "adv":
            # Scanning is active (as BlueZ's and bleak's default): the scan response's AD
            # structures arrive with the advert, merged as BlueZ merges them into one device.
            data = bytes.fromhex(str(message["data"])) + bytes.fromhex(str(message.get("resp", "")))
            for handler in list(self._advert_handlers.values()):
                handler(str(message["addr"]), data, int(message["rssi"]))
        elif op == "rsp":
            future = self._requests.get(int(message["req"]))
            if future is not None and not future.done():
                future.set_result(message)
        elif op == "notify":
            notify = self._notify_handlers.get(int(message["conn"]))
            if notify is not None:
                notify(
                    int(message["conn"]),
                    int(message["handle"]),
                    bytes.fromhex(str(message["data"])),
                )
        elif op == "disconnected":
            conn = int(message["conn"])
            self._notify_handlers.pop(conn, None)
            disconnected = self._disconnect_handlers.pop(conn, None)
            if disconnected is not None:
                disconnected(conn)

    def _fail_pending(self, reason: str) -> None:
        for future in self._requests.values():
            if not future.done():
                future.set_exception(AirLinkError(reason))
        self._requests.clear()
