# The board clock: MicroPython's wrapping millisecond ticks and asyncio sleeps.
# ticks_ms() wraps (every 2**30 ms on a C3, ~12.4 days): every deadline is ticks_add(now, ms)
# and every comparison ticks_diff(a, b); plain + and < on ticks break at the wrap.
import asyncio
import time


class BoardClock:
    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    def ticks_add(self, ticks, delta):
        return time.ticks_add(ticks, delta)

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(ms)
