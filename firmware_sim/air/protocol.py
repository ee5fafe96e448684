"""Wire format between the air server and the radios that join it.

One JSON object per line over TCP (loopback). Written so that a MicroPython client
(the firmware's ``bluetooth`` shim under the unix port) can speak it with ``json`` and
``socket`` alone: keys are short, bytes travel as lowercase hex.

Every radio opens with::

    {"op": "hello", "role": "peripheral" | "central" | "control", "addr": "AA:BB:CC:DD:EE:FF",
     "x": 0.0, "y": 0.0, "tx_power": -4}            -> {"op": "welcome"}

Peripheral (a button or wearable) -> air::

    {"op": "adv", "data": HEX[, "resp": HEX]}   advertising payload (AD structures) and scan
                                          response, as gap_advertise
    {"op": "adv_stop"}                    stop advertising
    {"op": "gatt", "services": [{"uuid": U, "chars": [{"uuid": U, "handle": N,
                                 "props": ["read", "write", "notify"]}]}]}
    {"op": "move", "x": X, "y": Y}
    {"op": "rsp", "req": N, "status": 0 | ATT_ERROR, "data": HEX}   answer to read/write
    {"op": "notify", "conn": C, "handle": N, "data": HEX}
    {"op": "disconnect", "conn": C}

Air -> peripheral::

    {"op": "connect", "conn": C, "central": ADDR}
    {"op": "write", "conn": C, "handle": N, "data": HEX, "req": N}
    {"op": "read", "conn": C, "handle": N, "req": N}
    {"op": "disconnect", "conn": C}

Central (a hub's bleak backend) -> air::

    {"op": "scan", "active": true|false}  start receiving adverts
    {"op": "scan_stop"}
    {"op": "connect", "addr": ADDR, "req": N}   -> {"op": "rsp", "req": N, "status": 0,
                                                   "conn": C, "services": [...]}
    {"op": "write" | "read", "conn": C, "handle": N, "data": HEX, "req": N}
                                             -> {"op": "rsp", "req": N, "status": S, "data": HEX}
    {"op": "disconnect", "conn": C}

Any radio, or a ``control`` client (the demo, a scenario, a test) -> air::

    {"op": "inject", "to": CENTRAL, "addr": ADDR, "data": HEX, "rssi": R}
        an advert "from a nearby device", heard by that central only
    {"op": "place", "addr": ADDR, "x": X, "y": Y}   move any radio (a wearable left home)

Air -> central::

    {"op": "adv", "addr": ADDR, "data": HEX, "rssi": R[, "resp": HEX]}
    {"op": "notify", "conn": C, "handle": N, "data": HEX}
    {"op": "disconnected", "conn": C}

A non-zero ``status`` is an ATT error code (see ``ATT_*``) or one of the air's own codes.
"""

from __future__ import annotations

import json
from typing import Any, Final

# ATT error codes from the Bluetooth Core Specification, Vol 3, Part F, 3.4.1.1.
ATT_OK: Final = 0x00
ATT_INVALID_HANDLE: Final = 0x01
ATT_WRITE_NOT_PERMITTED: Final = 0x03
ATT_INSUFFICIENT_AUTHENTICATION: Final = 0x05
ATT_INVALID_ATTRIBUTE_LENGTH: Final = 0x0D
ATT_UNLIKELY_ERROR: Final = 0x0E
# The air's own status codes sit above the ATT range so they can never be confused.
AIR_NOT_FOUND: Final = 0x100  # no peripheral with that address is in range
AIR_TIMEOUT: Final = 0x101  # the peripheral did not answer in time
AIR_NOT_CONNECTED: Final = 0x102  # the connection handle is not (or no longer) open

MAX_LINE: Final = 64 * 1024  # far above any advert or GATT value; bounds a bad client's line


def encode(message: dict[str, Any]) -> bytes:
    """One message as a JSON line."""
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line; ValueError if it is not JSON, TypeError if it is not an object with an op."""
    message = json.loads(line)
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise TypeError("air message must be a JSON object with a string 'op'")
    return message
