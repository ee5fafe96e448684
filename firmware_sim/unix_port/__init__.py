"""The unmodified firmware under the real MicroPython unix port (see host.py)."""

from firmware_sim.unix_port.host import (
    HEAP,
    HeapUse,
    PortState,
    UnixPortButton,
    UnixPortError,
    find_micropython,
)

__all__ = ["HEAP", "HeapUse", "PortState", "UnixPortButton", "UnixPortError", "find_micropython"]
