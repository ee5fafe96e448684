"""A simulated world that real hubs join: the air, a place per hub, and buttons made near them.

Every hub radio (``[ble] transport = "sim:HOST:PORT/NAME"``) gets its own place the first time
the world hears of it, by its joining the air or by a button being made ``near`` it; places are
``HOME_SPACING_M`` apart, so nothing in one home hears another, as in life. A button is the real
firmware (``firmware_sim.button.SimButton``) fresh from the factory: no key, in pairing mode
from power-on, until a hub pairs it. What the world holds (places, buttons, where each is, and
each button's flash) lives under ``data_dir``, so a restart finds the buttons paired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton, SimButtonError
from firmware_sim.home import service_data_advert

_LOGGER = logging.getLogger(__name__)

# Homes 10 km apart: far beyond any BLE range, whatever the noise.
HOME_SPACING_M: Final = 10_000.0
# A button made without a distance sits on the table beside its hub.
DEFAULT_DISTANCE_M: Final = 2.0
# Locally administered addresses (second hex digit 2): they never clash with a real device's.
ADDRESS_PREFIX: Final = "C2:5A:00"
MAX_BUTTONS: Final = 0xFFFFFF
WORLD_FILE: Final = "world.json"
GESTURES: Final = frozenset({"tap", "double_tap", "long_press"})


class WorldError(ValueError):
    """What was asked of the world cannot be done; the message says what to do instead."""


def radio_name(name: str) -> str:
    """A hub radio's name as the air knows it (the air upper-cases every address)."""
    return name.strip().upper()


@dataclass(slots=True)
class _Device:
    id: str
    address: str
    near: str  # the hub it is placed relative to: where it was made, or visiting
    distance_m: float
    button: SimButton


