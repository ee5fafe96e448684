"""The simulated button host: unmodified firmware on a (loopback) air, driven like a person."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device import command, gatt, keep, pairing
from firmware_sim.button import SimButton, SimButtonError
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.shims.cryptolib import aes
from tests.device.vectors import decode
from tests.support.waiting import eventually_async

KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
MAC = command.mac_bytes(ADDRESS)


def frame(
    counter: int, pattern: int = 1, rgb: tuple[int, int, int] = (1, 2, 3), ds: int = 5, key: bytes = KEY
) -> bytes:
    return command.pack_feedback(aes(key, 1).encrypt, MAC, counter, pattern, rgb, ds)


@pytest.fixture
async def air() -> AsyncIterator[LoopbackAir]:
    async with LoopbackAir() as loopback:
        yield loopback


@pytest.fixture
async def button(air: LoopbackAir, tmp_path: Path) -> AsyncIterator[SimButton]:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
        yield sim


@pytest.mark.parametrize(
    ("gesture", "event"),
    [
        ("tap", "press"),
        ("double_tap", "double_press"),
        pytest.param("long_press", "long_press", marks=pytest.mark.slow),
    ],
)
async def test_press_puts_a_decodable_advert_on_the_air(
    air: LoopbackAir, button: SimButton, gesture: str, event: str
) -> None:
    await button.press(gesture)  # type: ignore[arg-type]
    sent = button.adverts[-1]
    await air.wait_for(lambda: sent in air.adverts_from(ADDRESS))
    decoded = decode(ADDRESS, sent, KEY)
    battery = decoded.pop("battery")
    assert decoded == {"verified": True, "event": event, "packet_id": 1}
    assert 80 <= battery <= 88  # 4.0 V is 85 %; the ADC is noisy (a trimmed mean: +-10 mV)

    assert decode(ADDRESS, sent, bytes(16))["verified"] is False


@pytest.mark.slow  # the whole burst, then idle
async def test_advert_is_repeated_then_idle(air: LoopbackAir, button: SimButton) -> None:
    await button.press("tap")
    sent = button.adverts[-1]
    await air.wait_for(lambda: air.adverts_from(ADDRESS).count(sent) >= 5)
    idle = bytes.fromhex("0201060308484c")
    assert air.peers[ADDRESS].scan_response == bytes.fromhex("0809484c2d38304135")  # "HL-80A5"
    # Idle again, saying it keeps one touch: no hub here has acknowledged it (device/keep.py).
    await air.wait_for(lambda: air.adverts_from(ADDRESS)[-1] == keep.marker_advert(idle, 1))


@pytest.mark.slow
async def test_each_event_gets_a_new_counter_and_packet_id(button: SimButton) -> None:
    await button.press("tap")
    await button.press("tap")
    first, second = button.adverts
    assert first != second
    assert [decode(ADDRESS, a, KEY)["packet_id"] for a in (first, second)] == [1, 2]


async def test_feedback_write_plays_the_pattern(air: LoopbackAir, button: SimButton) -> None:
    assert await air.command(ADDRESS, frame(1, pattern=3, rgb=(10, 20, 30), ds=10)) == "accepted"
    played = await button.wait_for_output()
    assert (played.pattern, played.rgb, played.deciseconds) == ("need_you", (10, 20, 30), 10)
    assert (10, 20, 30) in [colour for _, colour in button.led_trace]
    assert any(duty > 0 for _, duty in button.motor_trace)


async def test_black_means_the_pattern_colour(air: LoopbackAir, button: SimButton) -> None:
    assert await air.command(ADDRESS, frame(1, pattern=2, rgb=(0, 0, 0))) == "accepted"
    assert (await button.wait_for_output()).rgb == (255, 190, 0)


async def test_rejections_are_refused_and_counted(air: LoopbackAir, button: SimButton) -> None:
    good = frame(5)
    tampered = good[:-1] + bytes([good[-1] ^ 0x80])
    # The stack acknowledges every write; the state characteristic says what became of it.
    assert await air.command(ADDRESS, tampered) == "bad_mic"
    assert await air.command(ADDRESS, frame(6, key=bytes(16))) == "bad_mic"
    assert await air.command(ADDRESS, good[:-1]) == "malformed"
    assert await air.command(ADDRESS, good) == "accepted"
    assert await air.command(ADDRESS, good) == "replay"
    assert await air.command(ADDRESS, frame(4)) == "replay"  # older
    assert button.rejections == {"malformed": 1, "bad_mic": 2, "replay": 2, "unsupported": 0}
    await button.wait_for_output()
    assert len(button.outputs) == 1

    conn = await air.connect(ADDRESS)
    status, value = await air.read(ADDRESS, conn, air.handle(ADDRESS, gatt.STATE_UUID))
    assert status == 0
    version, accepted, battery, rejected, claimed, outcome, writes = struct.unpack(gatt.STATE_FORMAT, value)
    assert (version, accepted, rejected, claimed, gatt.OUTCOMES[outcome], writes) == (2, 5, 5, 4, "replay", 6)
    assert 80 <= battery <= 88


async def test_provisioning_is_refused_once_keyed(air: LoopbackAir, button: SimButton) -> None:
    conn = await air.connect(ADDRESS)
    handle = air.handle(ADDRESS, gatt.PROVISION_UUID)
    assert await air.write(ADDRESS, conn, handle, bytes(16)) == 0  # the stack takes any write
    closed = pairing.status_value(pairing.CLOSED, None)
    # ... and the firmware puts its status back: nobody can plant a "button key" for a hub.

    async def restored() -> bool:
        return (await air.read(ADDRESS, conn, handle))[1] == closed

    await eventually_async(restored, what="the provisioning status to be put back")


@pytest.mark.slow
async def test_counters_survive_a_reboot(air: LoopbackAir, tmp_path: Path) -> None:
    state = tmp_path / "button"
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state) as sim:
        await air.wait_for(lambda: bool(air.peers.get(ADDRESS) and air.peers[ADDRESS].services))
        assert await air.command(ADDRESS, frame(7)) == "accepted"
        await sim.press("tap")
        before = sim.adverts[-1]
    await air.wait_for(lambda: ADDRESS not in air.peers)
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=state) as sim:
        await air.wait_for(lambda: bool(air.peers.get(ADDRESS) and air.peers[ADDRESS].services))
        assert sim.last_command_counter == 7
        assert await air.command(ADDRESS, frame(7)) == "replay"
        assert sim.rejections["replay"] == 1
        await sim.press("tap")
        after = sim.adverts[-1]
    counter = slice(-8, -4)
    assert int.from_bytes(after[counter], "little") == int.from_bytes(before[counter], "little") + 1


async def test_a_different_key_for_existing_state_is_refused(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path):
        pass
    with pytest.raises(SimButtonError, match="different key"):
        async with SimButton(air=air.address, address=ADDRESS, key=bytes(16), state_dir=tmp_path):
            pass


@pytest.mark.slow
async def test_two_buttons_share_one_loop(air: LoopbackAir, tmp_path: Path) -> None:
    other = "54:48:E6:8F:80:B6"
    async with (
        SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path / "a") as a,
        SimButton(air=air.address, address=other, key=bytes(16), state_dir=tmp_path / "b", x=3.0) as b,
    ):
        await asyncio.gather(a.press("tap"), b.press("long_press"))
        assert decode(ADDRESS, a.adverts[-1], KEY)["event"] == "press"
        assert decode(other, b.adverts[-1], bytes(16))["event"] == "long_press"
        await b.move(5.0, 1.0)
        await air.wait_for(lambda: air.peers[other].x == 5.0)


async def test_no_air_is_a_clear_error(tmp_path: Path) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    sim = SimButton(air=("127.0.0.1", port), address=ADDRESS, key=KEY, state_dir=tmp_path)
    with pytest.raises(SimButtonError, match="air server running"):
        await sim.start()
