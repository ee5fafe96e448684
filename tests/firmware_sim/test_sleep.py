"""The wearable power mode (device/sleep.py) on the CPython shims, on the simulated air.

Every test runs on the virtual-time loop: a listen period of a minute passes in milliseconds,
and the deep sleep, the boot and the listen windows keep their own proportions.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest

from device import sleep
from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.scenario.hub_ear import HubEar, open_hub_ear
from firmware_sim.scenario.virtual_time import VirtualClock, run_virtual
from firmware_sim.shims import machine
from firmware_sim.shims.machine import DeepSleepEnteredError, SleepBoard
from hub.errors import FeedbackError
from hub.events import Gesture, SignalKind

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
HUB_RADIO = "B8:27:EB:00:00:0A"
PERIOD_S = 60
T = TypeVar("T")


@contextlib.asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[tuple[AirServer, HubEar, SimButton]]:
    air = AirServer(RadioConditions(noise_sigma_db=2.0))
    air.place(HUB_RADIO, 0.0, 0.0)
    clock = VirtualClock(datetime(2025, 3, 3, tzinfo=UTC))
    async with air, open_hub_ear(air.address, HUB_RADIO, tmp_path / "hub", clock) as ear:
        ear.register(ADDRESS, KEY, "Sam")
        async with SimButton(
            air=air.address,
            address=ADDRESS,
            key=KEY,
            state_dir=tmp_path / "button",
            x=2.0,
            power_mode="wearable",
            listen_period_s=PERIOD_S,
        ) as button:
            await button.wait_for_deep_sleep()
            yield air, ear, button


def virtual(test: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await test()

    return run_virtual(main())


@pytest.mark.parametrize("name", ["tap", "double_tap", "long_press"])
def test_a_touch_wakes_the_wearable_and_reaches_the_hub_with_its_meaning(tmp_path: Path, name: str) -> None:
    async def scene() -> None:
        async with world(tmp_path) as (_air, ear, button):
            await button.press(name)  # type: ignore[arg-type]  # asleep: this touch wakes it
            event = await ear.next_event()
            assert event.gesture is Gesture(name)
            assert button.board.reset_cause() == machine.DEEPSLEEP_RESET
            assert button.board.wake_reason() == machine.GPIO_WAKE
            assert button.power.touch_wakes == 1
            await button.wait_for_deep_sleep()  # and it sleeps again
            assert button.power.boots == 2
            # RTC memory carried the wake count across the deep sleep.
            assert button.board.rtc_memory[:4] == b"HLs1"
            assert int.from_bytes(button.board.rtc_memory[10:14], "little") == 1

    virtual(scene)


def test_a_held_command_waits_for_the_next_listen_window(tmp_path: Path) -> None:
    async def scene() -> None:
        async with world(tmp_path) as (_air, ear, button):
            loop = asyncio.get_running_loop()
            record = ear.side.registry.by_address(ADDRESS)
            assert record is not None
            waited: list[float] = []

            async def on_wait(next_window_s: float) -> None:
                waited.append(next_window_s)

            began = loop.time()
            await ear.side.feedback.send(record, SignalKind.THINKING_OF_YOU, on_wait=on_wait)
            took = loop.time() - began
            assert len(waited) == 1
            assert 0 < waited[0] <= PERIOD_S
            assert took > 1.0  # not at once: the button was asleep until its window
            played = await button.wait_for_output()
            assert played.pattern == "thinking_of_you"
            assert button.power.timer_wakes >= 1
            await button.wait_for_deep_sleep()

    virtual(scene)


def test_a_window_that_passes_unheard_is_a_missed_window(tmp_path: Path) -> None:
    async def scene() -> None:
        async with world(tmp_path) as (_air, ear, button):
            record = ear.side.registry.by_address(ADDRESS)
            assert record is not None
            await button.move(20_000.0, 0.0)  # out of every hub's reach
            with pytest.raises(FeedbackError) as raised:
                await ear.side.feedback.send(record, SignalKind.THINKING_OF_YOU)
            assert raised.value.reason == "missed_window"
            assert button.outputs == []

    virtual(scene)


def test_the_listen_advert_carries_the_period_and_fits_a_legacy_advert() -> None:
    advert = sleep.listen_advert(PERIOD_S)
    # The vector in hardware/ble-spec.md, "Sleepy buttons: the listen advert".
    assert advert == bytes.fromhex("020106 0308484c 1421 4c5452414548 3b9a 8e4c 6b5d 0100e0f1 01 3c00")
    assert len(advert) <= 31
    body = advert[advert.index(bytes((18 + 2, sleep.AD_SERVICE_DATA_128))) + 2 :]
    assert body[:16] == sleep.uuid_le("f1e00001-5d6b-4c8e-9a3b-48454152544c")
    assert sleep.parse_listen(body[16:]) == PERIOD_S
    assert sleep.parse_listen(b"\x02\x3c\x00") is None  # another version
    assert sleep.parse_listen(b"\x01\x01\x00") is None  # a period no button uses


def test_deep_sleep_ends_the_run_and_checks_the_wake_pin() -> None:
    board = SleepBoard()
    board.set_wake_on_gpio((machine.Pin(3),), level=True)
    with pytest.raises(DeepSleepEnteredError) as entered:
        board.deepsleep(60_000)
    assert (entered.value.sleep_ms, entered.value.wake_pins) == (60_000, frozenset({3}))
    board.set_wake_on_gpio((machine.Pin(9),), level=True)  # not GPIO0-5: a C3 cannot wake on it
    with pytest.raises(ValueError, match="wake-up pin not supported"):
        board.deepsleep(1000)
    board.RTC().memory(b"kept")
    board.booted(machine.DEEPSLEEP_RESET, machine.TIMER_WAKE)
    assert board.RTC().memory() == b"kept"
    board.power_off()
    assert (board.RTC().memory(), board.reset_cause()) == (b"", machine.PWRON_RESET)


def test_the_mode_file_overrides_the_build(tmp_path: Path) -> None:
    from device.flash import FileStorage  # noqa: PLC0415 - device code, after the shims

    storage = FileStorage(str(tmp_path))
    assert sleep.read_mode(storage, sleep.PUCK) == (sleep.PUCK, sleep.DEFAULT_PERIOD_S)
    sleep.write_mode(storage, sleep.WEARABLE, 120)
    assert sleep.read_mode(storage, sleep.PUCK) == (sleep.WEARABLE, 120)
    storage.write(sleep.MODE_FILE, b"garbage")
    assert sleep.read_mode(storage, sleep.PUCK) == (sleep.PUCK, sleep.DEFAULT_PERIOD_S)
    with pytest.raises(ValueError, match="period"):
        sleep.write_mode(storage, sleep.WEARABLE, 5)


def test_a_new_listen_period_reaches_the_wearable_in_its_next_window(tmp_path: Path) -> None:
    async def scene() -> None:
        async with world(tmp_path) as (_air, ear, button):
            loop = asyncio.get_running_loop()
            record = ear.side.registry.by_address(ADDRESS)
            assert record is not None
            windows = ear.side.feedback.windows
            assert windows.period_s(ADDRESS) == PERIOD_S
            await ear.side.feedback.set_listen_period(record, 300)
            assert windows.period_s(ADDRESS) == 300  # confirmed by the button's accepted counter
            assert button.last_command_counter >= 1
            await button.wait_for_deep_sleep()
            assert (tmp_path / "button" / sleep.MODE_FILE).read_bytes() == b"wearable 300"
            slept_at = loop.time()
            await asyncio.sleep(1.0)  # adverts still in flight from the window that just closed
            last = windows.heard_at(ADDRESS)
            # The hub now expects the next window one new period on, not one old period.
            assert (windows.next_window_s(ADDRESS) or 0) > 2 * PERIOD_S
            next_advert = windows.waiter(ADDRESS)
            async with asyncio.timeout(400):
                await next_advert.wait()
            # One new period later, and the listen advert itself says 300 s.
            assert loop.time() - slept_at > 2 * PERIOD_S
            assert windows.heard_at(ADDRESS) != last
            assert windows.period_s(ADDRESS) == 300

    virtual(scene)


def test_a_listen_period_for_a_wearable_out_of_reach_is_a_missed_window(tmp_path: Path) -> None:
    async def scene() -> None:
        async with world(tmp_path) as (_air, ear, button):
            record = ear.side.registry.by_address(ADDRESS)
            assert record is not None
            await button.move(20_000.0, 0.0)
            with pytest.raises(FeedbackError) as raised:
                await ear.side.feedback.set_listen_period(record, 30)
            assert raised.value.reason == "missed_window"
            assert ear.side.feedback.windows.period_s(ADDRESS) == PERIOD_S  # nothing changed
            assert not (tmp_path / "button" / sleep.MODE_FILE).exists()

    virtual(scene)


def test_a_puck_has_no_listen_period_to_set(tmp_path: Path) -> None:
    async def scene() -> None:
        air = AirServer(RadioConditions(noise_sigma_db=2.0))
        air.place(HUB_RADIO, 0.0, 0.0)
        clock = VirtualClock(datetime(2025, 3, 3, tzinfo=UTC))
        async with air, open_hub_ear(air.address, HUB_RADIO, tmp_path / "hub", clock) as ear:
            ear.register(ADDRESS, KEY, "Sam")
            async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "b", x=2.0):
                record = ear.side.registry.by_address(ADDRESS)
                assert record is not None
                with pytest.raises(FeedbackError) as raised:
                    await ear.side.feedback.set_listen_period(record, 30)
                assert raised.value.reason == "always_listening"

    virtual(scene)
