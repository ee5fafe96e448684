"""A bleak backend over the simulated air: the hub uses the real BleakScanner/BleakClient API.

Pass ``backend=AirScanner`` / ``backend=AirClient`` and ``air=AirLink`` to bleak's own front
classes; everything the hub does through bleak then travels over the simulated radio.
"""

from firmware_sim.bleak_backend.client import AirClient
from firmware_sim.bleak_backend.link import AirLink, AirLinkError
from firmware_sim.bleak_backend.scanner import AirScanner

__all__ = ["AirClient", "AirLink", "AirLinkError", "AirScanner"]
