"""A fake BlueZ (``org.bluez`` on a private D-Bus) over the simulated air.

bleak's own BlueZ backend runs unchanged against it, so the path a Raspberry Pi takes
(``bluez:hci0``) is tested without hardware:

* :mod:`~firmware_sim.bluez.bus` starts and stops a private ``dbus-daemon``;
* :mod:`~firmware_sim.bluez.service` is the ``org.bluez`` object tree (adapter, devices, GATT);
* :mod:`~firmware_sim.bluez.bridge` is the adapter's radio: a central on the air.

:func:`fake_bluez` wires the three for one adapter.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from firmware_sim.bleak_backend.link import AirLink
from firmware_sim.bluez.bridge import AirRadio
from firmware_sim.bluez.bus import PrivateBus, PrivateBusError
from firmware_sim.bluez.service import BlueZError, FakeBlueZ, RadioError

__all__ = ["AirRadio", "BlueZError", "FakeBlueZ", "PrivateBus", "PrivateBusError", "RadioError", "fake_bluez"]


@contextlib.asynccontextmanager
async def fake_bluez(
    bus_address: str,
    air: tuple[str, int],
    *,
    adapter: str = "hci0",
    address: str = "B8:27:EB:00:00:01",
) -> AsyncIterator[FakeBlueZ]:
    """``org.bluez`` on ``bus_address`` with adapter ``adapter`` whose radio (named ``address``)
    is a central on the air at ``air``. The air and the bus must already be running."""
    link = AirLink(air[0], air[1], address)
    await link.open()
    try:
        service = FakeBlueZ(bus_address, AirRadio(link), adapter=adapter, address=address)
        await service.start()
        try:
            yield service
        finally:
            await service.stop()
    finally:
        await link.close()
