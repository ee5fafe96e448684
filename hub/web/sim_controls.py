"""What the API needs from a simulated home (the demo and tests provide it; a real hub has none)."""

from __future__ import annotations

from typing import Any, Protocol


class SimControls(Protocol):
    def inject_advert(self, address: str, rssi: int, service_data: dict[str, bytes]) -> bool:
        """Put a raw advert on the air next to this home's hub; False if the hub is not scanning."""
        ...

    async def press(self, button_id: str, gesture: str) -> None:
        """Press a simulated button (KeyError if this home has no such button)."""
        ...

    def button_output(self, button_id: str) -> dict[str, Any]:
        """Haptic and LED output the simulated button produced (KeyError if unknown)."""
        ...

    async def place_wearable(self, wearable_id: str, distance_m: float) -> None:
        """Move a simulated wearable or button to this distance from the hub (KeyError if unknown)."""
        ...
