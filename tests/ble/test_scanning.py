"""The scan supervisor: silence is noticed and recovered step by step, on the simulated radio
and on bleak's own BlueZ backend against the fake bluetoothd."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDBusError, BleakError

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.bluez.service import FakeBlueZ
from firmware_sim.button import SimButton
from hub.ble.scanning import QUIET_DETAIL, QUIET_RESCAN, QUIET_RESCAN_S, ScanSupervisor, classify
from hub.ble.transport import make_transport
from hub.clock import SystemClock
from hub.health import BleState
from tests.support.dbus import HUB_RADIO
from tests.support.waiting import eventually

BUTTON = "C0:FF:EE:00:00:0A"
NEIGHBOUR = "C0:FF:EE:00:00:0E"
KEY = bytes(range(16))
# How many silence windows the empty home is watched after it went quiet (each would have been
# an escalation step before: restart, power-cycle, give up).
QUIET_WINDOWS = 8
# The simulated button repeats its idle advert every second; 2.5 s of silence is a fault.
SILENCE_S = 2.5


class _Heard:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        self.count += 1


def _state(supervisor: ScanSupervisor) -> BleState:
    return supervisor.health.state


@contextlib.asynccontextmanager
async def _supervised(
    spec: str, *, carried: set[str] | None = None, quiet_rescan_s: float = QUIET_RESCAN_S
) -> AsyncIterator[tuple[ScanSupervisor, _Heard]]:
    transport = make_transport(spec)
    await transport.open()
    heard = _Heard()
    supervisor = ScanSupervisor(
        transport,
        heard,
        SystemClock(),
        silence_s=SILENCE_S,
        carried=None if carried is None else carried.__contains__,
        quiet_rescan_s=quiet_rescan_s,
    )
    task = asyncio.create_task(supervisor.run())
    try:
        yield supervisor, heard
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await transport.close()


@pytest.fixture
async def air(tmp_path: Path) -> AsyncIterator[AirServer]:
    air = AirServer(RadioConditions(noise_sigma_db=0.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with air, SimButton(air=air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"):
        yield air


async def _recovers(supervisor: ScanSupervisor, heard: _Heard) -> None:
    before = heard.count
    await eventually(lambda: heard.count > before + 2 and _state(supervisor) is BleState.OK, what="recovery")


@pytest.mark.slow  # silence must last SILENCE_S, step after step
@pytest.mark.timeout(120)
async def test_a_silently_stopped_scan_is_restarted(air: AirServer) -> None:
    async with _supervised(f"sim:127.0.0.1:{air.port}/{HUB_RADIO}") as (supervisor, heard):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        air.stall(HUB_RADIO, until="rescan")
        await eventually(lambda: _state(supervisor) is BleState.RECOVERING, what="the watchdog")
        await _recovers(supervisor, heard)
        assert supervisor.recoveries == Counter({"restart scan": 1})


@pytest.mark.slow  # silence must last SILENCE_S, step after step
@pytest.mark.timeout(120)
async def test_a_wedged_adapter_is_power_cycled(air: AirServer) -> None:
    async with _supervised(f"sim:127.0.0.1:{air.port}/{HUB_RADIO}") as (supervisor, heard):
        await eventually(lambda: heard.count > 0, what="scanning")
        air.stall(HUB_RADIO, until="rejoin")
        await eventually(lambda: supervisor.recoveries["power-cycle adapter"] == 1, what="power cycle")
        await _recovers(supervisor, heard)
        assert supervisor.recoveries == Counter({"restart scan": 1, "power-cycle adapter": 1})


@pytest.mark.slow  # silence must last SILENCE_S, step after step
@pytest.mark.timeout(120)
async def test_a_dead_adapter_ends_in_a_loud_health_error(air: AirServer) -> None:
    async with _supervised(f"sim:127.0.0.1:{air.port}/{HUB_RADIO}") as (supervisor, heard):
        await eventually(lambda: heard.count > 0, what="scanning")
        air.stall(HUB_RADIO, until="forever")
        await eventually(lambda: _state(supervisor) is BleState.ERROR, what="giving up")
        assert "bluetoothctl show" in str(supervisor.health)
        assert supervisor.recoveries == Counter({"restart scan": 1, "power-cycle adapter": 1})


def test_errors_are_classified_by_their_bluez_name() -> None:
    assert classify(BleakDBusError("org.bluez.Error.InProgress", [])) == "in_progress"
    assert classify(BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"])) == "not_ready"
    assert classify(BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", [])) == "dbus"
    assert classify(BleakError("something else")) == "other"


@pytest.mark.slow  # a private dbus-daemon and the fake bluetoothd
@pytest.mark.timeout(120)
async def test_bluez_in_progress_is_waited_out(
    fake_bluez: FakeBlueZ, bluez_air: AirServer, tmp_path: Path
) -> None:
    fake_bluez.fail_next("StartDiscovery", times=1)
    async with (
        SimButton(air=bluez_air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"),
        _supervised("bluez:hci0") as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        assert supervisor.errors["in_progress"] == 1


@pytest.mark.slow  # a private dbus-daemon and the fake bluetoothd
@pytest.mark.timeout(120)
async def test_bluez_adapter_powered_off_is_powered_on(
    fake_bluez: FakeBlueZ, bluez_air: AirServer, tmp_path: Path
) -> None:
    fake_bluez.set_powered(False)
    async with (
        SimButton(air=bluez_air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"),
        _supervised("bluez:hci0") as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        assert fake_bluez.powered
        assert supervisor.errors["not_ready"] >= 1


@pytest.mark.slow  # a private dbus-daemon and the fake bluetoothd
@pytest.mark.timeout(120)
async def test_bluez_scan_that_goes_quiet_is_restarted(
    fake_bluez: FakeBlueZ, bluez_air: AirServer, tmp_path: Path
) -> None:
    async with (
        SimButton(air=bluez_air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"),
        _supervised("bluez:hci0") as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        bluez_air.stall(HUB_RADIO, until="rescan")
        await eventually(lambda: supervisor.recoveries["restart scan"] == 1, what="a restart")
        await _recovers(supervisor, heard)


@pytest.mark.slow  # a private dbus-daemon and the fake bluetoothd
@pytest.mark.timeout(120)
async def test_without_advertisement_monitors_bluez_scans_actively_and_says_so(
    fake_bluez: FakeBlueZ, bluez_air: AirServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The fake bluetoothd, like BlueZ without --experimental, has no AdvertisementMonitorManager1.
    async with (
        SimButton(air=bluez_air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"),
        _supervised("bluez:hci0") as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        assert supervisor.mode == "active"
        assert "passive scanning is not available" in caplog.text
        assert "--experimental" in caplog.text


@pytest.mark.slow  # the supervisor's first look
async def test_the_simulated_air_needs_no_mode_detection(air: AirServer) -> None:
    async with _supervised(f"sim:127.0.0.1:{air.port}/{HUB_RADIO}") as (supervisor, heard):
        await eventually(lambda: heard.count > 0, what="scanning")
        assert supervisor.mode == "active"


class _States:
    """Every health state the supervisor shows, sampled while a test waits."""

    def __init__(self, supervisor: ScanSupervisor) -> None:
        self.seen: set[BleState] = set()
        self._supervisor = supervisor

    async def watch(self) -> None:
        while True:
            self.seen.add(self._supervisor.health.state)
            await asyncio.sleep(0.05)


async def _walk_away(button: SimButton) -> None:
    """Out of the door and down the street: fading, then out of range."""
    for x in (5.0, 10.0, 20.0, 40.0, 80.0, 200.0, 3000.0):
        await button.move(x, 0.0)
        await asyncio.sleep(0.3)


async def _quiet_for(supervisor: ScanSupervisor, windows: int) -> set[BleState]:
    """Wait until the supervisor says QUIET, then ``windows`` silence windows more."""
    states = _States(supervisor)
    watcher = asyncio.create_task(states.watch())
    try:
        await eventually(lambda: _state(supervisor) is BleState.QUIET, what="a quiet home")
        await asyncio.sleep(windows * SILENCE_S)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    states.seen.add(supervisor.health.state)
    return states.seen


@pytest.mark.slow  # the empty home is watched for several silence windows
@pytest.mark.timeout(120)
async def test_the_only_button_walking_away_is_a_quiet_home_not_a_fault(tmp_path: Path) -> None:
    air = AirServer(RadioConditions(noise_sigma_db=0.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with (
        air,
        SimButton(air=air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b") as button,
        _supervised(f"sim:127.0.0.1:{air.port}/{HUB_RADIO}", carried={BUTTON}) as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        await _walk_away(button)
        seen = await _quiet_for(supervisor, QUIET_WINDOWS)
        assert seen <= {BleState.OK, BleState.QUIET}, seen  # never recovering, never an error
        assert supervisor.recoveries == Counter()  # the adapter was left alone
        assert str(supervisor.health) == f"quiet: {QUIET_DETAIL}"
        # Back home: heard again, and all is well.
        await button.move(2.0, 0.0)
        await _recovers(supervisor, heard)
        assert supervisor.recoveries == Counter()


@pytest.mark.slow  # silence must last SILENCE_S, step after step
@pytest.mark.timeout(120)
async def test_a_deaf_radio_is_power_cycled_though_the_button_is_carried(tmp_path: Path) -> None:
    """A neighbour's device that stays put went silent with the button: the radio is deaf."""
    air = AirServer(RadioConditions(noise_sigma_db=0.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with (
        air,
        SimButton(air=air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"),
        SimButton(air=air.address, address=NEIGHBOUR, key=KEY, x=15.0, state_dir=tmp_path / "n"),
        _supervised(f"sim:127.0.0.1:{air.port}/{HUB_RADIO}", carried={BUTTON}) as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        await eventually(lambda: NEIGHBOUR in supervisor.recent_devices(), what="the neighbour heard")
        air.stall(HUB_RADIO, until="rejoin")  # powered, scanning, and nothing delivered
        await eventually(lambda: supervisor.recoveries["power-cycle adapter"] == 1, what="power cycle")
        await _recovers(supervisor, heard)
        assert supervisor.recoveries == Counter({"restart scan": 1, "power-cycle adapter": 1})


@pytest.mark.slow  # silence must last SILENCE_S, step after step
@pytest.mark.timeout(120)
async def test_a_quiet_home_restarts_a_stalled_scan_now_and_then_but_never_power_cycles(
    tmp_path: Path,
) -> None:
    """With nothing else on the air a stalled discovery sounds like an empty home; the quiet
    home's occasional scan restart brings the button back."""
    air = AirServer(RadioConditions(noise_sigma_db=0.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    async with (
        air,
        SimButton(air=air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b"),
        _supervised(
            f"sim:127.0.0.1:{air.port}/{HUB_RADIO}", carried={BUTTON}, quiet_rescan_s=3 * SILENCE_S
        ) as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        air.stall(HUB_RADIO, until="rescan")
        await eventually(lambda: _state(supervisor) is BleState.QUIET, what="a quiet home")
        await _recovers(supervisor, heard)
        assert supervisor.recoveries == Counter({QUIET_RESCAN: 1})


@pytest.mark.slow  # a private dbus-daemon and the fake bluetoothd
@pytest.mark.timeout(120)
async def test_bluez_adapter_switched_off_in_a_quiet_home_is_a_fault(
    fake_bluez: FakeBlueZ, bluez_air: AirServer, tmp_path: Path
) -> None:
    """The adapter's own state is asked: Powered=false is no empty home."""
    async with (
        SimButton(air=bluez_air.address, address=BUTTON, key=KEY, x=2.0, state_dir=tmp_path / "b") as button,
        _supervised("bluez:hci0", carried={BUTTON}) as (supervisor, heard),
    ):
        await eventually(lambda: heard.count > 0 and _state(supervisor) is BleState.OK, what="scanning")
        await _walk_away(button)
        seen = await _quiet_for(supervisor, 2)
        assert seen <= {BleState.OK, BleState.QUIET}, seen
        assert supervisor.recoveries == Counter()
        fake_bluez.set_powered(False)
        await eventually(lambda: supervisor.recoveries["restart scan"] >= 1, what="a recovery")
        await eventually(lambda: fake_bluez.powered, what="the adapter powered on again")
