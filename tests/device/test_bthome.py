"""The firmware's adverts are BTHome v2 that bthome-ble decodes with the key, and only with it."""

from __future__ import annotations

from typing import Any

import pytest

from device import bthome, command
from firmware_sim.ad_structures import parse
from firmware_sim.shims.cryptolib import aes
from tests.device.vectors import decode, vectors

ADVERTS: list[dict[str, Any]] = vectors()["bthome_adverts"]
EVENT_NAMES = {1: "press", 2: "double_press", 4: "long_press"}


def _build(vector: dict[str, Any]) -> bytes:
    return bthome.advert(
        aes(bytes.fromhex(vector["key"]), 1).encrypt,
        command.mac_bytes(vector["mac"]),
        vector["counter"],
        vector["packet_id"],
        vector["battery"],
        vector["event"],
    )


@pytest.mark.parametrize("vector", ADVERTS, ids=lambda v: str(v["counter"]))
def test_reproduces_published_vector(vector: dict[str, Any]) -> None:
    mac = command.mac_bytes(vector["mac"])
    assert bthome.nonce(mac, vector["counter"]).hex() == vector["nonce"]
    assert _build(vector).hex() == vector["advert"]


@pytest.mark.parametrize("vector", ADVERTS, ids=lambda v: str(v["counter"]))
def test_bthome_ble_decodes_with_key(vector: dict[str, Any]) -> None:
    result = decode(vector["mac"], _build(vector), bytes.fromhex(vector["key"]))
    assert result == {
        "verified": True,
        "event": EVENT_NAMES[vector["event"]],
        "battery": vector["battery"],
        "packet_id": vector["packet_id"],
    }


@pytest.mark.parametrize("key", [None, bytes(16)], ids=["no-key", "wrong-key"])
def test_bthome_ble_refuses_without_the_key(key: bytes | None) -> None:
    vector = ADVERTS[0]
    result = decode(vector["mac"], _build(vector), key)
    assert result == {"verified": False, "event": None, "battery": None, "packet_id": None}


def test_advert_layout() -> None:
    data = _build(ADVERTS[0])
    assert len(data) <= 31
    ad = parse(data)
    assert ad.flags == 0x06
    assert ad.name == "HL"
    service = ad.service_data["0000fcd2-0000-1000-8000-00805f9b34fb"]
    assert service[0] == 0x45  # v2, trigger based, encrypted
    assert service[-8:-4] == (1).to_bytes(4, "little")


def test_idle_advert_has_no_service_data() -> None:
    ad = parse(bthome.idle_advert())
    assert ad.service_data == {}
    assert ad.name == "HL"
