"""Shared test helpers: the published vectors and bthome-ble decoding of raw adverts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from bleak.backends.device import BLEDevice
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from firmware_sim.ad_structures import parse

REPO: Final = Path(__file__).resolve().parents[2]
VECTORS_PATH: Final = REPO / "hardware" / "test-vectors.json"


def vectors() -> dict[str, Any]:
    with VECTORS_PATH.open(encoding="utf-8") as f:
        loaded: dict[str, Any] = json.load(f)
    return loaded


def service_info(address: str, payload: bytes, at: float = 0.0) -> BluetoothServiceInfoBleak:
    """What Home Assistant's Bluetooth stack would hand bthome-ble for this raw advert."""
    ad = parse(payload)
    return BluetoothServiceInfoBleak(
        name=ad.name or address,
        address=address,
        rssi=-60,
        manufacturer_data=ad.manufacturer_data,
        service_data=ad.service_data,
        service_uuids=[],
        source="local",
        device=BLEDevice(address, ad.name, None),
        advertisement=None,
        connectable=True,
        time=at,
        tx_power=None,
    )


def decode(address: str, payload: bytes, key: bytes | None) -> dict[str, Any]:
    """Decode with bthome-ble: {'verified', 'event', 'battery', 'packet_id'}."""
    parser = BTHomeBluetoothDeviceData(bindkey=key)
    update = parser.update(service_info(address, payload))
    values = {k.key: v.native_value for k, v in update.entity_values.items()}
    events = [e.event_type for e in update.events.values()]
    return {
        "verified": parser.bindkey_verified,
        "event": events[0] if events else None,
        "battery": values.get("battery"),
        "packet_id": values.get("packet_id"),
    }
