"""Host shim of MicroPython's ``esp32`` module: the deep-sleep wake pin (``wake_on_gpio``).

MicroPython >= v1.27.0 has ``esp32.wake_on_gpio(pins, level)`` (ports/esp32/modesp32.c); it
only records the pins, and ``machine.deepsleep`` checks them (GPIO0-5 on an ESP32-C3). The C3
has no EXT0/EXT1 wake, so ``wake_on_ext0``/``wake_on_ext1`` are not offered here: on v1.23-v1.25
they exist but do nothing on a C3 (machine_sleep_helper compiles them out).
"""

from __future__ import annotations

from typing import Final

from firmware_sim.shims.machine import _DEFAULT_BOARD, Pin, SleepBoard

WAKEUP_ALL_LOW: Final = False
WAKEUP_ANY_HIGH: Final = True


class Esp32:
    """One board's ``esp32`` module, injected beside its :class:`SleepBoard`."""

    WAKEUP_ALL_LOW: Final = WAKEUP_ALL_LOW
    WAKEUP_ANY_HIGH: Final = WAKEUP_ANY_HIGH

    def __init__(self, board: SleepBoard) -> None:
        self._board = board

    def wake_on_gpio(self, pins: tuple[Pin | int, ...], level: bool = WAKEUP_ANY_HIGH) -> None:
        self._board.set_wake_on_gpio(tuple(pins), level)


def wake_on_gpio(pins: tuple[Pin | int, ...], level: bool = WAKEUP_ANY_HIGH) -> None:
    _DEFAULT_BOARD.set_wake_on_gpio(tuple(pins), level)
