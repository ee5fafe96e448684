"""What the API needs from a simulated home (the demo and tests provide it; a real hub has none),
and from a simulated radio many real hubs share (``heartline sim radio``)."""

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

    async def place_wearable(self, wearable_id: str, distance_m: float, at: str | None = None) -> None:
        """Move a simulated wearable or button to this distance from the hub, or from home
        ``at``'s hub (a visit); KeyError for an unknown device, ValueError for an unknown home."""
        ...


class SimWorldControls(SimControls, Protocol):
    """A whole simulated world: hubs join it by name, buttons are made near one of them.

    Names are hub radios' names on the air (``[ble] transport = "sim:HOST:PORT/NAME"``); each
    has its own place, far from the others, given on its first mention (a join or a ``near``).
    """

    async def add_button(self, near: str, distance_m: float) -> dict[str, Any]:
        """Start a button fresh from the factory (in pairing mode) this far from hub ``near``;
        returns its ``id`` and ``address``."""
        ...

    def list_buttons(self) -> list[dict[str, Any]]:
        """Every simulated button, as ``button_output`` describes it."""
        ...

    def hubs(self) -> list[dict[str, Any]]:
        """Every hub radio the world has placed: its name, place, and whether it is on the air."""
        ...

    async def place(self, device_id: str, distance_m: float, near: str | None) -> None:
        """Move a device this far from hub ``near`` (its own hub when None: a visit otherwise)."""
        ...

    def inject_advert_near(self, near: str, address: str, rssi: int, service_data: dict[str, bytes]) -> bool:
        """Put a raw advert on the air next to hub ``near``; False if it is not scanning."""
        ...

    def set_battery(self, button_id: str, millivolts: int) -> None:
        """The cell voltage a simulated button's battery reads from now on (KeyError if unknown)."""
        ...

    async def wait_for_pattern(self, button_id: str, pattern: str, within_s: float) -> dict[str, Any]:
        """The first output of ``pattern`` the button played, waiting up to ``within_s`` for it
        (KeyError if unknown; TimeoutError naming what it did play)."""
        ...
