"""`heartline sim radio` as a real process, with two real `heartline hub` processes joined to it
on a real mosquitto: buttons made near each hub, paired by `heartline button pair`, and Alex's
touch felt on Sam's button."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE, Broker, free_ports
from tests.support.waiting import START_S, WAIT_S, eventually_async

# Three processes started and stopped, two pairings over the air.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

STOP_S = 20.0  # a SIGTERM'd process says goodbye in a few seconds; the bound is for a busy machine
PAIR_TIMEOUT_S = 60.0


@dataclass
class Radio:
    process: subprocess.Popen[str]
    control: str
    port: int


def start(args: list[str], log: IO[bytes] | int, *, stdout: int | IO[bytes] = subprocess.DEVNULL) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", *args],
        stdout=stdout,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=stdout == subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stop(process: subprocess.Popen[Any]) -> int:
    """SIGTERM by pid and wait; a process that will not stop is killed (and the test fails)."""
    if process.poll() is not None:
        return process.returncode
    os.kill(process.pid, signal.SIGTERM)
    try:
        return process.wait(STOP_S)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(STOP_S)
        raise


@pytest.fixture
def radio(tmp_path: Path) -> Iterator[Radio]:
    port, control = free_ports(2)
    with (tmp_path / "radio.log").open("wb") as log:
        process = start(
            [
                "sim",
                "radio",
                "--port",
                str(port),
                "--control-port",
                str(control),
                "--data-dir",
                str(tmp_path / "r"),
            ],
            log,
            stdout=subprocess.PIPE,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the one ready line, or "" if it died
        assert (
            line.strip() == f"simulated radio on 127.0.0.1:{port}, control on http://127.0.0.1:{control}"
        ), (tmp_path / "radio.log").read_text()
        yield Radio(process, f"http://127.0.0.1:{control}", port)
        assert stop(process) == 0, (tmp_path / "radio.log").read_text()
    finally:
        if process.poll() is None:
            stop(process)
        assert process.stdout is not None
        process.stdout.close()


def write_config(path: Path, *, index: int, broker: Broker, air: str, web_port: int, data_dir: Path) -> None:
    me, partner = ("Alex", "Sam") if index == 0 else ("Sam", "Alex")
    hub_id = COUPLE.hubs[index]
    sections: dict[str, dict[str, Any]] = {
        "hub": {"person": me, "partner": partner, "data_dir": str(data_dir)},
        "ble": {"transport": air},
        "relay": {
            "broker": f"mqtt://127.0.0.1:{broker.port}",
            "hub_id": hub_id,
            "partner_hub_id": COUPLE.hubs[1 - index],
            "couple_id": COUPLE.couple_id,
            "couple_key": COUPLE_KEY,
            "password": broker.password(hub_id),
        },
        "web": {"listen": "127.0.0.1", "port": web_port},
    }
    path.write_text(
        "\n".join(
            f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
            for name, values in sections.items()
        ),
        encoding="utf-8",
    )


@pytest.fixture
async def hubs(radio: Radio, mosquitto_broker: Broker, tmp_path: Path) -> AsyncIterator[list[str]]:
    """Alex's and Sam's hubs as real processes on the simulated radio, both reporting ok."""
    ports = free_ports(2)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index, name in enumerate(("alex-hub", "sam-hub")):
            config = tmp_path / f"{name}.toml"
            write_config(
                config,
                index=index,
                broker=mosquitto_broker,
                air=f"sim:127.0.0.1:{radio.port}/{name}",
                web_port=ports[index],
                data_dir=tmp_path / name,
            )
            with (tmp_path / f"{name}.log").open("wb") as log:
                processes.append(start(["hub", "--config", str(config)], log))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        async with httpx.AsyncClient() as client:
            for url in urls:

                async def healthy(url: str = url) -> bool:
                    try:
                        return bool((await client.get(f"{url}/api/health")).json()["status"] == "ok")
                    except httpx.TransportError:
                        return False

                await eventually_async(healthy, within_s=START_S, what=f"the hub at {url} to report ok")
        yield urls
    finally:
        codes = [stop(process) for process in processes]
        assert codes == [0, 0], [(tmp_path / f"{n}.log").read_text() for n in ("alex-hub", "sam-hub")]


def pair(owner: str, hub: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "button", "pair", "--owner", owner, "--hub", hub],
        capture_output=True,
        text=True,
        timeout=PAIR_TIMEOUT_S * 3,
        check=False,
    )


async def test_a_touch_on_alexs_simulated_button_is_felt_on_sams(radio: Radio, hubs: list[str]) -> None:
    alex_hub, sam_hub = hubs
    async with httpx.AsyncClient(base_url=radio.control, timeout=WAIT_S) as control:
        on_air = {h["name"]: h for h in (await control.get("/api/sim/hubs")).json()}
        assert on_air["ALEX-HUB"]["on_air"]
        assert on_air["SAM-HUB"]["on_air"]
        assert abs(on_air["ALEX-HUB"]["x_m"] - on_air["SAM-HUB"]["x_m"]) >= 10_000  # homes apart

        made = {}
        for owner, near in (("Alex", "alex-hub"), ("Sam", "sam-hub")):
            answer = await control.post("/api/sim/buttons", json={"near": near, "distance_m": 2})
            assert answer.status_code == 201, answer.text
            made[owner] = answer.json()
            assert (await control.get(f"/api/sim/buttons/{made[owner]['id']}")).json()["pairing"] == "open"

        for owner, hub in (("Alex", alex_hub), ("Sam", sam_hub)):
            paired = await asyncio.to_thread(pair, owner, hub)
            assert paired.returncode == 0, paired.stderr
            assert f"{made[owner]['address']} for {owner}" in paired.stdout

        alex, sam = made["Alex"]["id"], made["Sam"]["id"]
        for button_id in (alex, sam):
            state = (await control.get(f"/api/sim/buttons/{button_id}")).json()
            assert state["paired"], state
            assert [o["pattern"] for o in state["outputs"]] == ["felt_it"]  # the pairing's buzz

        pressed = await control.post(f"/api/sim/buttons/{alex}/press", json={"gesture": "tap"})
        assert pressed.status_code == 200, pressed.text

        async def sams_button_played() -> list[str] | None:
            outputs = (await control.get(f"/api/sim/buttons/{sam}")).json()["outputs"]
            patterns = [o["pattern"] for o in outputs]
            return patterns if len(patterns) > 1 else None

        patterns = await eventually_async(sams_button_played, what="Sam's button to play Alex's touch")
        assert patterns == ["felt_it", "thinking_of_you"]
        listed = (await control.get("/api/sim/buttons")).json()
        assert [(b["id"], b["near"]) for b in listed] == [(alex, "ALEX-HUB"), (sam, "SAM-HUB")]


async def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    busy, free = free_ports(2)
    holder = socket.socket()
    holder.bind(("127.0.0.1", busy))
    holder.listen()
    try:
        for args in (
            ["--port", str(busy), "--control-port", str(free)],
            ["--port", str(free), "--control-port", str(busy)],
        ):
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "hub.cli", "sim", "radio", *args],
                capture_output=True,
                text=True,
                timeout=START_S,
                check=False,
            )
            assert done.returncode == 2, done.stderr
            last = done.stderr.strip().splitlines()
            assert len(last) == 1, done.stderr
            assert last[0].startswith(f"heartline: port {busy} on 127.0.0.1 is not free"), done.stderr
            assert "Traceback" not in done.stderr
    finally:
        holder.close()
