"""The motor's duty follows the cell's voltage, and the LED is powered only while it glows.

The ERM runs from the LiPo: its strength follows its average voltage, so device/haptic.py scales
each step's duty by MOTOR_NOMINAL_MV / the cell's voltage (capped at full duty) and a rhythm
feels the same on a full cell and a nearly empty one. The WS2812B's supply goes through a load
switch on LED_POWER_PIN: on only while the LED shows a colour, and no frame ever reaches it
unpowered. Run on the CPython shims (the firmware's hardware), and through the whole firmware on
the simulated air.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device import battery, command, gatt, haptic
from firmware_sim.button import SimButton
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.shims import machine, neopixel
from firmware_sim.shims.clock import LoopClock
from firmware_sim.shims.cryptolib import aes
from tests.support.waiting import eventually

FULL = machine.DUTY_MAX
FELT_IT = 4  # one 50 % pulse of 150 ms
NEED_YOU = 3  # three 100 % pulses
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A6"
MAC = command.mac_bytes(ADDRESS)
# The cell voltages where feedback plays: full, down to where battery.py stops it (5 %).
PLAYING_MV = [mv for mv, percent in battery.CURVE if percent >= battery.CRITICAL_PERCENT]


class PowerPin(machine.Pin):
    """The load switch's ON pin, with every level it was set to."""

    def __init__(self) -> None:
        super().__init__(10, machine.Pin.OUT)
        self.levels: list[int] = []

    def value(self, new: int | None = None) -> int:
        if new is not None:
            self.levels.append(1 if new else 0)
        return super().value(new)


class GatedLed(neopixel.NeoPixel):
    """A WS2812B behind the load switch: a frame sent while it is unpowered is an error."""

    def __init__(self, power: PowerPin) -> None:
        super().__init__(machine.Pin(5), 1)
        self.power = power
        self.unpowered_writes = 0

    def write(self) -> None:
        if not self.power.value():
            self.unpowered_writes += 1
        super().write()


def felt_mv(duty: int, cell_mv: int) -> float:
    """The motor's average voltage: PWM applies duty x supply."""
    return duty / FULL * cell_mv


@pytest.mark.parametrize("cell_mv", PLAYING_MV)
@pytest.mark.parametrize("strength", [30, 50, 60, 80, 85, 100])
def test_each_strength_feels_the_same_at_every_cell_voltage(strength: int, cell_mv: int) -> None:
    duty = haptic.motor_duty(strength, cell_mv)
    nominal = haptic.MOTOR_NOMINAL_MV * strength / 100
    assert felt_mv(duty, cell_mv) == pytest.approx(nominal, abs=1.0)  # within a millivolt
    assert 0 <= duty <= FULL


def test_the_numbers_at_the_ends_of_the_cell() -> None:
    assert haptic.MOTOR_NOMINAL_MV == 3500  # battery.py's critical level: nothing plays below it
    assert haptic.motor_duty(100, 4200) == FULL * 3500 // 4200  # 83 % on a full cell
    assert haptic.motor_duty(100, 3500) == FULL
    assert haptic.motor_duty(0, 4200) == 0


