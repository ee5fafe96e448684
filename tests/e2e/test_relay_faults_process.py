"""A real hub process (``python -m hub.cli hub --config X``) SIGKILLed by its pid mid-message.

Home A is the real daemon in its own process, with its web API and a simulated radio; home B
is the in-process relay stack with a recording person. A signal is sent through A's API, A is
killed at the worst moment, started again on the same data dir, and B must show it once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.server import AirServer
from tests.relay.node import COUPLE_KEY, RelayNode, node_config
from tests.support.mosquitto import COUPLE, Broker, free_ports
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import START_S, WAIT_S, eventually

HUB_RADIO = "B8:27:EB:00:00:0A"

# A hub process started three times (each start imports the whole hub: seconds on a busy machine).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _toml(config: dict[str, dict[str, Any]]) -> str:
    lines: list[str] = []
    for section, values in config.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


class HubProcess:
    """`heartline hub` as a child process, always signalled by its own pid."""

    def __init__(self, config_path: Path, port: int, log: Path) -> None:
        self.config_path = config_path
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "hub", "--config", str(self.config_path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer()
    server.place(HUB_RADIO, 0.0, 0.0)
    async with server:
        yield server


@pytest.fixture
def hub_a(mosquitto_broker: Broker, tmp_path: Path) -> Iterator[HubProcess]:
    (web_port,) = free_ports(1)
    process = HubProcess(tmp_path / "a.toml", web_port, tmp_path / "a.log")
    try:
        yield process
    finally:
        process.stop()


def _write_config(hub: HubProcess, broker_port: int, air_port: int, broker: Broker, data_dir: Path) -> None:
    hub_id = COUPLE.hubs[0]
    hub.config_path.write_text(
        _toml(
            {
                "hub": {"person": "Alex", "partner": "Sam", "data_dir": str(data_dir)},
                "ble": {"transport": f"sim:127.0.0.1:{air_port}/{HUB_RADIO}"},
                "relay": {
                    "broker": f"mqtt://127.0.0.1:{broker_port}",
                    "hub_id": hub_id,
                    "partner_hub_id": COUPLE.hubs[1],
                    "couple_id": COUPLE.couple_id,
                    "couple_key": COUPLE_KEY,
                    "password": broker.password(hub_id),
                    "keepalive_s": 5,
                },
                "web": {"port": hub.port},
            }
        ),
        encoding="utf-8",
    )


async def _health(client: httpx.AsyncClient, hub: HubProcess) -> dict[str, Any] | None:
    try:
        response = await client.get(hub.url("/api/health"), timeout=WAIT_S)
    except httpx.TransportError:
        return None
    body: dict[str, Any] = response.json()
    return body


async def _connected(client: httpx.AsyncClient, hub: HubProcess) -> bool:
    health = await _health(client, hub)
    return health is not None and health["relay"] == "connected"


async def _until(check: Callable[[], Awaitable[bool]], within_s: float, what: str) -> None:
    """Poll an HTTP API (another process: there is no event to wait on) within a bound."""
    try:
        async with asyncio.timeout(within_s):
            while not await check():  # noqa: ASYNC110 - the state lives in another process
                await asyncio.sleep(0.05)
    except TimeoutError as ex:
        raise AssertionError(f"timed out after {within_s} s waiting for {what}") from ex


async def _poll_connected(client: httpx.AsyncClient, hub: HubProcess) -> None:
    await _until(lambda: _connected(client, hub), START_S, "the hub process to connect")


async def test_hub_process_killed_between_publish_and_confirm(
    mosquitto_broker: Broker, air: AirServer, hub_a: HubProcess, tmp_path: Path
) -> None:
    b = RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b"))
    await b.start()
    async with TcpProxy(mosquitto_broker.port) as proxy, httpx.AsyncClient() as client:
        _write_config(hub_a, proxy.port, air.port, mosquitto_broker, tmp_path / "a")
        hub_a.start()
        await _poll_connected(client, hub_a)
        # The path goes silent: A commits and publishes, the PUBACK can never come back.
        proxy.blackhole()
        response = await client.post(hub_a.url("/api/signals"), json={"kind": "thinking_of_you"})
        assert response.status_code == 201
        first = response.json()["id"]
        health = await _health(client, hub_a)
        assert health is not None
        assert health["outbox"] == 1
        hub_a.kill()  # SIGKILL by pid: no goodbye, nothing flushed
        proxy.heal()
        assert b.person.shown == []
        hub_a.start()  # same data dir: the outbox survived and is published again
        await eventually(lambda: b.person.shown == [first], within_s=START_S, what="B to get the signal once")

        # Killed after the broker confirmed but before the partner's receipt: B is away.
        await b.stop()
        await _poll_connected(client, hub_a)
        response = await client.post(hub_a.url("/api/signals"), json={"kind": "celebrate"})
        second = response.json()["id"]

        async def confirmed() -> bool:
            signals = (await client.get(hub_a.url("/api/signals"))).json()
            return any(s["id"] == second and s["fate"] == "sent" for s in signals)

        await _until(confirmed, WAIT_S, "the broker to confirm the second signal")
        hub_a.kill()
        b2 = b.reborn()
        await b2.start()
        hub_a.start()
        await eventually(
            lambda: b2.person.shown == [first, second], within_s=START_S, what="the second, once"
        )

        async def settled() -> bool:
            if not await _connected(client, hub_a):
                return False
            signals = (await client.get(hub_a.url("/api/signals"))).json()
            return all(s["fate"] == "delivered" for s in signals) and len(signals) == 2

        await _until(settled, WAIT_S, "A to learn both were delivered")
        assert b2.person.duplicates() == {}
        await b2.stop()
