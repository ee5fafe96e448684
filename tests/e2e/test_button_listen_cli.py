"""``heartline button listen ID --every SECONDS`` against a real ``heartline hub`` process, as
docs/troubleshooting.md shows it: a sleepy wearable running the real firmware takes the new period
in its next window, and ``heartline button list --json`` then gives it; a period no wearable takes
is one line and exit status 2, before the hub is asked."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from tests.device.vectors import REPO
from tests.support.homes import HOME_A, HUB_RADIO_A
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports
from tests.support.waiting import eventually_async

# A hub process, a broker, the air and a wearable running the real firmware.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

WEARABLE: Final = "54:48:E6:8F:80:C7"
KEY: Final = bytes.fromhex("8c1f2e3d4a5b6c7d8e9fa0b1c2d3e4f5")
PERIOD_S: Final = 10  # the shortest: its next window comes soon in real time
GUIDE: Final = REPO / "docs" / "troubleshooting.md"


async def heartline(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def documented_command() -> list[str]:
    """The one ``heartline button listen`` line of docs/troubleshooting.md."""
    lines = [line.strip() for line in GUIDE.read_text(encoding="utf-8").splitlines()]
    (line,) = [line for line in lines if line.startswith("heartline button listen")]
    return shlex.split(line)


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO_A, *HOME_A)
    async with server:
        yield server


@pytest.fixture
async def hub(mosquitto_broker: Broker, air: AirServer, tmp_path: Path) -> AsyncIterator[HubProcess]:
    (port,) = free_ports(1)
    spec = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, port, (HubButton(WEARABLE, KEY, "Alex"),))
    async with hub_process(
        spec, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "hub"
    ) as running:
        yield running


async def listed(hub: HubProcess) -> dict[str, Any]:
    answer = await heartline("button", "list", "--json", "--hub", hub.url)
    (button,) = [b for b in json.loads(answer.stdout) if b["address"] == WEARABLE]
    return dict(button)


async def test_the_documented_command_gives_the_wearable_its_new_period(
    hub: HubProcess, air: AirServer, tmp_path: Path
) -> None:
    argv = documented_command()
    assert argv[:3] == ["heartline", "button", "listen"]
    assert argv[4:] == ["--every", "300"]
    async with SimButton(
        air=air.address,
        address=WEARABLE,
        key=KEY,
        state_dir=tmp_path / "wearable",
        x=HOME_A[0] + 2.0,
        y=HOME_A[1],
        power_mode="wearable",
        listen_period_s=PERIOD_S,
    ) as wearable:

        async def heard() -> bool:
            return bool((await listed(hub))["listen_period_s"] == PERIOD_S)

        await eventually_async(heard, what="the wearable's listen period in `heartline button list`")
        ident = str((await listed(hub))["id"])
        done = await heartline(*argv[1:3], ident, *argv[4:], "--hub", hub.url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1].startswith(f"button {ident} now listens every 300 s")
        assert (await listed(hub))["listen_period_s"] == 300
        await wearable.wait_for_deep_sleep()
        assert (tmp_path / "wearable" / "power").read_bytes() == b"wearable 300"

        wrong = await heartline(*argv[1:3], ident, "--every", "5", "--hub", hub.url)
        assert wrong.returncode == 2
        assert (
            wrong.stderr.strip().splitlines()[-1].endswith("must be whole seconds from 10 to 3600, not '5'")
        )