def test_duty_is_capped_below_the_nominal_voltage() -> None:
    assert haptic.motor_duty(100, 3300) == FULL
    assert haptic.motor_duty(100, 1) == FULL
    assert haptic.motor_duty(50, 3300) == (FULL * 50 // 100) * 3500 // 3300  # still below the cap


def test_an_unknown_voltage_plays_the_strength_as_written() -> None:
    assert haptic.motor_duty(80, None) == FULL * 80 // 100
    assert haptic.motor_duty(80, 0) == FULL * 80 // 100


def peak_duty(pwm: machine.PWM) -> int:
    return max(duty for _, duty in pwm.trace)


@pytest.mark.parametrize(("cell_mv", "expected"), [(4200, FULL * 3500 // 4200), (3700, FULL * 3500 // 3700)])
async def test_a_played_rhythm_uses_the_voltage_read_before_it(cell_mv: int, expected: int) -> None:
    pwm = machine.PWM(machine.Pin(4))
    readings: list[int] = []

    def cell() -> int:
        readings.append(cell_mv)
        return cell_mv

    motors = haptic.Haptics(pwm, neopixel.NeoPixel(machine.Pin(5), 1), LoopClock(speed=50.0), cell)
    await motors.play(NEED_YOU, (0, 0, 0), 0, low=True)
    assert peak_duty(pwm) == expected
    assert pwm.duty_u16() == 0
    assert len(readings) == 1  # once per pattern, with the motor still off


async def test_the_led_is_powered_only_while_it_glows() -> None:
    power = PowerPin()
    led = GatedLed(power)
    motors = haptic.Haptics(machine.PWM(machine.Pin(4)), led, LoopClock(speed=50.0), led_power=power)
    assert power.levels == [0]  # built off, whatever the pin was
    motors.off()
    assert led.shown == []  # nothing sent to an unpowered LED at boot

    await motors.play(FELT_IT, (0, 0, 0), 0)
    assert power.levels == [0, 1, 0]
    assert [rgb for _, rgb in led.shown] == [haptic.COLOURS[FELT_IT], (0, 0, 0)]  # dark, then cut
    assert led.unpowered_writes == 0
    assert power.value() == 0

    await motors.play(FELT_IT, (0, 0, 0), 0)
    assert power.levels == [0, 1, 0, 1, 0]
    assert led.unpowered_writes == 0


async def test_the_led_supply_is_cut_when_a_pattern_is_interrupted() -> None:
    power = PowerPin()
    led = GatedLed(power)
    motors = haptic.Haptics(machine.PWM(machine.Pin(4)), led, LoopClock(speed=1.0), led_power=power)
    player = asyncio.create_task(motors.play(NEED_YOU, (0, 0, 0), 30))
    await eventually(lambda: power.value() == 1)
    player.cancel()
    with pytest.raises(asyncio.CancelledError):
        await player
    assert power.value() == 0
    assert led.shown[-1][1] == (0, 0, 0)
    assert led.unpowered_writes == 0


# --- through the whole firmware, on the simulated air ---------------------------------------------


@pytest.fixture
async def air() -> AsyncIterator[LoopbackAir]:
    async with LoopbackAir() as loopback:
        yield loopback


async def played_duty(air: LoopbackAir, state_dir: Path, cell_mv: int) -> int:
    """The peak motor duty the firmware plays for one need_you command on a cell at cell_mv."""
    async with SimButton(
        air=air.address, address=ADDRESS, key=KEY, state_dir=state_dir, battery_mv=cell_mv
    ) as sim:
        await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
        frame = command.pack_feedback(aes(KEY, 1).encrypt, MAC, 1, NEED_YOU, (0, 0, 0), 0)
        conn = await air.connect(ADDRESS)
        try:
            assert await air.write(ADDRESS, conn, air.handle(ADDRESS, gatt.COMMAND_UUID), frame) == 0
        finally:
            await air.disconnect(ADDRESS, conn)
        await sim.wait_for_output()
        await eventually(lambda: any(duty > 0 for _, duty in sim.motor_trace))
        return max(duty for _, duty in sim.motor_trace)


@pytest.mark.slow
async def test_the_firmware_scales_its_motor_by_the_cell_it_reads(air: LoopbackAir, tmp_path: Path) -> None:
    full = await played_duty(air, tmp_path / "full", 4200)
    drained = await played_duty(air, tmp_path / "drained", 3600)
    # The cell is read through a noisy ADC (a trimmed mean, within ~10 mV): duties to within 1 %.
    assert full == pytest.approx(haptic.motor_duty(100, 4200), rel=0.01)
    assert drained == pytest.approx(haptic.motor_duty(100, 3600), rel=0.01)
    assert felt_mv(full, 4200) == pytest.approx(felt_mv(drained, 3600), abs=30.0)
