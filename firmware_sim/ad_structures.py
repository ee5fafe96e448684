"""Parse a legacy advertising payload (AD structures, Core Spec Supplement Part A).

Just enough to turn what a firmware passes to ``gap_advertise`` into the fields bleak and
Home Assistant's service-info objects carry (name, service data keyed by 128-bit UUID string,
manufacturer data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

AD_FLAGS: Final = 0x01
AD_SHORT_NAME: Final = 0x08
AD_COMPLETE_NAME: Final = 0x09
AD_SERVICE_DATA_16: Final = 0x16
AD_MANUFACTURER: Final = 0xFF
_BASE_UUID_TAIL: Final = "-0000-1000-8000-00805f9b34fb"  # Bluetooth base UUID


class AdvertParseError(ValueError):
    """The payload is not a well-formed sequence of AD structures."""


@dataclass(slots=True, frozen=True)
class Advert:
    flags: int | None = None
    name: str | None = None
    service_data: dict[str, bytes] = field(default_factory=dict)
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)


def uuid16_to_str(value: int) -> str:
    return f"0000{value:04x}{_BASE_UUID_TAIL}"


def parse(data: bytes) -> Advert:
    flags: int | None = None
    name: str | None = None
    service_data: dict[str, bytes] = {}
    manufacturer: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0:  # early terminator: the rest is padding
            break
        end = pos + 1 + length
        if end > len(data):
            raise AdvertParseError(f"AD structure at offset {pos} runs past the payload end")
        ad_type, body = data[pos + 1], data[pos + 2 : end]
        if ad_type == AD_FLAGS and body:
            flags = body[0]
        elif ad_type in (AD_SHORT_NAME, AD_COMPLETE_NAME):
            name = body.decode(errors="replace")
        elif ad_type == AD_SERVICE_DATA_16 and len(body) >= 2:
            service_data[uuid16_to_str(int.from_bytes(body[:2], "little"))] = bytes(body[2:])
        elif ad_type == AD_MANUFACTURER and len(body) >= 2:
            manufacturer[int.from_bytes(body[:2], "little")] = bytes(body[2:])
        pos = end
    return Advert(flags, name, service_data, manufacturer)
