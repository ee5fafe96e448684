"""Touch-to-partner latency through a path that adds 50 ms each way, beside bare paho.

    python -m benchmarks.relay_latency [--signals N] [--latency-ms MS] [--block N] [--quick]

A real mosquitto (the test suite's relay set-up) sits behind a loopback TCP proxy that delays
every byte by ``--latency-ms`` in each direction, like an internet path; the proxy runs in a
process of its own (benchmarks.paho_pair.proxy_process), as the internet does not wait for a
hub's event loop. Both columns cross the same proxy twice (sender -> broker -> receiver):

* bare paho: a QoS 1 publish from one client until a subscribed client's on_message;
* Heartline: ``send`` (the signal and its sealed envelope committed to the SQLite outbox) until
  the partner hub has committed it to its inbox and delivery has reached the person.

Both arrival times are taken where the message arrives (paho's on_message, in paho's thread; the
moment delivery reaches the person, on the hub's loop), and the measuring loop waits on a future
either sets, never polling, so neither column pays for the probe.

The machine these run on is noisy (shared cores whose speed changes within seconds), so one
broker, one proxy, the paho pair and both hubs stay up for the whole run, and the columns take
turns in blocks of ``--block`` signals (bare, Heartline, Heartline, bare, ...: the column that
goes first alternates). Each signal starts on a quiet path: the previous one has settled (bare:
the sender has its PUBACK; Heartline: the sender's hub has the partner's receipt), then a short
pause. The table pools every signal of a column; the spread of the per-block p50 ratios (each
Heartline block against the bare block beside it) shows how much the machine moved meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Final, Protocol, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from benchmarks.paho_pair import PahoPair, paho_pair, proxy_process
from benchmarks.timing import table
from hub.delivery.router import Outcome, Waiting
from hub.events import Fate, SignalKind, SignalRecord
from tests.relay.node import Person, RelayNode, node_config
from tests.support.mosquitto import Broker, find_mosquitto, start_broker

GOAL_P50: Final = 1.05
GOAL_P99: Final = 1.10
GOAL_SIGNALS: Final = 500  # per column: fewer, and the p99 rests on too few signals to judge
BLOCK: Final = 50
QUICK_SIGNALS: Final = 40
QUICK_BLOCK: Final = 10
GAP_S: Final = 0.05  # after a signal settled, before the next
ARRIVAL_WAIT_S: Final = 10.0
SETTLE_WAIT_S: Final = 10.0
SETTLE_POLL_S: Final = 0.002  # only between measurements: the receipt's fate, read from the log

T = TypeVar("T")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Side(Protocol):
    name: str

    async def one(self) -> float:
        """Send one message, wait for its arrival and for the path to settle; its latency (s)."""
        ...


class BarePaho:
    """Two plain paho clients; arrival noted in the receiver's on_message (paho's thread)."""

    name = "bare paho QoS 1 (baseline)"

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pair: PahoPair | None = None
        self._index = 0
        self._arrived: dict[int, asyncio.Future[float]] = {}
        self._acked: dict[int, asyncio.Future[None]] = {}

    def on_message(self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        at = time.perf_counter()
        future = self._arrived.get(int(message.payload))
        if future is not None:
            self._loop.call_soon_threadsafe(_settle, future, at)

    def _on_publish(
        self, _client: paho.Client, _userdata: object, mid: int, _code: ReasonCode, _props: Properties
    ) -> None:
        self._loop.call_soon_threadsafe(self._puback, mid)

    def _puback(self, mid: int) -> None:
        # On the loop, so after one() registered the mid: it does so before it next awaits.
        future = self._acked.get(mid)
        if future is not None:
            _settle(future, None)

    @contextmanager
    def running(self, broker: Broker, port: int) -> Iterator[BarePaho]:
        with paho_pair(broker, port, self.on_message) as pair:
            if not pair.subscribed.wait(ARRIVAL_WAIT_S):
                raise RuntimeError("the baseline receiver could not subscribe")
            pair.sender.on_publish = self._on_publish
            self._pair = pair
            yield self

    async def one(self) -> float:
        assert self._pair is not None
        index, self._index = self._index, self._index + 1
        arrived: asyncio.Future[float] = self._loop.create_future()
        acked: asyncio.Future[None] = self._loop.create_future()
        self._arrived[index] = arrived
        started = time.perf_counter()
        info = self._pair.sender.publish(self._pair.topic, str(index).encode(), qos=1)
        self._acked[info.mid] = acked
        try:
            async with asyncio.timeout(ARRIVAL_WAIT_S):
                at = await arrived
            async with asyncio.timeout(SETTLE_WAIT_S):
                await acked
        finally:
            del self._arrived[index]
            self._acked.pop(info.mid, None)
        await asyncio.sleep(GAP_S)
        return at - started


def _settle(future: asyncio.Future[T], value: T) -> None:
    if not future.done():  # a late arrival after its wait timed out
        future.set_result(value)


class TimedPerson(Person):
    """Notes when each signal first reached the person, as on_message notes it for bare paho."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, asyncio.Future[float]] = {}

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome:
        at = time.perf_counter()
        future = self.waiting.get(signal.id)
        if future is not None and not future.done():
            future.set_result(at)
        return await super().deliver(signal, look, waiting)


