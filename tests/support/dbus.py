"""pytest plugin: a private dbus-daemon and a fake BlueZ on it, bridged to a simulated air.

Register with ``pytest_plugins = ["tests.support.dbus"]``. Fixtures:

``private_dbus``
    A running :class:`~firmware_sim.bluez.PrivateBus` (its own generated config and socket
    under ``tmp_path``), with ``DBUS_SYSTEM_BUS_ADDRESS`` pointing at it for the test, so
    bleak's BlueZ backend (dbus-fast, ``BusType.SYSTEM``) talks to it. Stopped by its pid at
    teardown. A missing ``dbus-daemon`` fails the test (never skips): ``make test`` installs it.
``bluez_air``
    A running :class:`~firmware_sim.air.server.AirServer` with the hub's radio placed at the
    origin (:data:`HUB_RADIO`).
``fake_bluez``
    :class:`~firmware_sim.bluez.FakeBlueZ` owning ``org.bluez`` on ``private_dbus`` with
    adapter ``hci0`` whose radio is :data:`HUB_RADIO` on ``bluez_air``. At teardown bleak's
    per-loop BlueZ manager is released first (bleak caches one per event loop and would
    otherwise keep a socket to a daemon that is about to go away).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final

import pytest
from bleak.backends.bluezdbus import manager as bluez_manager

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.bluez import FakeBlueZ, PrivateBus, PrivateBusError
from firmware_sim.bluez import fake_bluez as start_fake_bluez

SYSTEM_BUS_ENV: Final = "DBUS_SYSTEM_BUS_ADDRESS"
# A Raspberry Pi's address (B8:27:EB is the Raspberry Pi Foundation's OUI).
HUB_RADIO: Final = "B8:27:EB:00:00:01"
# bleak's manager notices the bus closing within one loop turn; 5 s means something is stuck.
RELEASE_TIMEOUT_S: Final = 5.0


@pytest.fixture
def private_dbus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateBus]:
    bus = PrivateBus(tmp_path / "dbus")
    try:
        bus.start()
    except PrivateBusError as ex:
        pytest.fail(str(ex))
    monkeypatch.setenv(SYSTEM_BUS_ENV, bus.address)
    try:
        yield bus
    finally:
        bus.stop()


@pytest.fixture
async def bluez_air() -> AsyncIterator[AirServer]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air:
        yield air


@pytest.fixture
async def fake_bluez(private_dbus: PrivateBus, bluez_air: AirServer) -> AsyncIterator[FakeBlueZ]:
    async with start_fake_bluez(private_dbus.address, bluez_air.address, address=HUB_RADIO) as bluez:
        try:
            yield bluez
        finally:
            await release_bleak_manager()


async def release_bleak_manager() -> None:
    """Close the D-Bus connection of bleak's BlueZ manager for this loop, and forget it.

    bleak keeps one manager per event loop in ``bluez_manager._global_instances`` (private);
    a test's loop ends with the test, and its private bus with it, so the manager goes too.
    """
    loop = asyncio.get_running_loop()
    manager = bluez_manager._global_instances.pop(loop, None)
    if manager is None or manager._bus is None:
        return
    bus = manager._bus
    watcher = manager._bus_watcher_task
    bus.disconnect()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(RELEASE_TIMEOUT_S):
            await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]  # unannotated in dbus-fast
            if watcher is not None:
                await watcher
