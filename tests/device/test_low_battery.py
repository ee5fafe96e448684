"""Low-battery behaviour: dimmer, shorter feedback and a "charge me" blink below LOW_PERCENT;
no feedback at all below CRITICAL_PERCENT, while touches still go out as adverts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from device import battery, command, gatt, haptic
from firmware_sim.button import SimButton
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.shims.cryptolib import aes
from tests.device.vectors import decode
from tests.support.waiting import eventually  # LED writes send nothing on the air: air.wait_for misses them

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
MAC = command.mac_bytes(ADDRESS)
FELT_IT = 4  # one 150 ms pulse: the quickest pattern to play in a test

# Cell voltages and the percentages device/battery.py's curve gives them.
NORMAL_MV = 4000  # 85 %
LOW_MV = 3550  # 10 %
CRITICAL_MV = 3400  # 2 %

AMBER = haptic.COLOURS[haptic.CUE_LOW_BATTERY]


def dim(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (rgb[0] // haptic.LOW_DIM, rgb[1] // haptic.LOW_DIM, rgb[2] // haptic.LOW_DIM)


DIM_AMBER = dim(AMBER)
GREEN = haptic.COLOURS[FELT_IT]
DIM_GREEN = dim(GREEN)
BLACK = (0, 0, 0)


@pytest.fixture
async def air() -> AsyncIterator[LoopbackAir]:
    async with LoopbackAir() as loopback:
        yield loopback


@asynccontextmanager
async def running(air: LoopbackAir, state_dir: Path, millivolts: int) -> AsyncIterator[SimButton]:
    async with SimButton(
        air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, battery_mv=millivolts
    ) as sim:
        await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
        yield sim


async def write_command(air: LoopbackAir, counter: int, pattern: int = FELT_IT) -> int:
    frame = command.pack_feedback(aes(KEY, 1).encrypt, MAC, counter, pattern, (0, 0, 0), 0)
    conn = await air.connect(ADDRESS)
    try:
        return await air.write(ADDRESS, conn, air.handle(ADDRESS, gatt.COMMAND_UUID), frame)
    finally:
        await air.disconnect(ADDRESS, conn)


def lit(sim: SimButton) -> list[tuple[int, int, int]]:
    return [rgb for _, rgb in sim.led_trace if rgb != BLACK]


def glow_s(sim: SimButton, colour: tuple[int, int, int]) -> float:
    """How long the LED showed ``colour`` (from its write to the next write)."""
    trace = sim.led_trace
    for i, (at, rgb) in enumerate(trace):
        if rgb == colour:
            return trace[i + 1][0] - at
    raise AssertionError(f"{colour} never shown in {trace}")


@pytest.mark.parametrize(
    ("millivolts", "expected"),
    [
        (4200, battery.NORMAL),
        (3600, battery.NORMAL),  # 15 %: LOW starts below it
        (3590, battery.LOW),  # 14 %
        (3500, battery.LOW),  # 5 %: CRITICAL starts below it
        (3490, battery.CRITICAL),  # 4 %
        (3300, battery.CRITICAL),
    ],
)
def test_thresholds_on_the_discharge_curve(millivolts: int, expected: int) -> None:
    percent = battery.percent_from_mv(millivolts)
    assert battery.level(percent) == expected
    assert (battery.LOW_PERCENT, battery.CRITICAL_PERCENT) == (15, 5)


async def test_normal_battery_has_no_charge_cue(air: LoopbackAir, tmp_path: Path) -> None:
    async with running(air, tmp_path, NORMAL_MV) as sim:
        await sim.press("tap")
        assert await write_command(air, 1) == 0
        await sim.wait_for_output()
        await eventually(lambda: GREEN in lit(sim))
        assert haptic.CUE_LOW_BATTERY not in sim.cues
        assert AMBER not in lit(sim)
        assert DIM_AMBER not in lit(sim)


@pytest.mark.slow
async def test_low_battery_blinks_amber_once_after_each_touch(air: LoopbackAir, tmp_path: Path) -> None:
    async with running(air, tmp_path, LOW_MV) as sim:
        await sim.press("tap")
        assert decode(ADDRESS, sim.adverts[-1], KEY)["battery"] == 10
        await eventually(lambda: lit(sim).count(DIM_AMBER) == 1)
        await sim.press("double_tap")
        await eventually(lambda: lit(sim).count(DIM_AMBER) == 2)
        assert sim.cues == [haptic.CUE_LOW_BATTERY, haptic.CUE_LOW_BATTERY]
        assert lit(sim) == [DIM_AMBER, DIM_AMBER]  # a blink only: dimmed, and no motor
        assert all(duty == 0 for _, duty in sim.motor_trace)
        assert glow_s(sim, DIM_AMBER) == pytest.approx(
            haptic.rhythm_ms(haptic.CUE_LOW_BATTERY) / 1000, abs=0.15
        )


async def test_low_battery_feedback_is_dimmer_and_shorter(air: LoopbackAir, tmp_path: Path) -> None:
    async with running(air, tmp_path, LOW_MV) as sim:
        assert await write_command(air, 1) == 0
        played = await sim.wait_for_output()
        assert played.pattern == "felt_it"
        await eventually(lambda: DIM_GREEN in lit(sim) and sim.led_trace[-1][1] == BLACK)
        assert GREEN not in lit(sim)  # never at full brightness
        assert any(duty > 0 for _, duty in sim.motor_trace)  # the rhythm itself still plays
        # The glow ends with the rhythm instead of lingering for the 3 s default.
        assert glow_s(sim, DIM_GREEN) < 1.0


@pytest.mark.slow  # waits out a window
async def test_critical_battery_plays_nothing_but_still_sends_the_touch(
    air: LoopbackAir, tmp_path: Path
) -> None:
    async with running(air, tmp_path, CRITICAL_MV) as sim:
        await sim.press("tap")
        sent = sim.adverts[-1]
        await air.wait_for(lambda: sent in air.adverts_from(ADDRESS))
        decoded = decode(ADDRESS, sent, KEY)
        assert decoded == {"verified": True, "event": "press", "battery": 2, "packet_id": 1}

        assert await write_command(air, 1, pattern=3) == 0  # verified and accepted...
        assert sim.last_command_counter == 1  # ...its counter persisted (no replay later)...
        await asyncio.sleep(0.5)
        assert sim.outputs == []  # ...but not played
        assert lit(sim) == []
        assert all(duty == 0 for _, duty in sim.motor_trace)
        assert haptic.CUE_LOW_BATTERY not in sim.cues  # no blink either


async def test_feedback_returns_when_the_battery_is_charged(air: LoopbackAir, tmp_path: Path) -> None:
    async with running(air, tmp_path, CRITICAL_MV) as sim:
        assert await write_command(air, 1) == 0
        await asyncio.sleep(0.3)
        assert sim.outputs == []
        sim.set_battery(NORMAL_MV)  # on the charger
        assert await write_command(air, 2) == 0
        played = await sim.wait_for_output()
        assert played.pattern == "felt_it"
        await eventually(lambda: GREEN in lit(sim))
