"""Host shim of MicroPython's ``micropython`` module (the parts the firmware uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def const(value: _T) -> _T:
    """On a board the compiler folds these; on CPython a constant is just its value."""
    return value


def native(function: _T) -> _T:
    """Code-emitter decorators are no-ops on CPython."""
    return function


viper = native


def schedule(function: Callable[[object], object], argument: object) -> None:
    """Run soon, outside the caller (the firmware's IRQs already run in the event loop)."""
    import asyncio  # noqa: PLC0415 - only needed when firmware schedules work

    asyncio.get_running_loop().call_soon(function, argument)
