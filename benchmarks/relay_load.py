"""Many couples on one mosquitto: broker memory, CPU, disk writes per touch, latency, reconnect storm.

    python -m benchmarks.relay_load [--couples 500,2000] [--profiles durable,hosted]
        [--phase-s S] [--hosted-autosave-s S] [--real-hubs N] [--quick]

For each relay profile (``heartline broker setup --profile``) and each number of couples, a real
mosquitto is set up by ``hub.broker.setup_relay`` with that many couples (their ACL and passwords)
and every hub is a synthetic client speaking the hub's protocol with paho: its own client id and
login, MQTT 5, a persistent session (clean start off, 90 days' expiry), QoS 1 subscriptions to its
inbox and the partner's retained status, its own retained ``online`` status with an ``offline``
will. All clients of a run share one thread and one selector (paho's external-loop callbacks),
so thousands of sessions fit in one process.

Measured, from /proc/PID of the broker:

* memory: resident set (VmRSS) with every session connected and idle, and its peak (VmHWM);
* CPU: broker user+system time per second of wall time during the touch phase;
* disk: bytes the broker wrote (/proc/PID/io write_bytes) during the touch phase, per touch.
  Every couple touches once per ``--phase-s`` (so the per-couple rate is the same at every size)
  and each touch is answered with a receipt, as hubs do. The hosted profile saves on a timer; the
  run shortens the timer to ``--hosted-autosave-s`` so the phase contains snapshots (a relay as
  shipped saves every 5 minutes: fewer bytes per touch at a real touch rate, see
  docs/hosted-relay.md);
* touch latency: a touch's publish until the partner's client received it (p50, p99);
* reconnect storm: the broker is stopped (SIGTERM: it saves) and started again; from the moment it
  accepts until every client is connected again with its session and subscribed.

``--real-hubs N`` adds N couples of real ``heartline hub`` processes (2 N processes) on a
durable relay: their memory and CPU idle, and a touch's latency between two of them (sent through
the hub's web API, timed until the partner hub lists it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import selectors
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from benchmarks.relay_chaos import start_relay_broker
from benchmarks.timing import table
from firmware_sim.air.server import AirServer
from hub.broker.config import (
    HOSTED_AUTOSAVE_INTERVAL_S,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    Couple,
    RelayProfile,
    inbox_topic,
    status_topic,
)
from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import Broker, find_mosquitto, free_ports

SESSION_EXPIRY_S: Final = 90 * 24 * 3600  # as the hub's default relay.session_expiry_days
KEEPALIVE_S: Final = 60
# A sealed touch envelope is about this big (hub.relay.envelope); receipts are similar.
PAYLOAD_BYTES: Final = 300
CONNECT_TIMEOUT_S: Final = 600.0
SETTLE_TIMEOUT_S: Final = 300.0
MISC_EVERY_S: Final = 1.0
# Three descriptors per paho client (its socket and a socket pair) plus the broker's own.
FDS_PER_CLIENT: Final = 3
FD_MARGIN: Final = 256
# Real hubs: settle after start-up, then measure their idle CPU over this long.
REAL_SETTLE_S: Final = 10.0
REAL_IDLE_S: Final = 30.0
PORT_ATTEMPTS: Final = 5


def couples_for(count: int) -> tuple[Couple, ...]:
    return tuple(Couple(f"c{i:06d}", (f"h{i:06d}a", f"h{i:06d}b")) for i in range(count))


def raise_fd_limit(clients: int) -> int:
    """Raise this process's soft descriptor limit to what ``clients`` need (never past the hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = clients * FDS_PER_CLIENT + FD_MARGIN
    if needed > soft:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if needed > soft:
        raise SystemExit(f"{clients} clients need {needed} file descriptors; the hard limit is {hard}")
    return soft


# -- the broker, seen from /proc ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcSample:
    at: float
    cpu_s: float
    write_bytes: int
    rss_kib: int
    hwm_kib: int


def sample(pid: int) -> ProcSample:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {line.split(":")[0]: line.split(":")[1].split() for line in status.splitlines() if ":" in line}
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return ProcSample(
        at=time.monotonic(),
        cpu_s=(int(stat[11]) + int(stat[12])) / ticks,  # utime, stime (fields 14 and 15)
        write_bytes=int(io["write_bytes"]),
        rss_kib=int(fields["VmRSS"][0]),
        hwm_kib=int(fields["VmHWM"][0]),
    )


# -- synthetic hubs -------------------------------------------------------------------------


