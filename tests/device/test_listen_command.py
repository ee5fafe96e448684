"""The listen-period command (op 0x02): its codec and published vectors, hostile input, and the
firmware taking it: a wearable records the period and sleeps it from its next sleep, a puck
refuses it, and a replayed frame is refused like a replayed feedback (one shared counter)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given
from hypothesis import strategies as st

from device import command, sleep
from firmware_sim.button import SimButton
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.scenario.virtual_time import run_virtual
from firmware_sim.shims.cryptolib import aes
from tests.device.vectors import vectors

LISTEN: list[dict[str, Any]] = vectors()["listen_commands"]
KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS = "54:48:E6:8F:80:A5"
MAC = command.mac_bytes(ADDRESS)
T = TypeVar("T")


def _block(key: bytes) -> Any:
    return aes(key, 1).encrypt


# --- the codec ------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", LISTEN, ids=lambda v: str(v["period_s"]))
def test_pack_reproduces_published_listen_vector(vector: dict[str, Any]) -> None:
    key, mac = bytes.fromhex(vector["key"]), command.mac_bytes(vector["mac"])
    assert command.nonce(mac, vector["counter"]).hex() == vector["nonce"]
    assert command.pack_listen_plaintext(vector["period_s"]).hex() == vector["plaintext"]
    frame = command.pack_listen(_block(key), mac, vector["counter"], vector["period_s"])
    assert frame.hex() == vector["frame"]
    # Checked against an independent AES-CCM, not only the firmware's own.
    sealed = AESCCM(key, tag_length=command.TAG_LEN).encrypt(
        bytes.fromhex(vector["nonce"]), bytes.fromhex(vector["plaintext"]), None
    )
    assert frame[command.HEADER_LEN :] == sealed


@pytest.mark.parametrize("vector", LISTEN, ids=lambda v: str(v["period_s"]))
def test_unpack_command_opens_published_listen_vector(vector: dict[str, Any]) -> None:
    key, mac = bytes.fromhex(vector["key"]), command.mac_bytes(vector["mac"])
    opened = command.unpack_command(_block(key), mac, bytes.fromhex(vector["frame"]))
    assert opened == (vector["counter"], command.OP_LISTEN, (vector["period_s"],))


@given(
    key=st.binary(min_size=16, max_size=16),
    mac=st.binary(min_size=6, max_size=6),
    counter=st.integers(min_value=0, max_value=0xFFFFFFFF),
    period=st.integers(min_value=command.LISTEN_MIN_S, max_value=command.LISTEN_MAX_S),
)
def test_listen_round_trip(*, key: bytes, mac: bytes, counter: int, period: int) -> None:
    frame = command.pack_listen(_block(key), mac, counter, period)
    assert len(frame) == command.FRAME_LEN
    assert command.frame_counter(frame) == counter
    assert command.unpack_command(_block(key), mac, frame) == (counter, command.OP_LISTEN, (period,))


def test_feedback_still_opens_with_both_unpackers() -> None:
    frame = command.pack_feedback(_block(KEY), MAC, 7, 3, (1, 2, 3), 40)
    assert command.unpack_feedback(_block(KEY), MAC, frame) == (7, 3, (1, 2, 3), 40)
    assert command.unpack_command(_block(KEY), MAC, frame) == (7, command.OP_FEEDBACK, (3, (1, 2, 3), 40))


def test_a_listen_frame_is_not_feedback() -> None:
    frame = command.pack_listen(_block(KEY), MAC, 7, 60)
    with pytest.raises(command.CommandError) as caught:
        command.unpack_feedback(_block(KEY), MAC, frame)
    assert caught.value.reason == command.REASON_MALFORMED


@pytest.mark.parametrize(
    ("plaintext", "why"),
    [
        (bytes((0x02, 9, 0, 0, 0, 0)), "below 10 s"),
        (bytes((0x02, 0x11, 0x0E, 0, 0, 0)), "3601 s"),
        (bytes((0x02, 60, 0, 0, 0, 1)), "padding"),
        (bytes((0x04, 60, 0, 0, 0, 0)), "an unknown op"),
        (bytes((0x00, 60, 0, 0, 0, 0)), "op 0"),
        (bytes((0x02, 60, 0, 0, 0)), "5 bytes"),
    ],
)
def test_authentic_but_malformed_plaintext_is_malformed(plaintext: bytes, why: str) -> None:
    frame = command.seal(_block(KEY), MAC, 9, plaintext)
    with pytest.raises(command.CommandError) as caught:
        command.unpack_command(_block(KEY), MAC, frame)
    assert caught.value.reason == command.REASON_MALFORMED, why


@given(frame=st.binary(max_size=40), key=st.binary(min_size=16, max_size=16))
def test_hostile_frames_only_raise_command_error(frame: bytes, key: bytes) -> None:
    try:
        counter, op, _fields = command.unpack_command(_block(key), bytes(6), frame)
    except command.CommandError as err:
        assert err.reason in (command.REASON_MALFORMED, command.REASON_BAD_MIC)
    else:
        assert op in (command.OP_FEEDBACK, command.OP_LISTEN)
        assert 0 <= counter <= command.COUNTER_MAX


@given(plaintext=st.binary(max_size=12))
def test_hostile_plaintext_only_raises_command_error(plaintext: bytes) -> None:
    try:
        op, fields = command.unpack_command_plaintext(plaintext)
    except command.CommandError as err:
        assert err.reason == command.REASON_MALFORMED
    else:
        assert op != command.OP_LISTEN or command.LISTEN_MIN_S <= fields[0] <= command.LISTEN_MAX_S


def test_pack_listen_refuses_a_period_no_wearable_takes() -> None:
    for period in (0, 9, 3601, 65536):
        with pytest.raises(ValueError, match="listen period"):
            command.pack_listen(_block(KEY), MAC, 1, period)


def test_the_codec_and_the_wearable_agree_on_the_range() -> None:
    assert (command.LISTEN_MIN_S, command.LISTEN_MAX_S) == (sleep.MIN_PERIOD_S, sleep.MAX_PERIOD_S)


# --- the firmware, on a loopback air ----------------------------------------------------------


def virtual(test: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await test()

    return run_virtual(main())


def test_a_puck_refuses_a_listen_command_and_keeps_its_counter(tmp_path: Path) -> None:
    async def scene() -> None:
        async with (
            LoopbackAir() as air,
            SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as puck,
        ):
            await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
            assert await air.command(ADDRESS, command.pack_listen(_block(KEY), MAC, 1, 300)) == "unsupported"
            assert puck.rejections[command.REASON_UNSUPPORTED] == 1
            assert puck.last_command_counter == 0  # refused: the counter is not spent
            assert not (tmp_path / sleep.MODE_FILE).exists()
            feedback = command.pack_feedback(_block(KEY), MAC, 1, command.PATTERN_FELT_IT, (0, 0, 0), 0)
            assert await air.command(ADDRESS, feedback) == "accepted"

    virtual(scene)


def test_a_wearable_sleeps_its_new_period_and_refuses_a_replay(tmp_path: Path) -> None:
    async def scene() -> None:
        async with (
            LoopbackAir() as air,
            SimButton(
                air=air.address,
                address=ADDRESS,
                key=KEY,
                state_dir=tmp_path,
                power_mode="wearable",
                listen_period_s=60,
            ) as wearable,
        ):
            await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
            frame = command.pack_listen(_block(KEY), MAC, 5, 300)
            assert await air.command(ADDRESS, frame) == "accepted"
            assert wearable.last_command_counter == 5
            assert not (tmp_path / sleep.MODE_FILE).exists()  # only in memory while it listens
            assert await air.command(ADDRESS, frame) == "replay"
            replayed_as_feedback = command.pack_feedback(_block(KEY), MAC, 5, 1, (0, 0, 0), 0)
            assert await air.command(ADDRESS, replayed_as_feedback) == "replay"
            assert wearable.rejections["replay"] == 2
            await wearable.wait_for_deep_sleep()
            assert (tmp_path / sleep.MODE_FILE).read_bytes() == b"wearable 300"
            heard = len(air.adverts_from(ADDRESS))
            # Its next window is one new period later, and its listen advert says the new period.
            await air.wait_for(lambda: len(air.adverts_from(ADDRESS)) > heard, within_s=400)
            assert air.adverts_from(ADDRESS)[heard] == sleep.listen_advert(300)
            assert wearable.power.timer_wakes == 1

    virtual(scene)
