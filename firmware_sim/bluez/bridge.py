"""The fake adapter's radio: a central on the simulated air, through the air backend's link.

The fake BlueZ scans while any D-Bus client discovers, and connects, reads and writes on
behalf of bleak; this module turns those into air protocol requests on one :class:`AirLink`
and hands what the air sends back (adverts, notifications, lost links) to the fake.
"""

from __future__ import annotations

from typing import Any, Final

from bleak.uuids import normalize_uuid_str

from firmware_sim.air import protocol
from firmware_sim.bleak_backend.link import AirLink, AirLinkError
from firmware_sim.bluez.service import Characteristic, RadioError, RadioListener, Service

# Air props are the firmware's flag names; BlueZ reports the same names for these three.
_FLAGS: Final = {"read": "read", "write": "write", "notify": "notify", "indicate": "indicate"}


class AirRadio:
    """Implements :class:`firmware_sim.bluez.service.Radio` over an open :class:`AirLink`."""

    def __init__(self, link: AirLink) -> None:
        self.link = link
        self._listener: RadioListener | None = None
        self._remove_advert_handler: Any = None

    def bind(self, listener: RadioListener) -> None:
        self._listener = listener
        if self._remove_advert_handler is not None:
            self._remove_advert_handler()
        self._remove_advert_handler = self.link.add_advert_handler(listener.advert_heard)

    def start_scan(self) -> None:
        self._guard(lambda: self.link.start_scan(active=True))

    def stop_scan(self) -> None:
        self._guard(self.link.stop_scan)

    async def connect(self, address: str) -> tuple[int, list[Service]]:
        listener = self._require_listener()
        try:
            answer = await self.link.request({"op": "connect", "addr": address})
        except AirLinkError as ex:
            raise RadioError(str(ex), ex.status) from ex
        conn = int(answer["conn"])
        self.link.watch_connection(conn, listener.notified, self._lost)
        return conn, [_service(raw) for raw in answer.get("services", [])]

    async def read(self, conn: int, handle: int) -> bytes:
        answer = await self._request({"op": "read", "conn": conn, "handle": handle})
        return bytes.fromhex(str(answer.get("data", "")))

    async def write(self, conn: int, handle: int, data: bytes) -> None:
        await self._request({"op": "write", "conn": conn, "handle": handle, "data": data.hex()})

    def disconnect(self, conn: int) -> None:
        self.link.forget_connection(conn)
        self._guard(lambda: self.link.send_disconnect(conn))

    # -- internals -------------------------------------------------------------------------

    async def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.link.request(message)
        except AirLinkError as ex:
            raise RadioError(str(ex), ex.status) from ex

    def _lost(self, conn: int) -> None:
        if self._listener is not None:
            self._listener.link_lost(conn)

    def _require_listener(self) -> RadioListener:
        if self._listener is None:
            raise RadioError("the radio is not bound to a fake BlueZ", protocol.AIR_NOT_CONNECTED)
        return self._listener

    @staticmethod
    def _guard(action: Any) -> None:
        try:
            action()
        except AirLinkError as ex:
            raise RadioError(str(ex)) from ex


def _service(raw: dict[str, Any]) -> Service:
    return Service(
        uuid=normalize_uuid_str(str(raw["uuid"])),
        characteristics=tuple(
            Characteristic(
                uuid=normalize_uuid_str(str(char["uuid"])),
                handle=int(char["handle"]),
                flags=tuple(_FLAGS[prop] for prop in char.get("props", []) if prop in _FLAGS),
            )
            for char in raw.get("chars", [])
        ),
    )
