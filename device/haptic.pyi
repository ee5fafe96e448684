from collections.abc import Callable
from typing import Any

RHYTHMS: tuple[tuple[tuple[int, int], ...], ...]
COLOURS: tuple[tuple[int, int, int], ...]

def rhythm_ms(pattern: int) -> int: ...
def colour_for(pattern: int, rgb: tuple[int, int, int]) -> tuple[int, int, int]: ...
def motor_duty(strength: int, cell_mv: int | None) -> int: ...

CUE_RESET_ARMED: int
CUE_RESET: int
CUE_LOW_BATTERY: int
LOW_DIM: int
MOTOR_NOMINAL_MV: int
LED_POWER_SETTLE_MS: int

class Haptics:
    playing: bool
    def __init__(
        self,
        pwm: Any,
        led: Any,
        clock: Any,
        cell_mv: Callable[[], int | None] | None = None,
        led_power: Any | None = None,
    ) -> None: ...
    def off(self) -> None: ...
    async def play(
        self, pattern: int, rgb: tuple[int, int, int], deciseconds: int, low: bool = False
    ) -> None: ...