class SimWorld:
    """The world behind ``heartline sim radio``: ``SimWorldControls`` for the control API."""

    def __init__(self, data_dir: Path, conditions: RadioConditions | None = None) -> None:
        self.data_dir = data_dir
        self.air = AirServer(
            conditions or RadioConditions(noise_sigma_db=2.0), on_central_joined=self._hub_joined
        )
        self._places: dict[str, tuple[float, float]] = {}
        self._devices: dict[str, _Device] = {}
        self._lock = asyncio.Lock()  # one change to the world at a time: ids and world.json

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        """Open the air on 127.0.0.1:``port`` (OSError if taken) and restart the saved buttons."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        saved = self._load()
        await self.air.start(port=port)
        try:
            for name in saved.get("places", []):
                self._place_of(str(name))
            for entry in saved.get("buttons", []):
                await self._start_button(
                    str(entry["id"]), str(entry["address"]), str(entry["near"]), float(entry["distance_m"])
                )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Power every button off (their flash stays) and close the air."""
        devices, self._devices = list(self._devices.values()), {}
        for device in devices:
            with contextlib.suppress(SimButtonError, OSError):
                await device.button.stop()
        await self.air.stop()

    @property
    def port(self) -> int:
        return self.air.port

    # -- the world's shape -------------------------------------------------------------------

    def hubs(self) -> list[dict[str, Any]]:
        on_air = self.air.centrals()
        return [
            {
                "name": name,
                "x_m": x,
                "y_m": y,
                "on_air": name in on_air,
                "buttons": sorted(d.id for d in self._devices.values() if d.near == name),
            }
            for name, (x, y) in self._places.items()
        ]

    def place_of(self, name: str) -> tuple[float, float]:
        """Where hub ``name`` is; a name never heard before gets the next free place."""
        return self._place_of(radio_name(name))

    async def add_button(self, near: str, distance_m: float = DEFAULT_DISTANCE_M) -> dict[str, Any]:
        hub = _checked_name(near)
        async with self._lock:
            number = 1 + max((int(d.id[1:]) for d in self._devices.values()), default=0)
            if number > MAX_BUTTONS:
                raise WorldError("this world is full; start `heartline sim radio` with a fresh --data-dir")
            button_id = f"b{number}"
            address = (
                f"{ADDRESS_PREFIX}:{number >> 16 & 0xFF:02X}:{number >> 8 & 0xFF:02X}:{number & 0xFF:02X}"
            )
            await self._start_button(button_id, address, hub, distance_m)
            self._save()
            # Answer once it advertises for pairing, so a pairing started next finds it.
            await self._devices[button_id].button.wait_for_pairing("open")
        _LOGGER.info(
            "button %s (%s) made %.1f m from %s, in pairing mode", button_id, address, distance_m, hub
        )
        return {"id": button_id, "address": address}

    def list_buttons(self) -> list[dict[str, Any]]:
        return [self.button_output(button_id) for button_id in sorted(self._devices, key=_id_order)]

    # -- SimControls ---------------------------------------------------------------------------

    def inject_advert(self, address: str, rssi: int, service_data: dict[str, bytes]) -> bool:
        """Every hub on the air hears it at ``rssi``; True if at least one was scanning."""
        data = service_data_advert(service_data)
        heard = [self.air.inject(hub, address, data, rssi) for hub in sorted(self.air.centrals())]
        return any(heard)

    def inject_advert_near(self, near: str, address: str, rssi: int, service_data: dict[str, bytes]) -> bool:
        return self.air.inject(_checked_name(near), address, service_data_advert(service_data), rssi)

    async def press(self, button_id: str, gesture: str) -> None:
        device = self._devices[button_id]
        if gesture not in GESTURES:
            raise WorldError(f"unknown gesture {gesture!r}; use tap, double_tap or long_press")
        await device.button.press(gesture)  # type: ignore[arg-type]  # narrowed by the check above

    def button_output(self, button_id: str) -> dict[str, Any]:
        device = self._devices[button_id]
        button = device.button
        where = self.air.position(button.address)
        hub = self._places[device.near]
        return {
            "id": device.id,
            "address": device.address,
            "near": device.near,
            "distance_m": math.dist(where, hub) if where is not None else None,
            "pairing": button.pairing_status,
            "paired": button.key is not None,
            "battery_mv": button.battery.microvolts * 2 // 1000,
            "outputs": [asdict(f) for f in button.outputs],
            "rejections": dict(button.rejections),
        }

    async def place_wearable(self, wearable_id: str, distance_m: float, at: str | None = None) -> None:
        await self.place(wearable_id, distance_m, at)

    async def place(self, device_id: str, distance_m: float, near: str | None) -> None:
        device = self._devices[device_id]
        hub = device.near if near is None else _checked_name(near)
        async with self._lock:
            x, y = self._place_of(hub)
            await device.button.move(x + distance_m, y)
            self.air.place(device.address, x + distance_m, y)  # at once, not when the air reads it
            device.near, device.distance_m = hub, distance_m
            self._save()

    def set_battery(self, button_id: str, millivolts: int) -> None:
        self._devices[button_id].button.set_battery(millivolts)

    async def wait_for_pattern(self, button_id: str, pattern: str, within_s: float) -> dict[str, Any]:
        button = self._devices[button_id].button
        try:
            return asdict(await button.wait_for_pattern(pattern, within_s))
        except SimButtonError as ex:
            raise TimeoutError(str(ex)) from ex

    # -- inside --------------------------------------------------------------------------------

    def _place_of(self, name: str) -> tuple[float, float]:
        place = self._places.get(name)
        if place is None:
            place = (HOME_SPACING_M * len(self._places), 0.0)
            self._places[name] = place
            self.air.place(name, *place)
            _LOGGER.info("hub %s has its place at %.0f m", name, place[0])
        return place

    def _hub_joined(self, name: str) -> None:
        known = name in self._places
        x, y = self._place_of(name)
        self.air.place(name, x, y)  # a known name that joins again keeps its place
        if not known:
            self._save()

    async def _start_button(self, button_id: str, address: str, near: str, distance_m: float) -> None:
        x, y = self._place_of(near)
        button = SimButton(
            air=self.air.address,
            address=address,
            key=None,  # fresh from the factory, or whatever key its flash holds from a pairing
            x=x + distance_m,
            y=y,
            state_dir=self.data_dir / "buttons" / button_id,
        )
        await button.start()
        self._devices[button_id] = _Device(button_id, address, near, distance_m, button)

    def _load(self) -> dict[str, Any]:
        path = self.data_dir / WORLD_FILE
        if not path.exists():
            return {}
        try:
            saved: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as ex:
            raise WorldError(f"{path} is not a world this program saved ({ex}); move it away") from ex
        return saved

    def _save(self) -> None:
        state = {
            "places": list(self._places),
            "buttons": [
                {"id": d.id, "address": d.address, "near": d.near, "distance_m": d.distance_m}
                for d in self._devices.values()
            ],
        }
        path = self.data_dir / WORLD_FILE
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(state, indent=2), encoding="utf-8")
        partial.replace(path)  # a crash leaves the old world or the new one, never half


def _checked_name(name: str) -> str:
    hub = radio_name(name)
    if not hub or len(hub) > 64 or not all(c.isalnum() or c in ":._-" for c in hub):
        raise WorldError(
            f"{name!r} is not a hub radio name; use the NAME of its transport sim:HOST:PORT/NAME"
        )
    return hub


def _id_order(button_id: str) -> int:
    return int(button_id[1:])
