from collections.abc import Callable
from typing import Any

from device.gesture import GestureRecognizer
from device.state import State, Storage

Listener = Callable[[str, Any], None]

class Button:
    state: State
    idle_data: bytes
    idle_interval_us: int
    on_listen_period: Callable[[int], None] | None
    storage: Storage
    irq_errors: int
    irq_dropped: int
    def __init__(
        self,
        ble: Any,
        touch: Any,
        haptic_pwm: Any,
        led: Any,
        battery_adc: Any,
        storage: Storage,
        clock: Any,
        aes: Callable[[bytes], Callable[[bytes], bytes]],
        listener: Listener | None = None,
        random_bytes: Callable[[int], bytes] | None = None,
        led_power: Any | None = None,
    ) -> None: ...
    @property
    def pairing_status(self) -> int: ...
    @property
    def gestures(self) -> GestureRecognizer: ...
    def age_kept(self, ms: int) -> None: ...
    def announce(self, code: int) -> None: ...
    def busy(self) -> bool: ...
    def power_down(self) -> None: ...
    def provision(self, key: bytes) -> None: ...
    def factory_reset(self) -> None: ...
    async def run(self) -> None: ...
