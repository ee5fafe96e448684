"""Touch-to-partner latency through a path that adds 50 ms each way, beside bare paho.

    python -m benchmarks.relay_latency [--signals N] [--latency-ms MS] [--quick]

A real mosquitto (the test suite's relay set-up) sits behind a loopback TCP proxy that delays
every byte by ``--latency-ms`` in each direction, like an internet path; the proxy runs in a
process of its own (benchmarks.paho_pair.proxy_process), as the internet does not wait for a
hub's event loop. Both columns cross the same proxy twice (sender -> broker -> receiver):

* bare paho: a QoS 1 publish from one client until a subscribed client's on_message;
* Heartline: ``Relay.send_signal`` (SQLite outbox commit, sealed envelope) until the partner
  hub has committed it to its inbox and handed it to delivery.

Both arrival times are taken where the message arrives (paho's on_message; the moment delivery
reaches the person), not when the measuring loop next looks, so neither column pays for the
probe's polling.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Final

import paho.mqtt.client as paho

from benchmarks.paho_pair import paho_pair, proxy_process
from benchmarks.timing import table
from hub.delivery.router import Outcome, Waiting
from hub.events import SignalKind, SignalRecord
from tests.relay.node import Person, RelayNode, node_config
from tests.support.mosquitto import Broker, find_mosquitto, start_broker

GOAL_P50: Final = 1.05
GOAL_P99: Final = 1.10
GAP_S: Final = 0.05  # between signals, so each is measured on a quiet path


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _bare_paho(broker: Broker, port: int, count: int) -> list[float]:
    """Publish→receive latency of two plain paho clients through the proxy (seconds).

    They log in as the suite's second couple, whose ACL allows exactly this topic."""
    arrived: dict[int, float] = {}
    got = threading.Event()

    def on_message(_client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        arrived[int(message.payload)] = time.perf_counter()
        got.set()

    latencies = []
    with paho_pair(broker, port, on_message) as pair:
        if not await asyncio.to_thread(pair.subscribed.wait, 10):
            raise RuntimeError("the baseline receiver could not subscribe")
        for index in range(count):
            got.clear()
            started = time.perf_counter()
            pair.sender.publish(pair.topic, str(index).encode(), qos=1)
            await asyncio.to_thread(got.wait, 10)
            latencies.append(arrived[index] - started)
            await asyncio.sleep(GAP_S)
    return latencies


class TimedPerson(Person):
    """Notes when each signal first reached the person, as on_message notes it for bare paho."""

    def __init__(self) -> None:
        super().__init__()
        self.reached: dict[str, float] = {}

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome:
        self.reached.setdefault(signal.id, time.perf_counter())
        return await super().deliver(signal, look, waiting)


async def _heartline(broker: Broker, port: int, count: int, tmp: Path) -> list[float]:
    a = RelayNode(node_config(broker, 0, tmp / "a", port=port))
    partner = TimedPerson()
    b = RelayNode(node_config(broker, 1, tmp / "b", port=port), person=partner)
    await a.start()
    await b.start()
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            record = a.send()
            while record.id not in partner.reached:  # noqa: ASYNC110 - the poll only waits
                await asyncio.sleep(0.0005)
            latencies.append(partner.reached[record.id] - started)
            await asyncio.sleep(GAP_S)
    finally:
        await a.stop()
        await b.stop()
    return latencies


async def _run(count: int, latency_s: float) -> None:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto not found; `make test` installs it")
    with tempfile.TemporaryDirectory(prefix="heartline-bench-") as tmp:
        broker = start_broker(binary, Path(tmp) / "relay")
        try:
            with proxy_process(broker.port, latency_s) as port:
                bare = await _bare_paho(broker, port, count)
                ours = await _heartline(broker, port, count, Path(tmp))
        finally:
            broker.stop()
    rows = []
    for name, values in (("bare paho QoS 1 (baseline)", bare), ("Heartline touch -> partner hub", ours)):
        rows.append(
            [name, statistics.median(values) * 1000, _percentile(values, 0.99) * 1000, max(values) * 1000]
        )
    p50 = statistics.median(ours) / statistics.median(bare)
    p99 = _percentile(ours, 0.99) / _percentile(bare, 0.99)
    print(f"{count} signals, proxy adds {latency_s * 1000:.0f} ms each way, broker mosquitto, MQTT 5\n")
    print(table(["path", "p50 ms", "p99 ms", "max ms"], rows))
    verdict = "met" if p50 <= GOAL_P50 and p99 <= GOAL_P99 else "NOT met"
    goal = f"goal <= {GOAL_P50} / {GOAL_P99}: {verdict}"
    print(f"\nratio Heartline / bare paho: p50 {p50:.3f}, p99 {p99:.3f} ({goal})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relay_latency", description=__doc__)
    parser.add_argument("--signals", type=int, default=500, help="per column (default 500)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--quick", action="store_true", help="30 signals")
    args = parser.parse_args(argv)
    asyncio.run(_run(30 if args.quick else args.signals, args.latency_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
