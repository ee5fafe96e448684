"""Host implementations of the MicroPython board modules the button firmware uses.

The firmware (``device/``) imports ``bluetooth`` and ``micropython`` by their board names;
:func:`install` registers these shims under those names so the unmodified firmware imports
on CPython. Hardware objects (pins, PWM, ADC, LED, radio) are never module singletons: the
simulator builds one set per simulated button and injects them into ``device.button.Button``.
"""

from __future__ import annotations

import asyncio
import sys
from types import ModuleType
from typing import Final

from firmware_sim.shims import bluetooth, cryptolib, esp32, machine, micropython, neopixel
from firmware_sim.shims.threadsafe import ThreadSafeFlag

# Board module name -> shim. Only names CPython does not already provide.
BOARD_MODULES: Final[dict[str, ModuleType]] = {
    "bluetooth": bluetooth,
    "cryptolib": cryptolib,
    "esp32": esp32,
    "machine": machine,
    "micropython": micropython,
    "neopixel": neopixel,
}


def install() -> None:
    """Make the board module names importable, and give CPython's asyncio MicroPython's
    ``ThreadSafeFlag``; idempotent, never replaces a real module."""
    if not hasattr(asyncio, "ThreadSafeFlag"):
        setattr(asyncio, "ThreadSafeFlag", ThreadSafeFlag)  # noqa: B010 - asyncio has no such name
    for name, module in BOARD_MODULES.items():
        existing = sys.modules.get(name)
        if existing is None:
            sys.modules[name] = module
        elif existing is not module:
            raise RuntimeError(
                f"module {name!r} is already imported from {getattr(existing, '__file__', '?')};"
                " the firmware shims cannot be installed alongside it"
            )
