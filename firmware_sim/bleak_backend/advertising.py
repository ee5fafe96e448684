"""Parse raw advertising payloads (AD structures) the way a host's Bluetooth stack does.

Core Specification Supplement, Part A, section 1: a sequence of ``length | type | data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from bleak.uuids import normalize_uuid_16, normalize_uuid_str

AD_FLAGS: Final = 0x01
AD_UUID16_INCOMPLETE: Final = 0x02
AD_UUID16_COMPLETE: Final = 0x03
AD_UUID128_INCOMPLETE: Final = 0x06
AD_UUID128_COMPLETE: Final = 0x07
AD_NAME_SHORT: Final = 0x08
AD_NAME_COMPLETE: Final = 0x09
AD_TX_POWER: Final = 0x0A
AD_SERVICE_DATA_16: Final = 0x16
AD_SERVICE_DATA_128: Final = 0x21
AD_MANUFACTURER: Final = 0xFF


@dataclass(slots=True)
class ParsedAdvertisement:
    local_name: str | None = None
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_data: dict[str, bytes] = field(default_factory=dict)
    service_uuids: list[str] = field(default_factory=list)
    tx_power: int | None = None


def parse_advertisement(data: bytes) -> ParsedAdvertisement:
    """Parse AD structures; a truncated trailing structure is ignored, as BlueZ does."""
    parsed = ParsedAdvertisement()
    offset = 0
    while offset < len(data):
        length = data[offset]
        if length == 0 or offset + 1 + length > len(data):
            break
        ad_type = data[offset + 1]
        value = data[offset + 2 : offset + 1 + length]
        offset += 1 + length
        _apply(parsed, ad_type, value)
    return parsed


def _apply(parsed: ParsedAdvertisement, ad_type: int, value: bytes) -> None:
    if ad_type in (AD_NAME_SHORT, AD_NAME_COMPLETE):
        parsed.local_name = value.decode("utf-8", "replace")
    elif ad_type == AD_SERVICE_DATA_16 and len(value) >= 2:
        uuid = normalize_uuid_16(int.from_bytes(value[:2], "little"))
        parsed.service_data[uuid] = bytes(value[2:])
    elif ad_type == AD_SERVICE_DATA_128 and len(value) >= 16:
        parsed.service_data[_uuid128(value[:16])] = bytes(value[16:])
    elif ad_type == AD_MANUFACTURER and len(value) >= 2:
        parsed.manufacturer_data[int.from_bytes(value[:2], "little")] = bytes(value[2:])
    elif ad_type in (AD_UUID16_INCOMPLETE, AD_UUID16_COMPLETE):
        parsed.service_uuids.extend(
            normalize_uuid_16(int.from_bytes(value[i : i + 2], "little")) for i in range(0, len(value) - 1, 2)
        )
    elif ad_type in (AD_UUID128_INCOMPLETE, AD_UUID128_COMPLETE):
        parsed.service_uuids.extend(_uuid128(value[i : i + 16]) for i in range(0, len(value) - 15, 16))
    elif ad_type == AD_TX_POWER and len(value) == 1:
        parsed.tx_power = int.from_bytes(value, "little", signed=True)


def _uuid128(little_endian: bytes) -> str:
    return normalize_uuid_str(little_endian[::-1].hex())
