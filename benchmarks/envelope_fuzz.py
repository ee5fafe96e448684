"""Sealed hostile envelopes through the hub's real receive path; print what became of them.

    python -m benchmarks.envelope_fuzz [--envelopes N] [--seed S] [--quick]

No broker: the recipient hub's couple link (``open_couple_link``: relay, the signal, hello and
presence handlers, delivery, SQLite with synchronous=FULL) runs on an offline MQTT link, and
``Relay.receive`` is handed the payloads in batches of the receiver's own size, as its loop
would. Every payload is sealed with the couple's key, so only the envelope and body checks stand
between it and the handlers. The baseline is the same number of genuine signals through the same
path, timed in the same run. Nothing may escape ``receive`` (crashed must be 0) and every hostile
envelope must be acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.timing import table
from hub.log import setup_logging
from hub.relay.relay import MAX_RECEIVE_BATCH
from tests.relay.hostile import Receiver, genuine, hostile, inbound, receiving_hub


def _run(hub: Receiver, payloads: list[bytes]) -> tuple[int, float]:
    """Feed ``payloads`` through ``Relay.receive``; (messages in batches that raised, seconds)."""
    crashed = 0
    started = time.perf_counter()
    for start in range(0, len(payloads), MAX_RECEIVE_BATCH):
        batch = [inbound(p, start + i + 1) for i, p in enumerate(payloads[start : start + MAX_RECEIVE_BATCH])]
        try:
            hub.couple.relay.receive(batch)
        except Exception:  # counting what escapes is the point
            crashed += len(batch)
    return crashed, time.perf_counter() - started


async def _measure(
    tmp: Path, name: str, payloads: list[bytes], rows: list[list[object]]
) -> tuple[Counter[str], int]:
    async with receiving_hub(tmp / name) as hub:
        rejected_before = sum(hub.couple.relay.rejected.values())
        crashed, seconds = _run(hub, payloads)
        rejected = hub.couple.relay.rejected.copy()
        refused = sum(rejected.values()) - rejected_before
        # A stored signal's PUBACK waits for the log's sync (in a worker thread): let them land.
        deadline = time.monotonic() + 60
        while hub.link.acked < len(payloads) - crashed and time.monotonic() < deadline:  # noqa: ASYNC110 - acks land off this loop
            await asyncio.sleep(0.01)
        acked = hub.link.acked
        lines = hub.couple.relay.poison.lines
    accepted = acked - refused
    rows.append([name, len(payloads), crashed, refused, accepted, acked, seconds * 1e6 / len(payloads)])
    return rejected, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.envelope_fuzz", description=__doc__)
    parser.add_argument("--envelopes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10,000 envelopes")
    args = parser.parse_args(argv)
    setup_logging()
    total = 10_000 if args.quick else args.envelopes
    rng = random.Random(args.seed)
    hostile_payloads = [hostile(rng, index) for index in range(total)]
    genuine_payloads = [genuine(index) for index in range(total)]
    rows: list[list[object]] = []
    # The log is rate-limited per reason; keep the few lines it writes off the table.
    logging.getLogger("hub").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="heartline-envelope-fuzz-") as name:
        tmp = Path(name)
        asyncio.run(_measure(tmp, "baseline: genuine signals", genuine_payloads, rows))
        rejected, log_lines = asyncio.run(_measure(tmp, "hostile envelopes", hostile_payloads, rows))
    print(f"{total:,} envelopes per row, sealed with the couple's key, seed {args.seed}, no broker\n")
    print(
        table(["path", "envelopes", "crashed", "rejected", "accepted", "acknowledged", "µs/envelope"], rows)
    )
    print()
    print(table(["rejected by reason", "envelopes"], [[r, n] for r, n in rejected.most_common()]))
    print(f"\nlog lines the hostile run would write (once a minute per reason at most): {log_lines}")
    ok = all(row[2] == 0 and row[5] == row[1] for row in rows) and rejected["handler_error"] == 0
    ok = ok and rows[0][4] == total and sum(rejected.values()) > 0
    print(
        "result:",
        "nothing crashed, every envelope acknowledged, every genuine one accepted" if ok else "FAILED",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
