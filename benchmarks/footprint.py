"""Hub footprint: a real ``heartline hub`` process, measured from outside through /proc.

    python -m benchmarks.footprint [--idle-s N] [--load-s N] [--rate R] [--quick]

The hub runs as on a Pi, with the web app, BLE ingest (simulated radio, served by this
process) and the relay (mosquitto when installed, else the demo's embedded amqtt broker, both
in-process or as a child so their CPU is not counted). Measured: time from exec to a healthy
``/api/health``; resident memory (VmRSS) at steady state; idle CPU (utime+stime over the
window); CPU while the air delivers R adverts/s to the hub: 90 % strangers' adverts (the
neighbours' phones and tags a Pi hears all day; rejected as unknown) and 10 % a registered
button repeating its last encrypted advert (decoded, authenticated, de-duplicated). Baseline,
same run: a bare ``python -c 'import time; time.sleep()'`` and the interpreter with the hub's
imports loaded, so the hub's own share is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from benchmarks.timing import table
from device import bthome, command
from firmware_sim.air.server import AirServer
from firmware_sim.home import service_data_advert
from hub.demo.broker import EmbeddedBroker, free_port

HUB_RADIO: Final = "B8:27:EB:00:00:0A"
BUTTON: Final = "C0:FF:EE:00:00:0A"
KEY: Final = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
BTHOME_UUID: Final = "fcd2"
STRANGERS: Final = 100
BUTTON_SHARE: Final = 0.1
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
READY_BOUND_S: Final = 30.0
STOP_BOUND_S: Final = 15.0
# Goals: a Pi Zero 2 W (512 MB, shared with the OS and bluetoothd) must have room to spare, and a
# restarted hub must be back before anyone notices.
GOAL_RSS_MB: Final = 64.0
GOAL_IDLE_CPU_PCT: Final = 1.0
GOAL_READY_S: Final = 1.5
# Adverts go out in small bursts on a fixed beat, as a busy radio delivers them.
BURST_EVERY_S: Final = 0.02
HUB_IMPORTS: Final = (
    "import hub.server, hub.app.builder, hub.web.api, hub.cli.main, uvicorn, fastapi, numpy, apprise"
)


@dataclass(frozen=True, slots=True)
class Sample:
    rss_mb: float
    cpu_s: float
    at: float


def sample(pid: int) -> Sample:
    """VmRSS from /proc/PID/status and utime+stime from /proc/PID/stat."""
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return Sample(rss_kb / 1024, ticks / CLK_TCK, time.monotonic())


def cpu_percent(start: Sample, end: Sample) -> float:
    return 100 * (end.cpu_s - start.cpu_s) / (end.at - start.at)


@contextlib.contextmanager
def child(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, stopped by its own pid (SIGTERM, then SIGKILL past the bound)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_BOUND_S)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_BOUND_S)


def find_mosquitto() -> str | None:
    fallbacks = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")  # often not on a user's PATH
    return shutil.which("mosquitto") or next((p for p in fallbacks if Path(p).is_file()), None)


@contextlib.asynccontextmanager
async def broker(workdir: Path) -> AsyncIterator[tuple[str, str, str]]:
    """(url, protocol, what) of a loopback broker: mosquitto if installed, else amqtt."""
    mosquitto = find_mosquitto()
    if mosquitto:
        port = free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n", encoding="utf-8")
        with child([mosquitto, "-c", str(conf)], workdir / "mosquitto.log"):
            await _until_port(port)
            yield f"mqtt://127.0.0.1:{port}", "mqtt5", "mosquitto"
        return
    embedded = EmbeddedBroker()
    await embedded.start()
    try:
        yield embedded.url, "mqtt311", "amqtt (embedded)"
    finally:
        await embedded.stop()


async def _until_port(port: int) -> None:
    deadline = time.monotonic() + READY_BOUND_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"broker on port {port} did not start within {READY_BOUND_S} s")


def write_config(  # noqa: PLR0917 - one call site, every argument a different place
    path: Path, broker_url: str, protocol: str, air_port: int, web_port: int, data: Path
) -> None:
    sections: dict[str, dict[str, Any]] = {
        "hub": {"person": "Alex", "partner": "Sam", "data_dir": str(data)},
        "ble": {"transport": f"sim:127.0.0.1:{air_port}/{HUB_RADIO}"},
        "relay": {
            "broker": broker_url,
            "hub_id": "hbench0000a",
            "partner_hub_id": "hbench0000b",
            "couple_id": "cbench00001",
            "couple_key": "23d13173318a01a1d7b5006fc9de34ff161abe43c2bf97339fda1dfcae1fc46d",
            "password": "unused-anonymous-broker",
            "protocol": protocol,
        },
        "web": {"listen": "127.0.0.1", "port": web_port},
    }
    text = "\n".join(
        f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())
        for name, values in sections.items()
    )
    text += f'\n[[buttons]]\naddress = "{BUTTON}"\nkey = "{KEY.hex()}"\nowner = "Alex"\n'
    path.write_text(text, encoding="utf-8")


async def wait_healthy(
    client: httpx.AsyncClient, url: str, process: subprocess.Popen[bytes]
) -> dict[str, Any]:
    deadline = time.monotonic() + READY_BOUND_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited with {process.returncode} before it was ready")
        with contextlib.suppress(httpx.TransportError):
            body: dict[str, Any] = (await client.get(url, timeout=1)).json()
            if body["status"] == "ok":
                return body
        await asyncio.sleep(0.01)
    raise RuntimeError(f"the hub was not healthy within {READY_BOUND_S} s")


def adverts() -> tuple[list[tuple[str, bytes]], bytes]:
    rng = random.Random(7)
    strangers = [
        (
            "".join(f"{rng.randrange(256):02X}" if i % 3 != 2 else ":" for i in range(17)),
            service_data_advert({BTHOME_UUID: bytes([0x41]) + rng.randbytes(12)}),
        )
        for _ in range(STRANGERS)
    ]
    encrypt = Cipher(algorithms.AES(KEY), modes.ECB()).encryptor().update
    button = service_data_advert(
        {BTHOME_UUID: bthome.service_data(encrypt, command.mac_bytes(BUTTON), 1, 1, 90, bthome.EVENT_PRESS)}
    )
    return strangers, button


async def drive(air: AirServer, rate: float, seconds: float) -> int:
    """Inject ``rate`` adverts/s for ``seconds`` on a fixed beat; returns how many went out."""
    strangers, button = adverts()
    per_burst = rate * BURST_EVERY_S
    sent, owed, index = 0, 0.0, 0
    start = time.monotonic()
    beat = 0
    while (now := time.monotonic()) - start < seconds:
        owed += per_burst
        while owed >= 1:
            owed -= 1
            index += 1
            if index % round(1 / BUTTON_SHARE) == 0:
                ok = air.inject(HUB_RADIO, BUTTON, button, -55)
            else:
                address, data = strangers[index % STRANGERS]
                ok = air.inject(HUB_RADIO, address, data, -80)
            sent += ok
        beat += 1
        await asyncio.sleep(max(0.0, start + beat * BURST_EVERY_S - now))
    return sent


async def baseline(argv: list[str], workdir: Path, name: str, seconds: float) -> tuple[Sample, Sample]:
    with child(argv, workdir / f"{name}.log") as process:
        await asyncio.sleep(3.0)  # let the interpreter finish importing (the hub imports take ~1.5 s)
        first = sample(process.pid)
        await asyncio.sleep(seconds)
        return first, sample(process.pid)


async def run(idle_s: float, load_s: float, rate: float) -> list[list[object]]:
    with tempfile.TemporaryDirectory(prefix="heartline-footprint-") as tmp:
        workdir = Path(tmp)
        air = AirServer()
        air.place(HUB_RADIO, 0.0, 0.0)
        async with air, broker(workdir) as (broker_url, protocol, broker_name), httpx.AsyncClient() as client:
            web_port = free_port()
            config = workdir / "hub.toml"
            write_config(config, broker_url, protocol, air.port, web_port, workdir / "data")
            health_url = f"http://127.0.0.1:{web_port}/api/health"
            started = time.monotonic()
            argv = [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)]
            with child(argv, workdir / "hub.log") as hub:
                await wait_healthy(client, health_url, hub)
                ready_s = time.monotonic() - started
                await asyncio.sleep(2.0)  # settle: first flushes, presence ticks, relay session
                idle_start = sample(hub.pid)
                await asyncio.sleep(idle_s)
                idle_end = sample(hub.pid)
                before = (await client.get(health_url)).json()["adverts_seen"]
                load_start = sample(hub.pid)
                sent = await drive(air, rate, load_s)
                load_end = sample(hub.pid)
                await asyncio.sleep(0.5)
                seen = (await client.get(health_url)).json()["adverts_seen"] - before
                peak = sample(hub.pid).rss_mb
            print(f"broker: {broker_name}; adverts injected {sent}, seen by the hub {seen}", flush=True)
            sleep_argv = [sys.executable, "-c", f"import time; time.sleep({idle_s + 5})"]
            bare = await baseline(sleep_argv, workdir, "bare", idle_s)
            imports_argv = [sys.executable, "-c", f"{HUB_IMPORTS}; import time; time.sleep({idle_s + 5})"]
            imported = await baseline(imports_argv, workdir, "imports", idle_s)
    ok = "yes"
    no = "NO"
    idle_cpu = cpu_percent(idle_start, idle_end)
    load_cpu = cpu_percent(load_start, load_end)
    rss_goal = f"<= {GOAL_RSS_MB:g}"
    return [
        ["RSS at steady state (MB)", idle_end.rss_mb, bare[1].rss_mb, imported[1].rss_mb, rss_goal,
         ok if idle_end.rss_mb <= GOAL_RSS_MB else no],
        ["RSS after the advert load (MB)", peak, bare[1].rss_mb, imported[1].rss_mb, rss_goal,
         ok if peak <= GOAL_RSS_MB else no],
        [f"idle CPU over {idle_s:.0f} s (% of a core)", idle_cpu, cpu_percent(*bare), cpu_percent(*imported),
         f"<= {GOAL_IDLE_CPU_PCT:g}", ok if idle_cpu <= GOAL_IDLE_CPU_PCT else no],
        ["start to healthy /api/health (s)", ready_s, "-", "-", f"<= {GOAL_READY_S:g}",
         ok if ready_s <= GOAL_READY_S else no],
        [f"CPU at {sent / load_s:.0f} adverts/s (% of a core)", load_cpu, "-", "-", "report", "-"],
        ["CPU per advert (us)", 1e4 * load_cpu / max(sent / load_s, 1), "-", "-", "report", "-"],
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.footprint", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--idle-s", type=float, default=30.0, help="idle CPU window (default 30 s)")
    parser.add_argument("--load-s", type=float, default=20.0, help="advert load window (default 20 s)")
    parser.add_argument("--rate", type=float, default=200.0, help="adverts per second (default 200)")
    parser.add_argument("--quick", action="store_true", help="short windows (5 s idle, 5 s load)")
    args = parser.parse_args(argv)
    idle_s, load_s = (5.0, 5.0) if args.quick else (args.idle_s, args.load_s)
    print(
        f"hub footprint (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {sys.platform})", flush=True
    )
    rows = asyncio.run(run(idle_s, load_s, args.rate))
    print(table(["metric", "hub", "bare python", "python + hub imports", "goal", "met"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
