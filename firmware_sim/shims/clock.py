"""Host implementation of the firmware's clock (``device.clock.BoardClock``'s interface).

Runs on the event loop's clock, optionally faster than real time (``speed``), so a simulated
button can share a loop with the hub and with other buttons.
"""

from __future__ import annotations

import asyncio


class LoopClock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self.speed = speed
        self._origin = asyncio.get_running_loop().time()
        self.wakes = 0  # sleep_ms calls: each is a CPU wake-up on a board (energy model)

    def ticks_ms(self) -> int:
        return int((asyncio.get_running_loop().time() - self._origin) * 1000 * self.speed)

    def ticks_diff(self, a: int, b: int) -> int:
        return a - b  # never wraps: CPython ints are unbounded

    async def sleep_ms(self, ms: int) -> None:
        self.wakes += 1
        await asyncio.sleep(max(ms, 0) / 1000 / self.speed)
