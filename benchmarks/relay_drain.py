"""Outbox drain after an outage: queued signals delivered to the broker, beside bare paho.

    python -m benchmarks.relay_drain [--signals N] [--rounds R] [--profile P] [--quick]

Heartline: N signals are committed to the sender's SQLite outbox while the broker is down; the
broker comes back, and from the moment the sender is connected again the timer runs until every
one is confirmed (PUBACK) and recorded as sent. The partner's hub runs in the same process,
storing them and sending receipts back (durability on: WAL, synchronous=FULL), so this column
also pays for the receiving side, which the baseline's bare subscriber does not.
Baseline: bare paho publishes N QoS 1 messages to the same broker, same ACL'd topic, an
online subscriber draining them, until every PUBACK is in.

The machine may be shared, and its speed can change within seconds, so the two columns run in
turns, ``--rounds`` times (the first column alternating), each round on a fresh broker; the table
gives each column's median and the ratio of the medians, and every round's own ratio beside it.
It runs once per relay profile (``heartline broker setup --profile``); the goal is the durable
one's, the profile a self-hosted relay gets by default.

Where the time goes. With the durable profile mosquitto saves its whole store after every change,
and that store holds every message the receiver has not acknowledged yet; the partner's hub
acknowledges a signal only once it is on its disk, so it falls behind bare paho's subscriber,
the store grows, each save costs more, and the sender's PUBACKs come at the receiver's pace.
With the hosted profile (a snapshot on a timer) the broker costs almost nothing, bare paho is
several times faster, and what is left is the two hubs' own work, one process here: opening and
checking each envelope, the SQLite writes (inbox, signal, fate, hold, receipt; group commits,
an fsync per transaction) and the hand-offs between paho's threads and the event loop.
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

from benchmarks.paho_pair import paho_pair
from benchmarks.relay_chaos import start_relay_broker
from benchmarks.timing import table
from hub.broker.config import RelayProfile
from hub.events import Fate
from tests.relay.node import RelayNode, node_config
from tests.support.mosquitto import Broker, find_mosquitto

GOAL_RATIO: Final = 0.5
DRAIN_TIMEOUT_S: Final = 900.0


def _bare_paho(broker: Broker, count: int) -> float:
    """Seconds for ``count`` QoS 1 publishes to be acknowledged (an online subscriber reads them)."""
    acked = threading.Semaphore(0)

    def on_message(_client: paho.Client, _userdata: object, _message: paho.MQTTMessage) -> None:
        return None  # the subscriber only drains the queue, as the partner's hub would

    with paho_pair(broker, broker.port, on_message, max_inflight=100) as pair:  # 100: as the hub's link
        if not pair.subscribed.wait(10):
            raise RuntimeError("the baseline receiver could not subscribe")
        pair.sender.on_publish = lambda *_: acked.release()
        payload = bytes(180)  # about the size of a sealed envelope
        started = time.perf_counter()
        for _ in range(count):
            pair.sender.publish(pair.topic, payload, qos=1)
        for _ in range(count):
            if not acked.acquire(timeout=DRAIN_TIMEOUT_S):
                raise RuntimeError("bare paho did not get every PUBACK")
        return time.perf_counter() - started


async def _heartline(broker: Broker, count: int, tmp: Path) -> float:
    broker.stop()  # the outage: signals pile up in the outbox
    a = RelayNode(node_config(broker, 0, tmp / "a"))
    await a.start(wait_connected=False)
    for _ in range(count):
        a.send()
    broker.start()
    b = RelayNode(node_config(broker, 1, tmp / "b"))
    await b.start()
    # The clock starts when the sender is connected again, as the baseline's does: paho's own
    # reconnect back-off after an outage is not what this measures.
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        await a.link.connected.wait()
    started = time.perf_counter()
    async with asyncio.timeout(DRAIN_TIMEOUT_S):
        while True:
            (queued,) = a.db.connection.execute(
                "SELECT COUNT(*) FROM signals WHERE fate = ?", (Fate.QUEUED.value,)
            ).fetchone()
            if queued == 0:
                break
            await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await a.stop()
    await b.stop()
    return elapsed


def _round(
    binary: Path, count: int, tmp: Path, profile: RelayProfile, *, bare_first: bool
) -> tuple[float, float]:
    """One round on a fresh broker: (bare paho seconds, Heartline seconds)."""
    broker = start_relay_broker(binary, tmp / "relay", profile)
    try:
        if bare_first:
            bare = _bare_paho(broker, count)
            ours = asyncio.run(_heartline(broker, count, tmp))
        else:
            ours = asyncio.run(_heartline(broker, count, tmp))
            bare = _bare_paho(broker, count)
    finally:
        broker.stop()
    return bare, ours


def _report(profile: RelayProfile, count: int, results: list[tuple[float, float]]) -> float:
    bare = statistics.median(b for b, _ in results)
    ours = statistics.median(o for _, o in results)
    ratio = bare / ours
    saves = "save on every change" if profile is RelayProfile.DURABLE else "a snapshot on a timer"
    print(
        f"\n{count:,} signals after an outage, mosquitto, relay profile {profile} ({saves}), "
        f"median of {len(results)} rounds\n"
    )
    print(
        table(
            ["path", "seconds", "signals/s", "x bare paho"],
            [
                ["bare paho QoS 1 publish (baseline)", bare, count / bare, 1.0],
                ["Heartline outbox drain (durable)", ours, count / ours, ratio],
            ],
        )
    )
    print(f"\neach round's ratio: {', '.join(f'{b / o:.2f}' for b, o in results)}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relay_drain", description=__doc__)
    parser.add_argument("--signals", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--profile",
        choices=[*(profile.value for profile in RelayProfile), "both"],
        default="both",
        help="relay profile(s) to run (default both; the goal is the durable one's)",
    )
    parser.add_argument("--quick", action="store_true", help="500 signals, 1 round")
    args = parser.parse_args(argv)
    count, rounds = (500, 1) if args.quick else (args.signals, args.rounds)
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto not found; `make test` installs it")
    profiles = list(RelayProfile) if args.profile == "both" else [RelayProfile(args.profile)]
    for profile in profiles:
        results = []
        for index in range(rounds):
            with tempfile.TemporaryDirectory(prefix="heartline-bench-") as tmp:
                results.append(_round(binary, count, Path(tmp), profile, bare_first=index % 2 == 0))
        ratio = _report(profile, count, results)
        if profile is RelayProfile.DURABLE:
            verdict = "met" if ratio >= GOAL_RATIO else "NOT met"
            print(f"goal: >= {GOAL_RATIO} of bare paho -> {verdict} ({ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
