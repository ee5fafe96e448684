"""The one-time invite with real `heartline` processes over the relay `broker setup` wrote: the
partner's hub joined from the code exchanges signals with the first hub; a second device joined
from the very same code file is refused its hello, and neither its signals reach the first hub
nor the first hub's reach it."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from firmware_sim.air.server import AirServer
from tests.e2e.test_first_evening import _first_evening, _relay_setup, evening, ok
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import START_S, WAIT_S, eventually_async

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
__all__ = ["evening"]  # the first evening's directory fixture, shared


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer()
    async with server:
        yield server


def _start(config: Path) -> subprocess.Popen[bytes]:
    log = (config.parent / "hub.log").open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


async def _get(client: httpx.AsyncClient, port: int, path: str) -> Any:
    try:
        return (await client.get(f"http://127.0.0.1:{port}{path}")).json()
    except httpx.TransportError:
        return None


def _log(config: Path) -> str:
    return (config.parent / "hub.log").read_text(encoding="utf-8", errors="replace")


def _received(signals: Any) -> list[str]:
    return [s["id"] for s in signals or [] if s["direction"] == "received"]


async def test_a_second_device_with_the_same_code_is_shut_out(
    mosquitto_binary: Path, evening: Path, air: AirServer
) -> None:
    ports = free_ports(3)
    homes = _first_evening(evening, air_port=air.port, web_ports=(ports[0], ports[1]))
    second = evening / "second"
    second.mkdir()
    shutil.copy(homes.alex.parent / "invite.txt", second)
    ok(
        "couple", "join", "@invite.txt", "--yes", "--config", str(second / "hub.toml"),
        "--data-dir", str(second / "data"), "--transport", f"sim:127.0.0.1:{air.port}/second",
        "--web-port", str(ports[2]), cwd=second,
    )  # fmt: skip
    assert "ok" in ok("config", "check", str(second / "hub.toml"))
    broker = Broker.from_setup(mosquitto_binary, _relay_setup(homes.relay, homes))
    broker.start()
    # The inviting hub is on the relay first, as it is in life (its session holds what arrives
    # while it is away); a hello published before it ever subscribed would wait for a resend.
    processes = [_start(homes.alex)]
    alex, sam, other = ports
    try:
        async with httpx.AsyncClient() as client:

            async def when(port: int, path: str, test: Callable[[Any], bool]) -> Any:
                body = await _get(client, port, path)
                return body if body is not None and test(body) else None

            # Sam's hub joined: a touch from each side arrives at the other.
            def connected(health: Any) -> bool:
                return str(health["relay"]).startswith("connected")

            for port in (alex, sam):
                await eventually_async(
                    functools.partial(when, port, "/api/health", connected),
                    within_s=START_S, what=f"the hub on {port} connected",
                )  # fmt: skip
                if port == alex:
                    processes.append(_start(homes.sam))
            await eventually_async(
                lambda: when(sam, "/api/health", lambda _: "accepted our hello" in _log(homes.sam)),
                within_s=WAIT_S, what="Sam's hello accepted",
            )  # fmt: skip
            sent = (await client.post(f"http://127.0.0.1:{sam}/api/signals", json={})).json()
            await eventually_async(
                lambda: when(alex, "/api/signals", lambda s: sent["id"] in _received(s)),
                within_s=WAIT_S * 2, what="Sam's touch at the first hub",
            )  # fmt: skip
            _stop(processes.pop())  # Sam's hub stops; the second device starts with the same login
            processes.append(_start(second / "hub.toml"))
            await eventually_async(
                lambda: when(alex, "/api/health", lambda h: h["rejected"].get("relay_invite_reused")),
                within_s=START_S, what="the second device's hello refused",
            )  # fmt: skip
            before = _received(await _get(client, alex, "/api/signals"))
            await client.post(f"http://127.0.0.1:{other}/api/signals", json={})
            await eventually_async(
                lambda: when(alex, "/api/health", lambda h: h["rejected"].get("relay_bad_key_or_tampered")),
                within_s=WAIT_S, what="the second device's touch refused",
            )  # fmt: skip
            assert _received(await _get(client, alex, "/api/signals")) == before
            await client.post(f"http://127.0.0.1:{alex}/api/signals", json={})
            await eventually_async(
                lambda: when(other, "/api/health", lambda h: h["rejected"].get("relay_bad_key_or_tampered")),
                within_s=WAIT_S, what="the first hub's touch unreadable on the second device",
            )  # fmt: skip
            assert _received(await _get(client, other, "/api/signals")) == []
    finally:
        for process in processes:
            _stop(process)
        broker.stop()
