"""Host implementation of the firmware's clock (``device.clock.BoardClock``'s interface).

Runs on the event loop's clock, optionally faster than real time (``speed``), so a simulated
button can share a loop with the hub and with other buttons.

Ticks wrap as a board's do: MicroPython's ``time.ticks_ms()`` counts modulo
``TICKS_PERIOD`` = 2**30 ms on a 32-bit port (``MICROPY_PY_TIME_TICKS_PERIOD``, the small-int
range; ~12.4 days), and a board that has been up for a while is anywhere in that range. The
clock starts ``start_before_wrap_ms`` before the wrap (by default 10 s), so firmware that adds
or compares ticks with plain ``+`` / ``<`` breaks in the simulator within seconds, not on the
thirteenth day in someone's pocket. ``ticks_diff`` and ``ticks_add`` refuse a value that no
tick function could have produced (out of ``0 .. TICKS_PERIOD - 1``): on a board such a value
is a big int that ``time.ticks_diff`` silently misreads (it takes small ints only).
"""

from __future__ import annotations

import asyncio
from typing import Final

TICKS_PERIOD: Final = 1 << 30
TICKS_MAX: Final = TICKS_PERIOD - 1
TICKS_HALF: Final = TICKS_PERIOD // 2
START_BEFORE_WRAP_MS: Final = 10_000


def _check(value: int, what: str) -> None:
    if not 0 <= value <= TICKS_MAX:
        raise ValueError(
            f"{what} {value} is not a tick value (0..2**30-1): ticks are combined with "
            "ticks_add/ticks_diff, never + or -"
        )


class LoopClock:
    def __init__(self, speed: float = 1.0, *, start_before_wrap_ms: int = START_BEFORE_WRAP_MS) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._origin = asyncio.get_running_loop().time()
        self._start = (TICKS_PERIOD - start_before_wrap_ms) & TICKS_MAX
        self.wakes = 0  # sleep_ms calls: each is a CPU wake-up on a board (energy model)

    def ticks_ms(self) -> int:
        elapsed = int((asyncio.get_running_loop().time() - self._origin) * 1000 * self.speed)
        return (self._start + elapsed) & TICKS_MAX

    def ticks_diff(self, a: int, b: int) -> int:
        _check(a, "ticks_diff argument")
        _check(b, "ticks_diff argument")
        return ((a - b + TICKS_HALF) & TICKS_MAX) - TICKS_HALF

    def ticks_add(self, ticks: int, delta: int) -> int:
        _check(ticks, "ticks_add argument")
        if not -TICKS_HALF <= delta < TICKS_HALF:
            raise OverflowError("ticks interval overflow")
        return (ticks + delta) & TICKS_MAX

    async def sleep_ms(self, ms: int) -> None:
        self.wakes += 1
        await asyncio.sleep(max(ms, 0) / 1000 / self.speed)
