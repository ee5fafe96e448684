"""A simulated home: its hub's radio on the air, and the buttons and wearables in it.

This is what the demo and tests hand to the hub's web API as its ``SimControls``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from firmware_sim.air.server import AirServer
from firmware_sim.button import Gesture, SimButton

BLUETOOTH_BASE_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
AD_SERVICE_DATA_16: Final = 0x16
AD_SERVICE_DATA_128: Final = 0x21
AD_MAX_LEN: Final = 255  # one AD structure's length byte


def service_data_advert(service_data: dict[str, bytes]) -> bytes:
    """AD structures carrying ``service_data`` (16-bit UUIDs where the UUID allows it)."""
    out = bytearray()
    for uuid, value in service_data.items():
        text = uuid.lower()
        if len(text) == 4:
            text = f"0000{text}{BLUETOOTH_BASE_SUFFIX}"
        if text.startswith("0000") and text.endswith(BLUETOOTH_BASE_SUFFIX):
            body = bytes((AD_SERVICE_DATA_16,)) + int(text[4:8], 16).to_bytes(2, "little") + value
        else:
            body = bytes((AD_SERVICE_DATA_128,)) + bytes.fromhex(text.replace("-", ""))[::-1] + value
        if len(body) >= AD_MAX_LEN:
            raise ValueError(f"service data for {uuid} is too long for one advert")
        out += bytes((len(body),)) + body
    return bytes(out)


@dataclass(slots=True)
class SimHome:
    """One home in the simulated world. Positions are metres; the hub sits at ``position``."""

    name: str
    air: AirServer
    hub_radio: str
    position: tuple[float, float]
    buttons: dict[str, SimButton] = field(default_factory=dict)
    # Every home's hub position by home id, so a device can be carried to another (a visit).
    homes: dict[str, tuple[float, float]] = field(default_factory=dict)

    def inject_advert(self, address: str, rssi: int, service_data: dict[str, bytes]) -> bool:
        return self.air.inject(self.hub_radio, address, service_data_advert(service_data), rssi)

    async def press(self, button_id: str, gesture: str) -> None:
        button = self.buttons[button_id]
        if gesture not in ("tap", "double_tap", "long_press"):
            raise ValueError(f"unknown gesture {gesture!r}")
        g: Gesture = gesture  # type: ignore[assignment]  # narrowed by the check above
        await button.press(g)

    def button_output(self, button_id: str) -> dict[str, Any]:
        button = self.buttons[button_id]
        where = self.air.position(button.address)
        distance = math.dist(where, self.position) if where is not None else None
        return {
            "id": button_id,
            "address": button.address,
            "distance_m": distance,
            "outputs": [asdict(f) for f in button.outputs],
            "rejections": dict(button.rejections),
        }

    async def place_wearable(self, wearable_id: str, distance_m: float, at: str | None = None) -> None:
        """This far from this home's hub, or from home ``at``'s (a visit; ValueError if unknown)."""
        device = self.buttons[wearable_id]
        if at is not None and at not in self.homes:
            raise ValueError(f"no home {at!r}; the homes are {', '.join(sorted(self.homes)) or 'none'}")
        x, y = self.position if at is None else self.homes[at]
        await device.move(x + distance_m, y)
