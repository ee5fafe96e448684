"""A seeded chaos run of the partner relay on real parts, ending in a tally.

    python -m benchmarks.relay_chaos [--signals N] [--seed S] [--profile P] [--quick]

Two homes' relay stacks (the hub's real Relay, MqttLink, SQLite store and DeliveryService, see
tests/relay/node.py) talk through a loopback TCP proxy to a real mosquitto. While both send N
signals each, at seeded random moments the broker is SIGKILLed and restarted, the proxy cuts
every connection, and a hub process "dies" (no DISCONNECT, nothing beyond what was committed)
and a new one starts on the same data dir. Then the run waits until everything is settled
(every signal receipted as delivered, both outboxes empty) and prints what each person was
actually shown: delivered exactly once, lost, duplicates. Goal: zero lost, zero duplicates.

It runs once per relay profile (``heartline broker setup --profile``): ``durable`` (mosquitto
saves after every change) and ``hosted`` (a snapshot every 5 minutes, so in this run every broker
SIGKILL loses every session, subscription and queued message the broker held: only the hubs'
outboxes and receipts carry the signals through).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final

from benchmarks.timing import table
from hub.broker.config import Couple, RelayProfile
from hub.broker.setup import setup_relay
from hub.relay.mqtt_link import MqttLink
from tests.relay.node import RelayNode, all_settled, describe, node_config
from tests.support.mosquitto import (
    COUPLE,
    LOOPBACK,
    OTHER_COUPLE,
    START_ATTEMPTS,
    TLS_HOST,
    Broker,
    BrokerError,
    BrokerPortInUseError,
    find_mosquitto,
    free_ports,
)
from tests.support.tcp_proxy import TcpProxy

# A broker restart or a hub restart takes well under a second on loopback; the outage lasts a
# random part of this on top, so some signals are queued while it is down.
MAX_OUTAGE_S: Final = 1.0
SETTLE_TIMEOUT_S: Final = 600.0
POLL_S: Final = 0.1
# The flood limit holds a burst drained after an outage for a summary much later; the chaos run
# measures the relay, so the receivers here take any rate (the limit has its own tests).
UNLIMITED_PER_MINUTE: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Plan:
    signals: int  # per side
    broker_kills: int
    cuts: int
    hub_kills: int
    duration_s: float  # over which the signals and the faults are spread


FULL: Final = Plan(signals=1_000, broker_kills=20, cuts=10, hub_kills=5, duration_s=120.0)
QUICK: Final = Plan(signals=100, broker_kills=3, cuts=2, hub_kills=1, duration_s=8.0)


def start_relay_broker(
    binary: Path,
    out_dir: Path,
    profile: RelayProfile,
    *,
    autosave_interval_s: int | None = None,
    couples: tuple[Couple, ...] = (COUPLE, OTHER_COUPLE),
) -> Broker:
    """The test suite's relay (tests.support.mosquitto.start_broker) with a chosen profile."""
    for _ in range(START_ATTEMPTS):
        port, tls_port = free_ports(2)
        setup = setup_relay(
            out_dir,
            host=TLS_HOST,
            port=port,
            tls_port=tls_port,
            couples=couples,
            tls_bind_address=LOOPBACK,
            run_as="root" if os.geteuid() == 0 else None,
            profile=profile,
            autosave_interval_s=autosave_interval_s,
        )
        broker = Broker.from_setup(binary, setup)
        try:
            broker.start()
        except BrokerPortInUseError:
            continue
        return broker
    raise BrokerError(f"could not start mosquitto on free ports in {START_ATTEMPTS} attempts")


class CountingLink(MqttLink):
    """Counts publishes by payload: an outbox item is sealed once, so a repeat is a resend."""

    published: ClassVar[Counter[bytes]] = Counter()

    async def publish(self, topic: str, payload: bytes) -> None:
        CountingLink.published[payload] += 1
        await super().publish(topic, payload)


@dataclass
class Tally:
    sent: list[set[str]] = field(default_factory=lambda: [set(), set()])
    broker_kills: int = 0
    cuts: int = 0
    hub_kills: int = 0
    duplicate_arrivals: int = 0  # redeliveries and resends the receivers recognised
    settled: bool = False
    wall_s: float = 0.0
    settle_s: float = 0.0


def _events(plan: Plan, rng: random.Random) -> list[tuple[float, str, int]]:
    """(time, what, side) for the whole run, in time order."""
    events: list[tuple[float, str, int]] = []
    for side in (0, 1):
        events += [(rng.uniform(0, plan.duration_s), "send", side) for _ in range(plan.signals)]
    events += [
        (rng.uniform(0.05, 0.95) * plan.duration_s, "broker_kill", 0) for _ in range(plan.broker_kills)
    ]
    events += [(rng.uniform(0.05, 0.95) * plan.duration_s, "cut", 0) for _ in range(plan.cuts)]
    events += [
        (rng.uniform(0.05, 0.95) * plan.duration_s, "hub_kill", rng.randrange(2))
        for _ in range(plan.hub_kills)
    ]
    return sorted(events)


async def _event(
    what: str,
    side: int,
    *,
    nodes: list[RelayNode],
    broker: Broker,
    proxy: TcpProxy,
    rng: random.Random,
    tally: Tally,
) -> None:
    if what == "send":
        tally.sent[side].add(nodes[side].send().id)
    elif what == "broker_kill":
        await asyncio.to_thread(broker.kill)
        await asyncio.sleep(rng.uniform(0, MAX_OUTAGE_S))
        await asyncio.to_thread(broker.start)
        tally.broker_kills += 1
    elif what == "cut":
        proxy.cut()
        tally.cuts += 1
    else:
        old = nodes[side]
        await old.crash()
        tally.duplicate_arrivals += old.relay.rejected["duplicate"]
        await asyncio.sleep(rng.uniform(0, MAX_OUTAGE_S))
        nodes[side] = old.reborn(link_class=CountingLink)
        await nodes[side].start(wait_connected=False)
        tally.hub_kills += 1


