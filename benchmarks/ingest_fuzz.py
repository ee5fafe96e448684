"""Fuzz the BLE ingest path with random and mutated adverts; print the tally and memory.

    python -m benchmarks.ingest_fuzz [--adverts N] [--seed S] [--quick]

Every advert must end as a touch (only the genuine ones) or under exactly one counted reason;
no exception may escape; memory after the run must be where it was after the first tenth.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from benchmarks.timing import table
from device import bthome, command
from hub.ble.ingest import BTHOME_UUID, AdvertIngest
from hub.clock import ManualClock
from hub.log import setup_logging
from hub.store.buttons import ButtonRegistry
from hub.store.database import open_database

ADDRESS: Final = "C0:FF:EE:00:00:0A"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
STRANGERS: Final = 200
# Memory may wobble by allocator caching; growth past this (bytes) would be a leak.
FLAT_MEMORY_SLACK: Final = 256 * 1024


def _mutated(rng: random.Random, valid: bytes) -> bytes:
    choice = rng.randrange(4)
    if choice == 0:
        return rng.randbytes(rng.randrange(0, 64))
    if choice == 1:
        i = rng.randrange(len(valid))
        return valid[:i] + bytes((rng.randrange(256),)) + valid[i + 1 :]
    if choice == 2:
        return valid[: rng.randrange(len(valid))]
    return valid + rng.randbytes(rng.randrange(1, 16))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_fuzz", description=__doc__)
    parser.add_argument("--adverts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10,000 adverts")
    args = parser.parse_args(argv)
    setup_logging()  # as the hub does: bthome-ble's per-advert warnings off, rejections counted
    total = 10_000 if args.quick else args.adverts
    rng = random.Random(args.seed)
    encrypt = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor().update
    valid = bthome.service_data(encrypt, command.mac_bytes(ADDRESS), 1, 1, 80, bthome.EVENT_PRESS)
    with tempfile.TemporaryDirectory(prefix="heartline-fuzz-") as tmp:
        db = open_database(Path(tmp))
        try:
            registry = ButtonRegistry(db)
            registry.upsert(ADDRESS, "heartline", KEY, "Alex")
            ingest = AdvertIngest(registry, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
            strangers = [
                BLEDevice(f"66:55:44:33:{i // 256:02X}:{i % 256:02X}", None, None) for i in range(STRANGERS)
            ]
            ours = BLEDevice(ADDRESS, None, None)
            events = 0
            tracemalloc.start()
            settled = 0
            for index in range(total):
                if index == total // 10:
                    settled = tracemalloc.get_traced_memory()[0]
                device = strangers[index % STRANGERS] if index % 3 == 0 else ours
                data = valid if index == 0 else _mutated(rng, valid)
                ingest.on_advert(device, AdvertisementData(None, {}, {BTHOME_UUID: data}, [], None, -70, ()))
                if index % 64 == 0 or index == total - 1:
                    events += len(ingest.process_pending())
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            db.close()
    accounted = events + sum(ingest.rejected.values())
    print(
        f"{total:,} adverts ({STRANGERS} stranger devices, random and mutated payloads), seed {args.seed}\n"
    )
    rows: list[list[object]] = [["touch event", events]]
    rows += [[f"rejected: {reason}", count] for reason, count in ingest.rejected.most_common()]
    rows.append(["total accounted for", accounted])
    print(table(["outcome", "adverts"], rows))
    growth = current - settled
    print(
        f"\ntraced memory after 10%: {settled / 1024:.0f} KiB, at the end: {current / 1024:.0f} KiB, "
        f"peak {peak / 1024:.0f} KiB (growth {growth / 1024:+.0f} KiB)"
    )
    ok = accounted == total and events <= 1 and growth < FLAT_MEMORY_SLACK
    print("result:", "every advert accounted for, no forged touch, memory flat" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
