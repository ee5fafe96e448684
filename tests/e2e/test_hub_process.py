"""`heartline hub` as systemd runs it: a real process with a notify socket and a watchdog,
against the real mosquitto broker; SIGTERM by pid must end in a clean, bounded goodbye."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_sim.air.server import AirServer
from hub.broker.config import STATUS_OFFLINE, STATUS_ONLINE, status_topic
from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE, Broker, free_ports
from tests.support.waiting import START_S, WAIT_S

HUB_RADIO = "B8:27:EB:00:00:0A"
START_BOUND_S = START_S
STOP_BOUND_S = 5.0  # the goal: SIGTERM to exit in a few seconds, offline status included

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]  # a real hub process, started and stopped


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer()
    server.place(HUB_RADIO, 0.0, 0.0)
    async with server:
        yield server


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.2)
    yield sock
    sock.close()


def _messages(sock: socket.socket) -> list[str]:
    lines: list[str] = []
    while True:
        try:
            lines.extend(sock.recv(4096).decode().splitlines())
        except TimeoutError:
            return lines


def _write_config(path: Path, broker: Broker, air_port: int, web_port: int, data_dir: Path) -> None:
    hub_id = COUPLE.hubs[0]
    sections: dict[str, dict[str, Any]] = {
        "hub": {"person": "Alex", "partner": "Sam", "data_dir": str(data_dir)},
        "ble": {"transport": f"sim:127.0.0.1:{air_port}/{HUB_RADIO}"},
        "relay": {
            # TLS with the relay's own CA, as on a real Pi.
            "broker": f"mqtts://{broker.tls_host}:{broker.tls_port}",
            "ca_file": str(broker.ca_path),
            "hub_id": hub_id,
            "partner_hub_id": COUPLE.hubs[1],
            "couple_id": COUPLE.couple_id,
            "couple_key": COUPLE_KEY,
            "password": broker.password(hub_id),
        },
        "web": {"listen": "127.0.0.1", "port": web_port},
    }
    text = "\n".join(
        f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
        for name, values in sections.items()
    )
    path.write_text(text, encoding="utf-8")


class StatusWatcher:
    """A subscriber on the hub's status topic (it may read it: the partner hub's login)."""

    def __init__(self, broker: Broker, topic: str) -> None:
        self.seen: list[tuple[str, bool]] = []
        partner = COUPLE.hubs[1]
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{partner}w")
        self.client.username_pw_set(partner, broker.password(partner))
        self.client.on_message = lambda _c, _u, m: self.seen.append((m.payload.decode(), bool(m.retain)))
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _until(check: Any, within_s: float, what: str) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within_s} s waiting for {what}")


async def test_sigterm_exits_cleanly_with_offline_status_and_systemd_notifications(
    mosquitto_broker: Broker, air: AirServer, notify_socket: socket.socket, tmp_path: Path
) -> None:
    (web_port,) = free_ports(1)
    config = tmp_path / "hub.toml"
    _write_config(config, mosquitto_broker, air.port, web_port, tmp_path / "data")
    env = {
        **os.environ,
        "NOTIFY_SOCKET": notify_socket.getsockname(),
        "WATCHDOG_USEC": "400000",  # a ping every 0.2 s, so the test sees several
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: ASYNC220 - started once; the waits below are bounded
            [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    watcher: StatusWatcher | None = None
    try:
        async with httpx.AsyncClient() as client:

            async def healthy() -> dict[str, Any] | None:
                try:
                    body: dict[str, Any] = (
                        await client.get(f"http://127.0.0.1:{web_port}/api/health")
                    ).json()
                except httpx.TransportError:
                    return None
                return body if body["status"] == "ok" else None

            await _until(healthy, START_BOUND_S, "the hub to report ok on /api/health")
        watcher = StatusWatcher(mosquitto_broker, status_topic(COUPLE.couple_id, COUPLE.hubs[0]))
        await _until(
            lambda: asyncio.sleep(0, (STATUS_ONLINE, True) in watcher.seen),
            WAIT_S,
            "the retained online status",
        )
        started: list[str] = []

        def pinged() -> bool:
            started.extend(_messages(notify_socket))
            status = any(line.startswith("STATUS=ble ok; relay connected") for line in started)
            return status and started.count("WATCHDOG=1") >= 2

        await _until(lambda: asyncio.sleep(0, pinged()), WAIT_S, "several watchdog pings and the status")
        assert "READY=1" in started
        assert started.count("WATCHDOG=1") >= 2, started
        assert any(line.startswith("STATUS=ble ok; relay connected") for line in started), started

        stop_sent = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, STOP_BOUND_S)
        took = time.monotonic() - stop_sent
        assert code == 0, log.read_text()
        assert took < STOP_BOUND_S
        assert "STOPPING=1" in _messages(notify_socket)
        await _until(
            lambda: asyncio.sleep(0, (STATUS_OFFLINE, False) in watcher.seen), WAIT_S, "the offline status"
        )
    finally:
        if watcher is not None:
            watcher.stop()
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # A new subscriber is told at once that the hub is offline: the status is retained.
    late = StatusWatcher(mosquitto_broker, status_topic(COUPLE.couple_id, COUPLE.hubs[0]))
    try:
        await _until(lambda: asyncio.sleep(0, late.seen), WAIT_S, "the retained status")
        assert late.seen == [(STATUS_OFFLINE, True)]
    finally:
        late.stop()
