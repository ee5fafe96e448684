# The board clock: MicroPython's wrapping millisecond ticks and asyncio sleeps.
import asyncio
import time


class BoardClock:
    def ticks_ms(self):
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        return time.ticks_diff(a, b)

    async def sleep_ms(self, ms):
        await asyncio.sleep_ms(ms)
