"""Hostile adverts: random and mutated bytes never escape as exceptions, never become touches
unless they carry a valid MIC, and every advert is accounted for (an event or one reason)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device import bthome, ccm, command
from hub.ble.ingest import BTHOME_UUID, AdvertIngest
from hub.clock import ManualClock
from hub.store.buttons import ButtonRegistry
from hub.store.database import open_database

ADDRESS = "C0:FF:EE:00:00:0A"
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
ENCRYPT = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor().update
# HEARTLINE_FUZZ_EXAMPLES=100000 runs the full-size campaign; CI runs a short honest one.
EXAMPLES = int(os.environ.get("HEARTLINE_FUZZ_EXAMPLES", "400"))
VALID = bthome.service_data(ENCRYPT, command.mac_bytes(ADDRESS), 5, 5, 80, bthome.EVENT_PRESS)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdvertIngest]:
    db = open_database(Path(tmp_path_factory.mktemp("fuzz")))
    ButtonRegistry(db).upsert(ADDRESS, "heartline", KEY, "Alex")
    try:
        yield AdvertIngest(ButtonRegistry(db), ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    finally:
        db.close()


def _feed(ingest: AdvertIngest, data: bytes, address: str = ADDRESS) -> int:
    before_seen, before_rejected = ingest.adverts_seen, sum(ingest.rejected.values())
    advertisement = AdvertisementData(None, {}, {BTHOME_UUID: data}, [], None, -70, ())
    ingest.on_advert(BLEDevice(address, None, None), advertisement)
    events = len(ingest.process_pending())
    assert ingest.adverts_seen - before_seen == 1
    assert events + sum(ingest.rejected.values()) - before_rejected == 1  # accounted for exactly once
    return events


mutations = st.one_of(
    st.binary(max_size=64),
    st.builds(
        lambda i, b: VALID[:i] + bytes((b,)) + VALID[i + 1 :],
        st.integers(0, len(VALID) - 1),
        st.integers(0, 255),
    ),
    st.builds(lambda n: VALID[:n], st.integers(0, len(VALID))),
    st.builds(lambda extra: VALID + extra, st.binary(max_size=16)),
)


@pytest.mark.slow  # hundreds of generated adverts
@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=mutations)
def test_random_and_mutated_adverts_never_become_touches(ingest: AdvertIngest, data: bytes) -> None:
    if data == VALID:
        return  # the one genuine advert is allowed through (once)
    assert _feed(ingest, data) == 0


@settings(max_examples=EXAMPLES // 4, deadline=None)
@given(plaintext=st.binary(max_size=20), counter=st.integers(10**6, 2**32 - 1))
def test_authentic_adverts_with_garbage_inside_do_not_crash_the_hub(
    ingest: AdvertIngest, plaintext: bytes, counter: int
) -> None:
    # A button with the right key but broken firmware: valid MIC around arbitrary objects.
    nonce = bthome.nonce(command.mac_bytes(ADDRESS), counter)
    sealed = ccm.seal(ENCRYPT, nonce, plaintext, 4)
    data = bytes((bthome.DEVICE_INFO,)) + sealed[:-4] + counter.to_bytes(4, "little") + sealed[-4:]
    _feed(ingest, data)  # an event or a counted reason, never an exception
