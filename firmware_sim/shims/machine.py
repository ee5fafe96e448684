"""Host shim of MicroPython's ``machine``: Pin, PWM and ADC that a simulator can drive/inspect."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

DUTY_MAX: Final = 65535


class Pin:
    IN: Final = 1
    OUT: Final = 3
    PULL_UP: Final = 1
    PULL_DOWN: Final = 2
    IRQ_FALLING: Final = 1
    IRQ_RISING: Final = 2

    def __init__(self, ident: int | str, mode: int = -1, pull: int = -1, *, value: int = 0) -> None:
        self.ident = ident
        self.mode = mode
        self.pull = pull
        self._value = value
        self._handler: Callable[[Pin], object] | None = None
        self._trigger = 0

    def value(self, new: int | None = None) -> int:
        """Read the level, or (as an output, or the simulator driving an input) set it.
        Setting it fires the irq handler on a matching edge, as the board's GPIO would."""
        if new is not None:
            old, self._value = self._value, 1 if new else 0
            if self._handler is not None and self._value != old:
                edge = self.IRQ_RISING if self._value else self.IRQ_FALLING
                if self._trigger & edge:
                    self._handler(self)
        return self._value

    def irq(
        self, handler: Callable[[Pin], object] | None = None, trigger: int = IRQ_FALLING | IRQ_RISING
    ) -> None:
        self._handler = handler
        self._trigger = trigger

    def __call__(self, new: int | None = None) -> int:
        return self.value(new)

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)


class PWM:
    def __init__(
        self,
        pin: Pin,
        *,
        freq: int = 1000,
        duty_u16: int = 0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16
        self._now = now
        self.trace: list[tuple[float, int]] = []  # (time, duty) on every change

    def freq(self, value: int | None = None) -> int:
        if value is not None:
            self._freq = value
        return self._freq

    def duty_u16(self, value: int | None = None) -> int:
        if value is not None:
            if not 0 <= value <= DUTY_MAX:
                raise ValueError("duty_u16 must be 0..65535")
            if value != self._duty or not self.trace:
                self.trace.append((self._now(), value))
            self._duty = value
        return self._duty

    def deinit(self) -> None:
        self.duty_u16(0)


class ADC:
    ATTN_0DB: Final = 0
    ATTN_11DB: Final = 3

    def __init__(self, pin: Pin | int, *, microvolts: int = 2_000_000) -> None:
        self.pin = pin
        # At the ADC pin, i.e. after the 1:2 divider: 2.0 V here is a 4.0 V cell.
        self.microvolts = microvolts

    def atten(self, value: int) -> None:
        del value

    def read_uv(self) -> int:
        return self.microvolts

    def read_u16(self) -> int:
        # Full scale ~3.1 V at 11 dB attenuation on the ESP32-C3.
        return min(DUTY_MAX, self.microvolts * DUTY_MAX // 3_100_000)