class HeartlineSide:
    """Two hubs (the hub's own couple link each); arrival noted when delivery reaches the person."""

    name = "Heartline touch -> partner"

    def __init__(self, broker: Broker, port: int, tmp: Path) -> None:
        self.partner = TimedPerson()
        self.a = RelayNode(node_config(broker, 0, tmp / "a", port=port))
        self.b = RelayNode(node_config(broker, 1, tmp / "b", port=port), person=self.partner)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[HeartlineSide]:
        await self.a.start()
        try:
            await self.b.start()
            try:
                yield self
            finally:
                await self.b.stop()
        finally:
            await self.a.stop()

    async def one(self) -> float:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        record = self.a.send()
        # Delivery runs on this loop, after a turn at the earliest: the future is in place first.
        arrived: asyncio.Future[float] = loop.create_future()
        self.partner.waiting[record.id] = arrived
        try:
            async with asyncio.timeout(ARRIVAL_WAIT_S):
                at = await arrived
        finally:
            del self.partner.waiting[record.id]
        async with asyncio.timeout(SETTLE_WAIT_S):
            while not self._receipted(record.id):  # noqa: ASYNC110 - not measured: the path settles
                await asyncio.sleep(SETTLE_POLL_S)
        await asyncio.sleep(GAP_S)
        return at - started

    def _receipted(self, signal_id: str) -> bool:
        sent = self.a.signals.get(signal_id)
        return sent is not None and sent.fate is Fate.DELIVERED and self.a.relay.outbox_depth == 0


async def _measure(sides: tuple[Side, Side], count: int, block: int) -> tuple[list[list[float]], ...]:
    """Blocks of each side in turn, the first side alternating; every block's latencies."""
    blocks: tuple[list[list[float]], list[list[float]]] = ([], [])
    for round_index in range(math.ceil(count / block)):
        size = min(block, count - round_index * block)
        order = (0, 1) if round_index % 2 == 0 else (1, 0)
        for which in order:
            blocks[which].append([await sides[which].one() for _ in range(size)])
    return blocks


async def _run(count: int, latency_s: float, block: int) -> None:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto not found; `make test` installs it")
    loop = asyncio.get_running_loop()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="heartline-bench-")))
        broker = start_broker(binary, tmp / "relay")
        stack.callback(broker.stop)
        port = stack.enter_context(proxy_process(broker.port, latency_s))
        bare = stack.enter_context(BarePaho(loop).running(broker, port))
        async with HeartlineSide(broker, port, tmp).running() as ours:
            await bare.one()  # one each to warm up (first connections, caches), not counted
            await ours.one()
            bare_blocks, our_blocks = await _measure((bare, ours), count, block)
    _report(count, latency_s, block, bare_blocks, our_blocks)


def _report(
    count: int, latency_s: float, block: int, bare_blocks: list[list[float]], our_blocks: list[list[float]]
) -> None:
    bare = [v for b in bare_blocks for v in b]
    ours = [v for b in our_blocks for v in b]
    print(
        f"{count} signals per column, in blocks of {block} taking turns; the proxy adds "
        f"{latency_s * 1000:.0f} ms each way; broker mosquitto, MQTT 5, QoS 1\n"
    )
    rows = [
        [name, statistics.median(v) * 1000, _percentile(v, 0.99) * 1000, max(v) * 1000]
        for name, v in ((BarePaho.name, bare), (HeartlineSide.name, ours))
    ]
    print(table(["path", "p50 ms", "p99 ms", "max ms"], rows))
    p50 = statistics.median(ours) / statistics.median(bare)
    p99 = _percentile(ours, 0.99) / _percentile(bare, 0.99)
    per_block = [
        statistics.median(o) / statistics.median(b) for o, b in zip(our_blocks, bare_blocks, strict=True)
    ]
    print(f"\nratio Heartline / bare paho: p50 {p50:.3f}, p99 {p99:.3f}")
    print(
        f"per-block p50 ratios ({len(per_block)} blocks): min {min(per_block):.3f}, "
        f"median {statistics.median(per_block):.3f}, max {max(per_block):.3f}"
    )
    print("  " + " ".join(f"{r:.3f}" for r in per_block))
    met = p50 <= GOAL_P50 and p99 <= GOAL_P99
    if count < GOAL_SIGNALS:
        verdict = f"no verdict: {count} per column (within the ratios: {'yes' if met else 'no'})"
    else:
        verdict = "met" if met else "NOT met"
    print(f"goal p50 <= {GOAL_P50}, p99 <= {GOAL_P99} with >= {GOAL_SIGNALS} per column: {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.relay_latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--signals", type=int, default=GOAL_SIGNALS, help=f"per column (default {GOAL_SIGNALS})"
    )
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added each way (default 50)")
    parser.add_argument("--block", type=int, default=None, help=f"signals per turn (default {BLOCK})")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_SIGNALS} signals per column in blocks of {QUICK_BLOCK}"
    )
    args = parser.parse_args(argv)
    count = QUICK_SIGNALS if args.quick else args.signals
    block = args.block or (QUICK_BLOCK if args.quick else BLOCK)
    if count < 1 or block < 1:
        parser.error("--signals and --block must be positive")
    asyncio.run(_run(count, args.latency_ms / 1000, block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
