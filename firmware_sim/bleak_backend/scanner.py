"""``BaseBleakScanner`` over the simulated air."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner

from firmware_sim.bleak_backend.advertising import parse_advertisement
from firmware_sim.bleak_backend.link import AirLink

_LOGGER = logging.getLogger(__name__)


class AirScanner(BaseBleakScanner):
    """Scans the simulated air. Use as ``BleakScanner(..., backend=AirScanner, air=link)``."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"],
        *,
        air: AirLink,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        del kwargs  # bluez= and cb= arguments of other platforms do not apply to the air
        self._air = air
        self._active = scanning_mode == "active"
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._unsubscribe = self._air.add_advert_handler(self._on_advert)
        self._air.start_scan(active=self._active)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
            if self._air.is_open:
                self._air.stop_scan()

    def _on_advert(self, address: str, data: bytes, rssi: int) -> None:
        parsed = parse_advertisement(data)
        if not self.is_allowed_uuid(parsed.service_uuids + list(parsed.service_data)):
            return
        advertisement = AdvertisementData(
            local_name=parsed.local_name,
            manufacturer_data=parsed.manufacturer_data,
            service_data=parsed.service_data,
            service_uuids=parsed.service_uuids,
            tx_power=parsed.tx_power,
            rssi=rssi,
            platform_data=(data,),
        )
        device = self.create_or_update_device(
            address,
            address,
            parsed.local_name,
            {"air": self._air.addr},
            advertisement,
        )
        self.call_detection_callbacks(device, advertisement)