async def _run(broker: Broker, plan: Plan, seed: int, tmp: Path) -> tuple[Tally, list[RelayNode]]:
    rng = random.Random(seed)
    tally = Tally()
    CountingLink.published.clear()
    proxy = TcpProxy(broker.port)
    await proxy.start()
    nodes: list[RelayNode] = []
    for side in (0, 1):
        config = node_config(broker, side, tmp / f"hub{side}", port=proxy.port)
        config = dataclasses.replace(
            config, delivery=dataclasses.replace(config.delivery, max_per_minute=UNLIMITED_PER_MINUTE)
        )
        node = RelayNode(config, link_class=CountingLink)
        await node.start()
        nodes.append(node)
    started = time.monotonic()
    try:
        for at, what, side in _events(plan, rng):
            delay = started + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await _event(what, side, nodes=nodes, broker=broker, proxy=proxy, rng=rng, tally=tally)
        settle_started = time.monotonic()
        deadline = settle_started + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline:
            if all_settled(nodes[0], tally.sent[0]) and all_settled(nodes[1], tally.sent[1]):
                tally.settled = True
                break
            await asyncio.sleep(POLL_S)
        tally.wall_s = time.monotonic() - started
        tally.settle_s = time.monotonic() - settle_started
        tally.duplicate_arrivals += sum(node.relay.rejected["duplicate"] for node in nodes)
        if not tally.settled:
            states = "\n  ".join(describe(node) for node in nodes)
            print(f"NOT settled within {SETTLE_TIMEOUT_S:.0f} s:\n  {states}")
    finally:
        for node in nodes:
            await node.stop()
        await proxy.stop()
    return tally, nodes


def _report(tally: Tally, nodes: list[RelayNode], plan: Plan, seed: int, profile: RelayProfile) -> str:
    rows = []
    totals = Counter[str]()
    for side in (0, 1):
        receiver = nodes[1 - side]
        shown = Counter(receiver.person.shown)
        ids = tally.sent[side]
        once = sum(1 for i in ids if shown[i] == 1)
        lost = sum(1 for i in ids if shown[i] == 0)
        duplicates = sum(shown[i] - 1 for i in ids if shown[i] > 1)
        row = {"sent": len(ids), "once": once, "lost": lost, "dup": duplicates}
        totals.update(row)
        name = f"{receiver.config.hub.partner} -> {receiver.config.hub.person}"
        rows.append([name, row["sent"], row["once"], row["lost"], row["dup"]])
    rows.append(["both ways", totals["sent"], totals["once"], totals["lost"], totals["dup"]])
    resends = sum(n - 1 for n in CountingLink.published.values())
    lines = [
        (
            f"relay chaos, seed {seed}, relay profile {profile}: {plan.signals:,} signals each way "
            f"over {plan.duration_s:.0f} s, real mosquitto behind a loopback TCP proxy\n"
        ),
        table(["direction", "sent", "delivered exactly once", "lost", "duplicates shown"], rows),
        "",
        table(
            ["fault / effort", "count"],
            [
                ["broker SIGKILL + restart", f"{tally.broker_kills} (planned {plan.broker_kills})"],
                ["network cuts (proxy)", f"{tally.cuts} (planned {plan.cuts})"],
                ["hub kills + restart", f"{tally.hub_kills} (planned {plan.hub_kills})"],
                ["publishes repeated (resends)", resends],
                ["arrivals recognised as duplicates", tally.duplicate_arrivals],
                ["settled", "yes" if tally.settled else "NO"],
                ["settling after the last event (s)", f"{tally.settle_s:.1f}"],
                ["wall time (s)", f"{tally.wall_s:.1f}"],
            ],
        ),
        "",
        "goal: zero lost, zero duplicates shown -> "
        + ("met" if totals["lost"] == 0 and totals["dup"] == 0 and tally.settled else "NOT met"),
    ]
    return "\n".join(lines)


def run(plan: Plan, seed: int, profile: RelayProfile = RelayProfile.DURABLE) -> tuple[Tally, str]:
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto not found; `make test` installs it")
    with tempfile.TemporaryDirectory(prefix="heartline-chaos-") as tmp:
        broker = start_relay_broker(binary, Path(tmp) / "relay", profile)
        try:
            tally, nodes = asyncio.run(_run(broker, plan, seed, Path(tmp)))
        finally:
            broker.stop()
        return tally, _report(tally, nodes, plan, seed, profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relay_chaos", description=__doc__)
    parser.add_argument("--signals", type=int, default=None, help="signals each way (default 1,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--profile",
        choices=[*(profile.value for profile in RelayProfile), "both"],
        default="both",
        help="relay profile(s) to run (default both, one after the other)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100 signals, 3 broker kills, 2 cuts, 1 hub kill"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the faults are the point: their warnings are noise here
    plan = QUICK if args.quick else FULL
    if args.signals is not None:
        plan = dataclasses.replace(plan, signals=args.signals)
    profiles = list(RelayProfile) if args.profile == "both" else [RelayProfile(args.profile)]
    for index, profile in enumerate(profiles):
        if index:
            print("\n")
        _, report = run(plan, args.seed, profile)
        print(report, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
