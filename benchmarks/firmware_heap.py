"""The firmware's GC heap under the MicroPython unix port, in the heap an ESP32-C3 leaves it.

    python -m benchmarks.firmware_heap [--quick]

The port runs with ``-X heapsize=`` :data:`firmware_sim.unix_port.HEAP` (128 KiB, see
firmware_sim/unix_port/host.py for the figure). Measured by a task sampling ``gc.mem_alloc()``
every 5 ms: the live high-water mark (sampled just after a ``gc.collect()``, every 20 ms: what
must fit, or the firmware gets MemoryError) and the raw one (garbage included: the GC lets the
heap fill before it collects, so this one nears the heap's size by design), after boot and
after touches, feedback commands and their patterns.
Baseline, same run and same sampler: an empty script on the same port and heap. The unix port
is 64-bit, so every object is up to twice its size on the C3's 32-bit port: the figures are
an upper bound of what the board uses.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from benchmarks.timing import table
from device import command
from firmware_sim.loopback_air import LoopbackAir
from firmware_sim.shims.cryptolib import aes
from firmware_sim.unix_port import HEAP, UnixPortButton, find_micropython

KEY: Final = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
ADDRESS: Final = "54:48:E6:8F:80:A7"
BASELINE: Final = """\
import asyncio, gc
peak = [0, 0]
async def sample():
    for n in range(1, 41):
        peak[0] = max(peak[0], gc.mem_alloc())
        if n % 4 == 0:
            gc.collect()
            peak[1] = max(peak[1], gc.mem_alloc())
        await asyncio.sleep_ms(5)
asyncio.run(sample())
print(peak[0], peak[1], gc.mem_alloc() + gc.mem_free())
"""


def baseline(micropython: str, work: Path) -> tuple[str, int, int, int]:
    script = work / "empty.py"
    script.write_text(BASELINE)
    argv = [micropython, "-X", f"heapsize={HEAP}", str(script)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)
    peak, live, heap = out.stdout.split()
    return "baseline: empty script, same sampler", int(peak), int(live), int(heap)


async def firmware(work: Path, rounds: int) -> list[tuple[str, int, int, int]]:
    rows = []
    mac = command.mac_bytes(ADDRESS)
    async with (
        LoopbackAir() as air,
        UnixPortButton(air=air.address, address=ADDRESS, key=KEY, state_dir=work / "button") as port,
    ):
        await air.wait_for(lambda: ADDRESS in air.peers and bool(air.peers[ADDRESS].services))
        await asyncio.sleep(0.2)  # a few samples of the idle firmware
        booted = await port.heap_use()
        rows.append(("firmware, booted and idle", booted.peak, booted.live, booted.heap))
        for counter in range(1, rounds + 1):
            await port.press("tap")
            frame = command.pack_feedback(
                aes(KEY, 1).encrypt, mac, counter, command.PATTERN_FELT_IT, (0, 0, 0), 1
            )
            outcome = await air.command(ADDRESS, frame)
            if outcome != "accepted":
                raise RuntimeError(f"the port refused command {counter}: {outcome}")
            await port.wait_for_output(counter)
        worked = await port.heap_use()
        rows.append((f"firmware, after {rounds} touches and commands", worked.peak, worked.live, worked.heap))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.firmware_heap", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one touch and command instead of five")
    args = parser.parse_args(argv)
    micropython = find_micropython()
    with tempfile.TemporaryDirectory(prefix="firmware-heap-") as tmp:
        work = Path(tmp)
        rows = [baseline(micropython, work), *asyncio.run(firmware(work, 1 if args.quick else 5))]
    print(f"MicroPython unix port, -X heapsize={HEAP} (64-bit: objects up to 2x a C3's)")
    print(
        table(
            ("run", "live high-water KiB", "raw high-water KiB", "heap KiB", "headroom KiB"),
            [
                (name, live / 1024, peak / 1024, heap / 1024, (heap - live) / 1024)
                for name, peak, live, heap in rows
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
