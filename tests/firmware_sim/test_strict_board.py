"""The simulated board is as strict as an ESP32-C3, and the firmware survives it.

Each strictness of the shims (firmware_sim/shims) has a test of the board itself and a test of
the firmware under it; the firmware tests are the ones that failed on the firmware from before
these rules (an irq that verified, wrote flash and set an asyncio.Event; one ADC sample; plain
tick arithmetic; no watchdog; device info 0x41; no scan response).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
from bthome_ble import BTHomeBluetoothDeviceData

from device import battery, command, gatt
from device.haptic import CUE_LOW_BATTERY
from firmware_sim.button import SimButton
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.shims import bluetooth, clock, flash, irq, machine
from firmware_sim.shims.cryptolib import aes
from firmware_sim.shims.threadsafe import ThreadSafeFlag
from firmware_sim.unix_port import UnixPortButton
from tests.device.vectors import service_info
from tests.support.waiting import eventually

KEY: Final = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS: Final = "54:48:E6:8F:80:A5"
MAC: Final = command.mac_bytes(ADDRESS)


def frame(counter: int, pattern: int = command.PATTERN_FELT_IT) -> bytes:
    return command.pack_feedback(aes(KEY, 1).encrypt, MAC, counter, pattern, (0, 0, 0), 1)


@pytest.fixture
async def air() -> AsyncIterator[LoopbackAir]:
    async with LoopbackAir() as loopback:
        yield loopback


async def booted(air: LoopbackAir, sim: SimButton) -> SimButton:
    await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
    return sim


class _Link:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


# --- the irq: another thread, dropped if it raises -------------------------------------------


async def test_the_irq_runs_off_the_loop_and_is_dropped_once_it_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ble = bluetooth.BLE(_Link(), ADDRESS)
    ble.active(True)  # noqa: FBT003 - the board API
    (handles,) = ble.gatts_register_services(
        ((bluetooth.UUID(gatt.SERVICE_UUID), ((bluetooth.UUID(gatt.COMMAND_UUID), bluetooth.FLAG_WRITE),)),)
    )
    seen: list[tuple[int, str]] = []

    def handler(event: int, data: tuple[Any, ...]) -> None:
        seen.append((event, threading.current_thread().name))
        raise ValueError("a bug in the handler")

    ble.irq(handler)
    with caplog.at_level(logging.ERROR):
        ble.deliver_write(1, handles[0], b"x")
        ble.deliver_write(1, handles[0], b"y")
    assert seen == [(gatt.IRQ_GATTS_WRITE, f"nimble {ADDRESS}")]  # once, on the radio's thread
    assert ble.irq_failures == 1
    assert "disabled until the board reboots" in caplog.text
    await ble.aclose()


async def test_asyncio_from_the_irq_is_refused_and_the_threadsafe_flag_wakes_the_loop() -> None:
    loop = asyncio.get_running_loop()
    irq.guard_loop(loop)
    worker = irq.IrqThread("nimble test")
    # What asyncio.Event.set() does to wake a waiter: loop.call_soon, not thread-safe.
    with pytest.raises(irq.IrqContextError):
        worker.run(lambda: loop.call_soon(print))
    flag = ThreadSafeFlag()
    waiting = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    worker.run(flag.set)
    async with asyncio.timeout(30):
        await waiting
    worker.close()


async def test_a_command_to_an_idle_button_is_handled_and_played(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await booted(air, sim)
        assert await air.command(ADDRESS, frame(1)) == "accepted"
        assert (await sim.wait_for_output()).pattern == "felt_it"
        assert await air.command(ADDRESS, frame(2)) == "accepted"  # the handler is still there
        await sim.wait_for_output(2)
        assert sim.irq_failures == 0
        assert sim.last_command_counter == 2


# --- flash: slow, and not from the irq -------------------------------------------------------


def test_flash_writes_take_time_and_are_refused_from_the_irq(tmp_path: Path) -> None:
    board_flash = flash.BoardFlash(str(tmp_path), speed=1000.0)
    for i in range(flash.ERASE_EVERY):
        board_flash.write("f", bytes(i))
    assert board_flash.busy_s >= flash.SECTOR_ERASE_S  # one block filled: one erase
    worker = irq.IrqThread("nimble flash")
    with pytest.raises(OSError, match="from the BLE irq"):
        worker.run(lambda: board_flash.write("f", b"late"))
    worker.close()
    assert board_flash.read("f") == bytes(flash.ERASE_EVERY - 1)


async def test_an_accepted_command_is_on_the_flash(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await booted(air, sim)
        assert await air.command(ADDRESS, frame(3)) == "accepted"
        assert sim.flash is not None
        assert b'"cmd": 3' in b"".join(sim.flash.read(name) or b"" for name in ("state.a", "state.b"))


# --- oversize writes are cut to the buffer ---------------------------------------------------


async def test_an_oversize_write_is_cut_and_reported_malformed(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await booted(air, sim)
        assert await air.command(ADDRESS, frame(1) * 3) == "malformed"  # 45 bytes, kept 32
        assert sim.rejections["malformed"] == 1
        assert await air.command(ADDRESS, frame(1)) == "accepted"


# --- the advert: trigger based, named in the scan response, connectable or not ---------------


async def test_non_connectable_adverts_refuse_connections() -> None:
    link = _Link()
    ble = bluetooth.BLE(link, ADDRESS)
    ble.active(True)  # noqa: FBT003 - the board API
    ble.gap_advertise(100_000, adv_data=b"\x02\x01\x06", resp_data=b"\x03\x09HL", connectable=False)
    await asyncio.sleep(0)  # the first advertising event
    assert {"op": "adv", "data": "020106", "resp": "0309484c"} in link.sent
    assert not ble.deliver_connect(1, "C0:FF:EE:00:00:01")
    ble.gap_advertise(100_000, adv_data=b"\x02\x01\x06")
    assert ble.deliver_connect(2, "C0:FF:EE:00:00:01")
    await ble.aclose()


async def test_the_scan_response_names_the_button_and_adverts_are_trigger_based(
    air: LoopbackAir, tmp_path: Path
) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await booted(air, sim)
        await air.wait_for(lambda: air.peers[ADDRESS].scan_response is not None)
        assert air.peers[ADDRESS].scan_response == b"\x08\x09HL-80A5"
        await sim.press("tap")
        parser = BTHomeBluetoothDeviceData(bindkey=KEY)
        update = parser.update(service_info(ADDRESS, sim.adverts[-1]))
        assert parser.bindkey_verified
        assert [event.event_type for event in update.events.values()] == ["press"]
        assert parser.sleepy_device  # BTHome's trigger-based bit: no regular updates expected


# --- the battery: noisy, sagging under the radio ---------------------------------------------


def test_the_adc_is_noisy_spiky_and_sags_under_load_deterministically() -> None:
    busy = [False]

    def adc() -> machine.ADC:
        return machine.ADC(
            1,
            microvolts=1_820_000,
            noise_uv=machine.ADC.NOISE_UV,
            sag_uv=machine.ADC.SAG_UV,
            load=lambda: busy[0],
            seed=7,
        )

    first, second = adc(), adc()
    readings = [first.read_uv() for _ in range(200)]
    assert readings == [second.read_uv() for _ in range(200)]  # seeded
    assert len(set(readings)) > 100
    assert max(readings) - min(readings) >= machine.ADC.SPIKE_UV
    resting = battery.read_mv(first)
    busy[0] = True
    assert resting - battery.read_mv(first) > machine.ADC.SAG_UV // 1000  # mV; 2x at the cell


async def test_a_cell_just_above_low_gives_no_charge_me_blinks(air: LoopbackAir, tmp_path: Path) -> None:
    # 3640 mV is 19 %, above LOW_PERCENT; a single conversion during a burst reads ~3560 (12 %).
    async with SimButton(
        air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path, battery_mv=3640
    ) as sim:
        await booted(air, sim)
        for _ in range(4):
            await sim.press("tap")  # each one during the last one's burst
        assert sim.cues.count(CUE_LOW_BATTERY) == 0


# --- ticks: near the wrap ---------------------------------------------------------------------


async def test_ticks_start_near_the_wrap_and_refuse_plain_arithmetic() -> None:
    board_clock = clock.LoopClock(speed=1.0)
    now = board_clock.ticks_ms()
    assert clock.TICKS_PERIOD - now <= clock.START_BEFORE_WRAP_MS
    later = board_clock.ticks_add(now, 60_000)
    assert later < now  # it wrapped
    assert board_clock.ticks_diff(later, now) == 60_000
    with pytest.raises(ValueError, match="ticks_add"):
        board_clock.ticks_diff(now + 60_000, now)


async def test_the_pairing_window_closes_across_the_wrap(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path, speed=1000.0) as sim:
        await booted(air, sim)
        await sim.wait_for_pairing("closed")  # 3 firmware minutes: past the wrap at 10 s
        assert sim.pairing_log == ["preparing", "open", "closed"]


# --- the watchdog and the supervisor ----------------------------------------------------------


async def test_a_task_that_raises_resets_the_board_and_it_comes_back(
    air: LoopbackAir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await booted(air, sim)
        plain = sim.motor.duty_u16
        broken = [True]

        def duty_u16(value: int | None = None) -> int:
            if value and broken[0]:
                broken[0] = False
                raise OSError("PWM driver fault")
            return plain(value)

        monkeypatch.setattr(sim.motor, "duty_u16", duty_u16)
        with caplog.at_level(logging.ERROR):
            assert await air.command(ADDRESS, frame(1)) == "accepted"
            await eventually(lambda: sim.board_resets == 1, what="the board to reset")
        assert "resetting the board" in caplog.text
        await air.wait_for(
            lambda: bool(air.peers[ADDRESS].services) and air.peers[ADDRESS].advertising is not None
        )
        assert await air.command(ADDRESS, frame(2)) == "accepted"  # flash kept the counter
        assert (await sim.wait_for_output()).pattern == "felt_it"


async def test_a_loop_that_stops_feeding_the_watchdog_is_reset(
    air: LoopbackAir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path, speed=100.0) as sim:
        await booted(air, sim)
        monkeypatch.setattr(machine.WDT, "feed", lambda self: None)  # the loop no longer turns
        await eventually(
            lambda: sim.watchdog_resets >= 1 and sim.board.reset_cause() == machine.WDT_RESET,
            what="the watchdog to bite and the board to boot again",
        )


# --- the same board under the real MicroPython unix port ------------------------------------


async def test_the_unix_port_handles_a_command_in_its_heap_with_the_irq_on_a_thread(
    air: LoopbackAir, tmp_path: Path
) -> None:
    async with UnixPortButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as port:
        await booted_port(air)
        assert await air.command(ADDRESS, frame(1)) == "accepted"
        assert (await port.wait_for_output()).pattern == "felt_it"
        assert await air.command(ADDRESS, frame(1)) == "replay"  # the handler is still there
        state = await port.state()
        assert (state.cmd_counter, state.irq_failures) == (1, 0)
        heap = await port.heap_use()
        assert heap.heap <= 128 * 1024  # -X heapsize=128K: what a C3 leaves MicroPython
        assert 0 < heap.live <= heap.peak <= heap.heap


async def test_the_unix_port_names_itself_in_the_scan_response(air: LoopbackAir, tmp_path: Path) -> None:
    async with UnixPortButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path):
        await booted_port(air)
        await air.wait_for(lambda: air.peers[ADDRESS].scan_response is not None)
        assert air.peers[ADDRESS].scan_response == b"\x08\x09HL-80A5"
        assert await air.command(ADDRESS, frame(1) * 3) == "malformed"  # cut to 32 bytes


async def booted_port(air: LoopbackAir) -> None:
    await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
