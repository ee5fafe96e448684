"""The same firmware under the real MicroPython unix port: touch -> advert -> hub -> haptic."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from firmware_sim.unix_port import UnixPortButton, UnixPortError, find_micropython
from firmware_sim.unix_port.host import BOARD_DIR
from hub.clock import SystemClock
from hub.events import Gesture, SignalKind
from tests.device.vectors import decode
from tests.support.waiting import eventually

# The firmware on the real MicroPython unix port, as a process per button.
pytestmark = pytest.mark.slow

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
HUB_RADIO = "B8:27:EB:00:00:0A"


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO, 0.0, 0.0)
    async with server:
        yield server


@pytest.fixture
async def hub(air: AirServer, tmp_path: Path) -> AsyncIterator[HubEar]:
    async with open_hub_ear(air.address, HUB_RADIO, tmp_path / "hub", SystemClock()) as ear:
        ear.register(ADDRESS, KEY, "Alex")
        yield ear


@pytest.fixture
async def port_button(air: AirServer, hub: HubEar, tmp_path: Path) -> AsyncIterator[UnixPortButton]:
    async with UnixPortButton(
        air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "button", x=2.0
    ) as button:
        yield button


async def test_touch_advert_hub_haptic_round_trip(hub: HubEar, port_button: UnixPortButton) -> None:
    pid = port_button.pid
    assert pid is not None
    await port_button.press("tap")
    event = await hub.next_event()
    assert decode(ADDRESS, port_button.adverts[-1], KEY)["event"] == "press"
    assert (event.address, event.gesture, event.owner) == (ADDRESS, Gesture.TAP, "Alex")
    assert event.battery is not None
    assert 80 <= event.battery <= 88  # 4.0 V: 85 %, read through a noisy ADC

    await hub.send_feedback(ADDRESS, SignalKind.NEED_YOU)
    played = await port_button.wait_for_output()
    assert played.pattern == "need_you"
    # The port reports the pattern as it starts; the motor and LED changes follow on its output.
    await eventually(lambda: any(duty > 0 for _, duty in port_button.motor_trace), what="the motor running")
    await eventually(lambda: played.rgb in [rgb for _, rgb in port_button.led_trace], what="the LED lit")
    state = await port_button.state()
    assert state.cmd_counter == 2  # the feedback, then the touch's acknowledgement in its connection
    assert state.adv_counter == 1
    assert sum(state.rejected.values()) == 0


async def test_every_gesture_is_heard_by_the_hub(hub: HubEar, port_button: UnixPortButton) -> None:
    for name, expected in (("double_tap", Gesture.DOUBLE_TAP), ("long_press", Gesture.LONG_PRESS)):
        await port_button.press(name)  # type: ignore[arg-type]
        event = await hub.next_event()
        assert event.gesture is expected


async def test_counter_survives_a_restart_of_the_port(air: AirServer, hub: HubEar, tmp_path: Path) -> None:
    state_dir = tmp_path / "restart"
    for expected in (1, 2):
        async with UnixPortButton(
            air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, x=2.0
        ) as button:
            await button.press("tap")
            event = await hub.next_event()
            assert event.counter == expected


async def test_the_process_is_gone_after_stop(air: AirServer, tmp_path: Path) -> None:
    button = UnixPortButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "b")
    await button.start()
    pid = button.pid
    assert pid is not None
    await button.stop()
    assert button.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_no_air_is_a_clear_error(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    button = UnixPortButton(air=("127.0.0.1", port), address=ADDRESS, key=KEY, state_dir=tmp_path)
    with pytest.raises(UnixPortError, match="did not boot"):
        await button.start()
    assert button.pid is None


@pytest.mark.parametrize("source", sorted(BOARD_DIR.glob("*.upy")), ids=lambda p: p.name)
def test_board_modules_compile_with_mpy_cross(source: Path, tmp_path: Path) -> None:
    mpy_cross = Path(find_micropython()).with_name("mpy-cross")
    result = subprocess.run(
        [str(mpy_cross), "-o", str(tmp_path / "out.mpy"), str(source)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
