"""The board's flash under the firmware's storage interface: slow, and not for the irq.

Wraps ``device.flash.FileStorage`` (a directory on the host). Each write blocks its caller for
what littlefs on the XIAO's SPI NOR flash costs: a page program per 256 bytes written plus one
for the metadata commit (~0.7 ms each, typical for a 4 MB SPI NOR such as the W25Q32's
tPP), and a 4 KiB sector erase (~45 ms typical tSE) whenever the block being appended to fills
(every ``ERASE_EVERY`` writes of a small file). A write from the BLE irq is refused with
``OSError``: littlefs and the flash driver belong to the main task, and the radio's task
cannot stall for an erase.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Final

from device.flash import FileStorage
from firmware_sim.shims.irq import in_irq

PAGE: Final = 256
PAGE_PROGRAM_S: Final = 0.0007
SECTOR_ERASE_S: Final = 0.045
ERASE_EVERY: Final = 8


class BoardFlash:
    def __init__(self, root: str, *, speed: float = 1.0, stall: Callable[[float], None] = time.sleep) -> None:
        """``stall(seconds)`` blocks the CPU for the write (a virtual-time host moves its clock)."""
        self._files = FileStorage(root)
        self._speed = speed
        self._stall = stall
        self.writes = 0
        self.busy_s = 0.0  # flash time the firmware spent (firmware seconds)

    def read(self, name: str) -> bytes | None:
        return self._files.read(name)

    def write(self, name: str, data: bytes) -> None:
        if in_irq():
            raise OSError(errno.EPERM, f"flash write of {name!r} from the BLE irq: write from a task")
        self.writes += 1
        cost = (len(data) // PAGE + 2) * PAGE_PROGRAM_S
        if self.writes % ERASE_EVERY == 0:
            cost += SECTOR_ERASE_S
        self.busy_s += cost
        self._stall(cost / self._speed)  # the CPU waits for the flash; so does everything else
        self._files.write(name, data)
