"""The button firmware under the real MicroPython unix port, bridged to the simulated air."""

from firmware_sim.unix_port.host import PortState, UnixPortButton, UnixPortError, find_micropython

__all__ = ["PortState", "UnixPortButton", "UnixPortError", "find_micropython"]
