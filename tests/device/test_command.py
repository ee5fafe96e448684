"""The feedback command codec: published vectors, round trips, and hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device import bthome, command, haptic
from firmware_sim.shims.cryptolib import aes
from tests.device.vectors import vectors

COMMANDS: list[dict[str, Any]] = vectors()["commands"]
REJECTED: list[dict[str, Any]] = vectors()["rejected_commands"]


def _block(key_hex: str) -> Any:
    return aes(bytes.fromhex(key_hex), 1).encrypt


@pytest.mark.parametrize("vector", COMMANDS, ids=lambda v: str(v["counter"]))
def test_pack_reproduces_published_vector(vector: dict[str, Any]) -> None:
    mac = command.mac_bytes(vector["mac"])
    assert command.nonce(mac, vector["counter"]).hex() == vector["nonce"]
    assert (
        command.pack_plaintext(vector["pattern"], vector["rgb"], vector["deciseconds"]).hex()
        == vector["plaintext"]
    )
    frame = command.pack_feedback(
        _block(vector["key"]),
        mac,
        vector["counter"],
        vector["pattern"],
        vector["rgb"],
        vector["deciseconds"],
    )
    assert frame.hex() == vector["frame"]


@pytest.mark.parametrize("vector", COMMANDS, ids=lambda v: str(v["counter"]))
def test_unpack_published_vector(vector: dict[str, Any]) -> None:
    counter, pattern, rgb, ds = command.unpack_feedback(
        _block(vector["key"]), command.mac_bytes(vector["mac"]), bytes.fromhex(vector["frame"])
    )
    assert (counter, pattern, list(rgb), ds) == (
        vector["counter"],
        vector["pattern"],
        vector["rgb"],
        vector["deciseconds"],
    )


@pytest.mark.parametrize("vector", REJECTED, ids=lambda v: str(v["reason"]))
def test_published_rejections(vector: dict[str, Any]) -> None:
    with pytest.raises(command.CommandError) as caught:
        command.unpack_feedback(
            _block(vector["key"]), command.mac_bytes(vector["mac"]), bytes.fromhex(vector["frame"])
        )
    assert caught.value.reason == vector["reason"]


@given(
    key=st.binary(min_size=16, max_size=16),
    mac=st.binary(min_size=6, max_size=6),
    counter=st.integers(min_value=0, max_value=0xFFFFFFFF),
    pattern=st.integers(min_value=1, max_value=5),
    rgb=st.tuples(*[st.integers(min_value=0, max_value=255)] * 3),
    ds=st.integers(min_value=0, max_value=255),
)
def test_round_trip(
    *, key: bytes, mac: bytes, counter: int, pattern: int, rgb: tuple[int, int, int], ds: int
) -> None:
    block = aes(key, 1).encrypt
    frame = command.pack_feedback(block, mac, counter, pattern, rgb, ds)
    assert len(frame) == command.FRAME_LEN
    assert command.frame_counter(frame) == counter
    assert command.unpack_feedback(block, mac, frame) == (counter, pattern, rgb, ds)


@given(frame=st.binary(max_size=40), key=st.binary(min_size=16, max_size=16))
def test_hostile_frames_only_raise_command_error(frame: bytes, key: bytes) -> None:
    reason = None
    try:
        command.unpack_feedback(aes(key, 1).encrypt, bytes(6), frame)
    except command.CommandError as err:
        reason = err.reason
    assert reason in (None, command.REASON_MALFORMED, command.REASON_BAD_MIC)


@given(plaintext=st.binary(max_size=12))
def test_hostile_plaintext_only_raises_command_error(plaintext: bytes) -> None:
    pattern, reason = 0, None
    try:
        pattern, _, _ = command.unpack_plaintext(plaintext)
    except command.CommandError as err:
        reason = err.reason
    assert reason == command.REASON_MALFORMED or 1 <= pattern <= 5


def test_wrong_key_or_mac_is_bad_mic() -> None:
    frame = command.pack_feedback(aes(bytes(16), 1).encrypt, bytes(6), 1, 1, (1, 2, 3), 4)
    wrong_key = (aes(b"\x01" * 16, 1).encrypt, bytes(6))
    wrong_mac = (aes(bytes(16), 1).encrypt, b"\x01" * 6)
    for block, mac in (wrong_key, wrong_mac):
        with pytest.raises(command.CommandError) as caught:
            command.unpack_feedback(block, mac, frame)
        assert caught.value.reason == command.REASON_BAD_MIC


def test_nonce_space_is_disjoint_from_bthome() -> None:
    mac = bytes(range(6))
    for counter in (0, 1, 0xFFFFFFFF):
        assert command.nonce(mac, counter)[6:8] == b"HL"
        assert bthome.nonce(mac, counter)[6:8] == b"\xd2\xfc"
        assert len(command.nonce(mac, counter)) == len(bthome.nonce(mac, counter)) == 13


def test_pack_refuses_out_of_range_fields() -> None:
    block = aes(bytes(16), 1).encrypt
    with pytest.raises(ValueError, match="pattern"):
        command.pack_feedback(block, bytes(6), 1, 6, (0, 0, 0), 0)
    with pytest.raises(ValueError, match="rgb"):
        command.pack_feedback(block, bytes(6), 1, 1, (0, 0, 256), 0)
    with pytest.raises(ValueError, match="counter"):
        command.pack_feedback(block, bytes(6), 1 << 32, 1, (0, 0, 0), 0)
    with pytest.raises(ValueError, match="MAC"):
        command.mac_bytes("AA:BB")


def test_pattern_names() -> None:
    assert [command.pattern_name(i) for i in range(1, 6)] == [
        "thinking_of_you",
        "celebrate",
        "need_you",
        "felt_it",
        "shared_moment",
    ]
    assert command.pattern_number("need_you") == command.PATTERN_NEED_YOU


def test_the_arrived_glow_is_a_pattern_and_the_local_cues_are_not() -> None:
    assert command.pattern_name(command.PATTERN_ARRIVED) == "arrived"
    assert command.pattern_number("arrived") == command.PATTERN_ARRIVED
    block = aes(bytes(16), 1).encrypt
    frame = command.pack_feedback(block, bytes(6), 1, command.PATTERN_ARRIVED, (90, 40, 30), 20)
    assert command.unpack_feedback(block, bytes(6), frame) == (1, command.PATTERN_ARRIVED, (90, 40, 30), 20)
    for cue in (6, 7, 8, 10):  # the firmware's own cues, and past the end
        with pytest.raises(ValueError, match="pattern"):
            command.pattern_name(cue)
        with pytest.raises(command.CommandError, match="pattern") as caught:
            command.unpack_plaintext(bytes((command.OP_FEEDBACK, cue, 0, 0, 0, 0)))
        assert caught.value.reason == command.REASON_MALFORMED
    with pytest.raises(ValueError, match="pattern"):
        command.pattern_number("")
    assert haptic.RHYTHMS[command.PATTERN_ARRIVED] == ((0, 600),)  # no motor: a glow
