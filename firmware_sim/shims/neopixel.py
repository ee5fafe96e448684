"""Host shim of MicroPython's ``neopixel``: records every colour written to the LED."""

from __future__ import annotations

import time
from collections.abc import Callable

Colour = tuple[int, int, int]


class NeoPixel:
    def __init__(self, pin: object, n: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self.pin = pin
        self.n = n
        self._pixels: list[Colour] = [(0, 0, 0)] * n
        self._now = now
        self.shown: list[tuple[float, Colour]] = []  # (time, colour of pixel 0) per write()

    def __setitem__(self, index: int, colour: Colour) -> None:
        r, g, b = colour
        for v in (r, g, b):
            if not 0 <= v <= 255:
                raise ValueError("neopixel colour components must be 0..255")
        self._pixels[index] = (r, g, b)

    def __getitem__(self, index: int) -> Colour:
        return self._pixels[index]

    def __len__(self) -> int:
        return self.n

    def fill(self, colour: Colour) -> None:
        for i in range(self.n):
            self[i] = colour

    def write(self) -> None:
        self.shown.append((self._now(), self._pixels[0]))

    @property
    def colour(self) -> Colour:
        """What the LED shows now (the last written colour)."""
        return self.shown[-1][1] if self.shown else (0, 0, 0)