@dataclass(eq=False)
class SyntheticHub:
    hub_id: str
    couple: Couple
    client: paho.Client
    connected: bool = False
    subscribed: bool = False
    session_present: bool = False
    connects: int = 0


@dataclass
class Swarm:
    """Every synthetic hub of one run, driven by one selector loop in the calling thread."""

    broker: Broker
    couples: Sequence[Couple]
    hubs: list[SyntheticHub] = field(default_factory=list)
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)
    writers: set[paho.Client] = field(default_factory=set)
    by_client: dict[paho.Client, SyntheticHub] = field(default_factory=dict)
    touched: dict[str, float] = field(default_factory=dict)  # touch id -> publish time
    arrived: dict[str, float] = field(default_factory=dict)  # touch id -> partner received
    receipts: set[str] = field(default_factory=set)
    last_misc: float = 0.0

    def build(self) -> None:
        for couple in self.couples:
            for hub_id in couple.hubs:
                self.hubs.append(self._hub(couple, hub_id))

    def _hub(self, couple: Couple, hub_id: str) -> SyntheticHub:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=hub_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        client.username_pw_set(hub_id, self.broker.password(hub_id))
        client.will_set(status_topic(couple.couple_id, hub_id), STATUS_OFFLINE, qos=1, retain=True)
        hub = SyntheticHub(hub_id, couple, client)
        self.by_client[client] = hub
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = lambda c, _u, _s: self.writers.add(c)
        client.on_socket_unregister_write = lambda c, _u, _s: self.writers.discard(c)
        return hub

    def _on_socket_open(self, client: paho.Client, _userdata: object, sock: paho.SocketLike) -> None:
        self.selector.register(sock, selectors.EVENT_READ, client)

    def _on_socket_close(self, client: paho.Client, _userdata: object, sock: paho.SocketLike) -> None:
        del client
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(sock)

    def connect(self, hub: SyntheticHub) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = SESSION_EXPIRY_S
        hub.client.connect(
            "127.0.0.1", self.broker.port, keepalive=KEEPALIVE_S, clean_start=False, properties=properties
        )

    def reconnect(self, hub: SyntheticHub) -> bool:
        try:
            hub.client.reconnect()
        except OSError:
            return False
        return True

    def _on_connect(
        self,
        client: paho.Client,
        _userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            return
        hub = self.by_client[client]
        hub.connected = True
        hub.connects += 1
        hub.session_present = flags.session_present
        partner = hub.couple.partner_of(hub.hub_id)
        client.subscribe(
            [
                (inbox_topic(hub.couple.couple_id, hub.hub_id), 1),
                (status_topic(hub.couple.couple_id, partner), 1),
            ]
        )
        client.publish(status_topic(hub.couple.couple_id, hub.hub_id), STATUS_ONLINE, qos=1, retain=True)

    def _on_subscribe(
        self,
        client: paho.Client,
        _userdata: object,
        _mid: int,
        _codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        self.by_client[client].subscribed = True

    def _on_disconnect(
        self,
        client: paho.Client,
        _userdata: object,
        _flags: paho.DisconnectFlags,
        _reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        hub = self.by_client[client]
        hub.connected = hub.subscribed = False

    def _on_message(self, client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        now = time.perf_counter()
        payload = message.payload
        if message.topic.endswith("/status"):
            return
        kind, touch_id = payload[:1], payload[1:17].decode()
        hub = self.by_client[client]
        if kind == b"T":
            self.arrived.setdefault(touch_id, now)
            partner = hub.couple.partner_of(hub.hub_id)
            client.publish(inbox_topic(hub.couple.couple_id, partner), _payload(b"R", touch_id), qos=1)
        elif kind == b"R":
            self.receipts.add(touch_id)

    def touch(self, couple_index: int, touch_id: str, rng: random.Random) -> None:
        couple = self.couples[couple_index]
        sender = rng.randrange(2)
        hub = self.hubs[2 * couple_index + sender]
        partner = couple.hubs[1 - sender]
        self.touched[touch_id] = time.perf_counter()
        hub.client.publish(inbox_topic(couple.couple_id, partner), _payload(b"T", touch_id), qos=1)

    def pump(self, timeout: float) -> None:
        for client in list(self.writers):
            client.loop_write()
        for key, _ in self.selector.select(timeout):
            client = key.data
            assert isinstance(client, paho.Client)
            client.loop_read()
        now = time.monotonic()
        if now - self.last_misc >= MISC_EVERY_S:
            self.last_misc = now
            for hub in self.hubs:
                hub.client.loop_misc()

    def pump_until(self, done: object, timeout_s: float, what: str) -> float:
        assert callable(done)
        started = time.monotonic()
        while not done():
            if time.monotonic() - started > timeout_s:
                raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
            self.pump(0.005)
        return time.monotonic() - started

    def all_ready(self) -> bool:
        return all(hub.connected and hub.subscribed for hub in self.hubs)

    def close(self) -> None:
        for hub in self.hubs:
            with contextlib.suppress(Exception):
                hub.client.disconnect()
                hub.client.loop_write()
        for hub in self.hubs:
            with contextlib.suppress(Exception):
                sock = hub.client.socket()
                if sock is not None:
                    sock.close()
        self.selector.close()


def _payload(kind: bytes, touch_id: str) -> bytes:
    head = kind + touch_id.encode()
    return head + bytes(PAYLOAD_BYTES - len(head))


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class Result:
    profile: RelayProfile
    couples: int
    connect_s: float
    idle_rss_mib: float
    peak_rss_mib: float
    cpu_share: float  # of one core, during the touch phase
    touches: int
    bytes_per_touch: float
    snapshot_bytes: int
    p50_ms: float
    p99_ms: float
    storm_s: float
    sessions_kept: int


def run_one(
    binary: Path, profile: RelayProfile, count: int, *, phase_s: float, autosave_s: int, seed: int
) -> Result:
    raise_fd_limit(2 * count)
    rng = random.Random(seed)
    couples = couples_for(count)
    with tempfile.TemporaryDirectory(prefix="heartline-load-") as tmp:
        broker = start_relay_broker(
            binary,
            Path(tmp) / "relay",
            profile,
            autosave_interval_s=autosave_s if profile is RelayProfile.HOSTED else None,
            couples=couples,
        )
        swarm = Swarm(broker, couples)
        swarm.build()
        try:
            started = time.monotonic()
            for hub in swarm.hubs:
                swarm.connect(hub)
                swarm.pump(0)
            swarm.pump_until(swarm.all_ready, CONNECT_TIMEOUT_S, "every synthetic hub to subscribe")
            connect_s = time.monotonic() - started
            swarm.pump_until(lambda: time.monotonic() - started >= connect_s + 2, 10, "a quiet moment")
            idle = sample(broker.pid)
            # The touch phase: every couple touches once, at a random moment of the phase.
            plan = sorted((rng.uniform(0, phase_s), index) for index in range(count))
            before = sample(broker.pid)
            phase_started = time.monotonic()
            for number, (at, index) in enumerate(plan):
                while time.monotonic() - phase_started < at:
                    swarm.pump(min(0.005, max(0.0, at - (time.monotonic() - phase_started))))
                swarm.touch(index, f"{number:016d}", rng)
            swarm.pump_until(lambda: len(swarm.receipts) >= count, SETTLE_TIMEOUT_S, "every receipt")
            while time.monotonic() - phase_started < phase_s:
                swarm.pump(0.01)
            after = sample(broker.pid)
            snapshot = (
                (broker.data_dir / "mosquitto.db").stat().st_size if broker.database_path.exists() else 0
            )
            latencies = [swarm.arrived[i] - swarm.touched[i] for i in swarm.touched if i in swarm.arrived]
            # The reconnect storm: a graceful restart, then every client at once.
            for hub in swarm.hubs:
                hub.connects = 0
            broker.stop()
            swarm.pump_until(lambda: not any(h.connected for h in swarm.hubs), 60, "every client to notice")
            broker.start()
            storm_started = time.monotonic()
            pending = list(swarm.hubs)
            while pending:
                pending = [hub for hub in pending if not swarm.reconnect(hub)]
                swarm.pump(0)
            swarm.pump_until(swarm.all_ready, CONNECT_TIMEOUT_S, "every client to reconnect and subscribe")
            storm_s = time.monotonic() - storm_started
            peak = sample(broker.pid)
            kept = sum(1 for hub in swarm.hubs if hub.session_present)
        finally:
            swarm.close()
            broker.stop()
    return Result(
        profile=profile,
        couples=count,
        connect_s=connect_s,
        idle_rss_mib=idle.rss_kib / 1024,
        peak_rss_mib=max(peak.hwm_kib, after.hwm_kib) / 1024,
        cpu_share=(after.cpu_s - before.cpu_s) / (after.at - before.at),
        touches=count,
        bytes_per_touch=(after.write_bytes - before.write_bytes) / count,
        snapshot_bytes=snapshot,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        storm_s=storm_s,
        sessions_kept=kept,
    )


# -- real hubs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RealHubsResult:
    couples: int
    hub_rss_mib: float
    hub_cpu_share: float
    broker_rss_mib: float
    p50_ms: float
    p99_ms: float
    touches: int


@contextlib.contextmanager
def _simulated_air() -> Iterator[int]:
    """The simulator's radio medium in a thread of its own (real hubs need one to join); its port."""
    loop = asyncio.new_event_loop()
    air = AirServer()
    loop.run_until_complete(air.start())
    thread = threading.Thread(target=loop.run_forever, name="air", daemon=True)
    thread.start()
    try:
        yield air.port
    finally:
        asyncio.run_coroutine_threadsafe(air.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def _hub_config(
    path: Path, couple: Couple, index: int, broker: Broker, *, web_port: int, air_port: int
) -> None:
    hub_id = couple.hubs[index]
    people = ("Alex", "Sam")
    tables: dict[str, dict[str, object]] = {
        "hub": {"person": people[index], "partner": people[1 - index], "data_dir": str(path.parent / "data")},
        "ble": {"transport": f"sim:127.0.0.1:{air_port}/{hub_id}"},
        "relay": {
            "broker": f"mqtt://127.0.0.1:{broker.port}",
            "hub_id": hub_id,
            "partner_hub_id": couple.hubs[1 - index],
            "couple_id": couple.couple_id,
            "couple_key": COUPLE_KEY,
            "password": broker.password(hub_id),
        },
        "web": {"listen": "127.0.0.1", "port": web_port},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join(
            f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
            for name, values in tables.items()
        )
    )


def _api(url: str, body: dict[str, object] | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _start_hub(folder: Path) -> subprocess.Popen[bytes]:
    with (folder / "hub.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "hub", "--config", str(folder / "hub.toml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _wait_connected(url: str, process: subprocess.Popen[bytes], folder: Path, deadline: float) -> bool:
    """True once the hub's relay is connected; False if it exited because its web port was taken
    meanwhile (a free port can be grabbed before the hub binds it): start it again on another."""
    while True:
        try:
            health = _api(f"{url}/api/health")
        except OSError:
            health = None
        if isinstance(health, dict) and str(health.get("relay", "")).startswith("connected"):
            return True
        text = (folder / "hub.log").read_text()
        if process.poll() is not None and "already in use" in text:
            return False
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the hub in {folder} did not connect:\n{text[-3000:]}")
        time.sleep(0.5)


def _touch_latency(sender: str, receiver: str) -> float:
    started = time.perf_counter()
    sent = _api(f"{sender}/api/signals", {"kind": "thinking_of_you"})
    assert isinstance(sent, dict)
    while sent["id"] not in json.dumps(_api(f"{receiver}/api/signals")):
        time.sleep(0.002)
    return time.perf_counter() - started


def _stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


def run_real_hubs(binary: Path, count: int, *, touches_per_couple: int, seed: int) -> RealHubsResult:
    rng = random.Random(seed)
    couples = couples_for(count)
    with tempfile.TemporaryDirectory(prefix="heartline-load-hubs-") as tmp, _simulated_air() as air_port:
        broker = start_relay_broker(binary, Path(tmp) / "relay", RelayProfile.DURABLE, couples=couples)
        processes: list[subprocess.Popen[bytes]] = []
        folders = [Path(tmp) / f"hub-{number // 2}-{number % 2}" for number in range(2 * count)]
        urls: list[str] = []

        def start(number: int) -> subprocess.Popen[bytes]:
            (port,) = free_ports(1)
            couple, folder = couples[number // 2], folders[number]
            _hub_config(folder / "hub.toml", couple, number % 2, broker, web_port=port, air_port=air_port)
            url = f"http://127.0.0.1:{port}"
            if number < len(urls):
                urls[number] = url
            else:
                urls.append(url)
            return _start_hub(folder)

        try:
            processes.extend(start(number) for number in range(2 * count))
            deadline = time.monotonic() + CONNECT_TIMEOUT_S
            for number in range(2 * count):
                for _ in range(PORT_ATTEMPTS):
                    if _wait_connected(urls[number], processes[number], folders[number], deadline):
                        break
                    processes[number] = start(number)
                else:
                    raise RuntimeError(f"no free web port for the hub in {folders[number]}")
            time.sleep(REAL_SETTLE_S)
            first = [_proc_cpu(p.pid) for p in processes]
            idle_started = time.monotonic()
            time.sleep(REAL_IDLE_S)
            idle_s = time.monotonic() - idle_started
            cpu = [(_proc_cpu(p.pid) - before) / idle_s for p, before in zip(processes, first, strict=True)]
            rss = [_proc_rss_kib(p.pid) / 1024 for p in processes]
            latencies: list[float] = []
            for _ in range(touches_per_couple):
                for number in range(count):
                    side = rng.randrange(2)
                    latencies.append(_touch_latency(urls[2 * number + side], urls[2 * number + 1 - side]))
            broker_rss = sample(broker.pid).rss_kib / 1024
        finally:
            _stop_all(processes)
            broker.stop()
    return RealHubsResult(
        couples=count,
        hub_rss_mib=statistics.median(rss),
        hub_cpu_share=statistics.median(cpu),
        broker_rss_mib=broker_rss,
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=_percentile(latencies, 0.99) * 1000,
        touches=len(latencies),
    )


def _proc_cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- report ---------------------------------------------------------------------------------


def report(results: Sequence[Result], phase_s: float, autosave_s: int) -> str:
    rows = [
        [
            str(r.profile),
            f"{r.couples:,}",
            f"{2 * r.couples:,}",
            f"{r.connect_s:.1f}",
            f"{r.idle_rss_mib:.1f}",
            f"{r.peak_rss_mib:.1f}",
            f"{100 * r.cpu_share:.1f}",
            f"{r.bytes_per_touch / 1024:.1f}",
            f"{r.snapshot_bytes / 1024:.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.storm_s:.1f}",
            f"{r.sessions_kept:,}",
        ]
        for r in results
    ]
    headers = [
        "profile",
        "couples",
        "sessions",
        "connect s",
        "RSS idle MiB",
        "RSS peak MiB",
        "CPU % core",
        "KiB written/touch",
        "snapshot KiB",
        "touch p50 ms",
        "touch p99 ms",
        "storm s",
        "sessions kept",
    ]
    return "\n".join(
        [
            (
                "one mosquitto, synthetic hubs (paho, MQTT 5, the hub's topics and sessions); each couple "
                f"touches once per {phase_s:.0f} s and is answered by a receipt; hosted snapshots every "
                f"{autosave_s} s in this run ({HOSTED_AUTOSAVE_INTERVAL_S} s as shipped)\n"
            ),
            table(headers, rows),
        ]
    )


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relay_load", description=__doc__)
    parser.add_argument(
        "--couples", type=_sizes, default=[500, 2000], help="comma-separated (default 500,2000; '' for none)"
    )
    parser.add_argument("--profiles", default="durable,hosted", help="comma-separated (default both)")
    parser.add_argument("--phase-s", type=float, default=60.0, help="touch phase length (default 60)")
    parser.add_argument("--hosted-autosave-s", type=int, default=30, help="hosted snapshot period here (30)")
    parser.add_argument("--real-hubs", type=int, default=0, help="also N couples of real hub processes")
    parser.add_argument("--real-touches", type=int, default=5, help="touches per real couple (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="50 couples, a 10 s phase, 5 s snapshots")
    args = parser.parse_args(argv)
    if args.quick:
        args.couples, args.phase_s, args.hosted_autosave_s = [50], 10.0, 5
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("mosquitto not found; `make test` installs it")
    profiles = [RelayProfile.parse(name) for name in args.profiles.split(",") if name]
    results = []
    for profile in profiles:
        for count in args.couples:
            result = run_one(
                binary,
                profile,
                count,
                phase_s=args.phase_s,
                autosave_s=args.hosted_autosave_s,
                seed=args.seed,
            )
            results.append(result)
            print(f"  done: {profile} with {count:,} couples", flush=True)
    if results:
        print()
        print(report(results, args.phase_s, args.hosted_autosave_s), flush=True)
    if args.real_hubs:
        real = run_real_hubs(binary, args.real_hubs, touches_per_couple=args.real_touches, seed=args.seed)
        print(
            f"\n{real.couples} couples of real `heartline hub` processes ({2 * real.couples} hubs) on one "
            "durable mosquitto; touches sent through each hub's web API, timed until the partner lists them\n"
        )
        print(
            table(
                [
                    "hub RSS MiB (median)",
                    "hub CPU % core idle (median)",
                    "broker RSS MiB",
                    "touches",
                    "p50 ms",
                    "p99 ms",
                ],
                [
                    [
                        f"{real.hub_rss_mib:.1f}",
                        f"{100 * real.hub_cpu_share:.2f}",
                        f"{real.broker_rss_mib:.1f}",
                        real.touches,
                        f"{real.p50_ms:.1f}",
                        f"{real.p99_ms:.1f}",
                    ]
                ],
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
