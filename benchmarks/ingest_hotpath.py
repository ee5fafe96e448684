"""Cost per advertisement on the hub's BLE hot path, beside bthome-ble's own parse.

    python -m benchmarks.ingest_hotpath [--adverts N] [--repeats R] [--quick]

Both columns process the same encrypted BTHome v2 adverts (distinct counters, as a stream of
new events would be): the baseline is ``BTHomeBluetoothDeviceData.update`` alone (decode and
AES-CCM decrypt, one parser per device as Home Assistant keeps it); Heartline is the whole hot
path from bleak's detection callback to a ``TouchEvent``: address filter, bounded queue,
the same bthome-ble decode and decrypt, counter replay check, gesture mapping, event.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from habluetooth import BluetoothServiceInfoBleak

from benchmarks.timing import median, per_call_us, table
from device import bthome, command
from hub.ble.ingest import BTHOME_UUID, AdvertIngest
from hub.clock import ManualClock
from hub.store.buttons import ButtonRegistry
from hub.store.database import open_database

ADDRESS: Final = "C0:FF:EE:00:00:0A"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
GOAL_RATIO: Final = 1.5
STRANGERS: Final = 200


def _adverts(count: int) -> list[bytes]:
    encrypt = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor().update
    mac = command.mac_bytes(ADDRESS)
    return [
        bthome.service_data(encrypt, mac, counter, counter & 0xFF, 90, bthome.EVENT_PRESS)
        for counter in range(1, count + 1)
    ]


def _advertisement(data: bytes, rssi: int = -60) -> AdvertisementData:
    return AdvertisementData("HL", {}, {BTHOME_UUID: data}, [], None, rssi, ())


def _service_info(data: bytes, at: float) -> BluetoothServiceInfoBleak:
    return BluetoothServiceInfoBleak(
        name="HL",
        address=ADDRESS,
        rssi=-60,
        manufacturer_data={},
        service_data={BTHOME_UUID: data},
        service_uuids=[BTHOME_UUID],
        source="bench",
        device=BLEDevice(ADDRESS, "HL", None),
        advertisement=None,
        connectable=True,
        time=at,
        tx_power=None,
    )


def bare_parse(adverts: list[bytes]) -> Callable[[], int]:
    parser = BTHomeBluetoothDeviceData(bindkey=KEY)
    infos = [_service_info(data, float(i)) for i, data in enumerate(adverts)]

    def run() -> int:
        events = sum(len(parser.update(info).events) for info in infos)
        return len(infos) if events == len(infos) else 0

    return run


def heartline(adverts: list[bytes], stack: contextlib.ExitStack, workdir: Path) -> Callable[[], int]:
    db = open_database(workdir)
    stack.callback(db.close)
    registry = ButtonRegistry(db)
    registry.upsert(ADDRESS, "heartline", KEY, "Alex")
    ingest = AdvertIngest(registry, ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    device = BLEDevice(ADDRESS, "HL", None)
    advertisements = [_advertisement(data) for data in adverts]

    def run() -> int:
        events = 0
        for advertisement in advertisements:
            ingest.on_advert(device, advertisement)
            events += len(ingest.process_pending())
        return len(advertisements) if events == len(advertisements) else 0

    return run


def strangers(adverts: list[bytes], stack: contextlib.ExitStack, workdir: Path) -> Callable[[], int]:
    db = open_database(workdir)
    stack.callback(db.close)
    ingest = AdvertIngest(ButtonRegistry(db), ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    devices = [BLEDevice(f"66:55:44:33:{i // 256:02X}:{i % 256:02X}", None, None) for i in range(STRANGERS)]
    advertisement = _advertisement(adverts[0])

    def run() -> int:
        for _ in range(5):
            for device in devices:
                ingest.on_advert(device, advertisement)
        return 5 * STRANGERS if not ingest.process_pending() else 0

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_hotpath", description=__doc__)
    parser.add_argument("--adverts", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="300 adverts, 3 repeats")
    args = parser.parse_args(argv)
    count, repeats = (300, 3) if args.quick else (args.adverts, args.repeats)
    adverts = _adverts(count)
    with tempfile.TemporaryDirectory(prefix="heartline-bench-") as tmp, contextlib.ExitStack() as stack:
        runs = iter(range(10**6))
        base = per_call_us(lambda: bare_parse(adverts), repeats)
        ours = per_call_us(lambda: heartline(adverts, stack, Path(tmp) / f"run{next(runs)}"), repeats)
        reject = per_call_us(lambda: strangers(adverts, stack, Path(tmp) / f"run{next(runs)}"), repeats)
    ratio = median(ours) / median(base)
    print(f"{count} distinct encrypted adverts, {repeats} runs each (median of runs, µs per advert)\n")
    print(
        table(
            ["path", "median µs/advert", "min", "max", "x bare parse"],
            [
                ["bthome-ble parse alone (baseline)", median(base), min(base), max(base), 1.0],
                ["Heartline hot path (callback → event)", median(ours), min(ours), max(ours), ratio],
                [
                    f"stranger advert rejected ({STRANGERS} devices)",
                    median(reject),
                    min(reject),
                    max(reject),
                    median(reject) / median(base),
                ],
            ],
        )
    )
    cpu = median(ours) * 1000 / 1e6 * 100
    print(f"\nCPU for 1,000 distinct encrypted adverts/s on this machine: {cpu:.1f}% of one core")
    verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"goal: <= {GOAL_RATIO}x the bare parse -> {verdict} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
