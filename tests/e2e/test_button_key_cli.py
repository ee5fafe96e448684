"""``heartline button key --show ID`` against a real ``heartline hub`` process, as
docs/home-assistant.md shows it: it asks for the id again, refuses a wrong answer, and the key it
prints decodes that button's real advert with bthome-ble's parser, the library Home Assistant's
BTHome integration uses."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from tests.device.vectors import REPO, decode
from tests.support.homes import BUTTON_A, HOME_A, HUB_RADIO_A
from tests.support.hub_process import HubButton, HubProcess, HubSpec, hub_process
from tests.support.mosquitto import Broker, free_ports

# A hub process, a broker, the air and a button running the real firmware.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ADDRESS, KEY = BUTTON_A
GUIDE: Final = REPO / "docs" / "home-assistant.md"
PROMPT: Final = (
    "This prints the key that decrypts Alex's button's touches; anyone with it can read them. "
    "Type the button id again to show it:"
)


async def heartline(*args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, ``answer`` typed on its stdin."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub.cli", *args],
        input=answer,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def documented_commands() -> list[list[str]]:
    """The "Get the bindkey" commands of docs/home-assistant.md, comments dropped."""
    section = GUIDE.read_text(encoding="utf-8").split("### Get the bindkey", 1)[1].split("###", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line, comments=True) for line in block.strip().splitlines()]


@pytest.fixture
async def air() -> AsyncIterator[AirServer]:
    server = AirServer(RadioConditions(noise_sigma_db=2.0))
    server.place(HUB_RADIO_A, *HOME_A)
    async with server:
        yield server


@pytest.fixture
async def hub(mosquitto_broker: Broker, air: AirServer, tmp_path: Path) -> AsyncIterator[HubProcess]:
    (port,) = free_ports(1)
    spec = HubSpec("Alex", "Sam", 0, HUB_RADIO_A, port, (HubButton(ADDRESS, KEY, "Alex"),))
    async with hub_process(
        spec, broker=mosquitto_broker, air_port=air.port, workdir=tmp_path / "hub"
    ) as running:
        yield running


async def button_id(hub: HubProcess) -> int:
    listed = await heartline("button", "list", "--json", "--hub", hub.url)
    (button,) = [b for b in json.loads(listed.stdout) if b["address"] == ADDRESS]
    return int(button["id"])


async def test_the_printed_key_decodes_the_buttons_real_advert(
    hub: HubProcess, air: AirServer, tmp_path: Path
) -> None:
    listing, show = documented_commands()
    assert listing == ["heartline", "button", "list"]
    assert show[:3] == ["heartline", "button", "key"]
    ident = await button_id(hub)
    listed = await heartline(*listing[1:], "--hub", hub.url)
    assert listed.stdout.splitlines()[1].split()[0] == str(ident)  # "the id is the first column"
    shown = await heartline(*show[1:], "--hub", hub.url, answer=f"{ident}\n")  # the hub's own id: 1
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.strip() == PROMPT
    printed = shown.stdout.strip()
    assert shown.stdout == printed + "\n"  # the key alone on stdout: `key=$(heartline ...)` works
    assert len(printed) == 32

    async with SimButton(
        air=air.address, address=ADDRESS, key=KEY, x=HOME_A[0] + 2, y=HOME_A[1], state_dir=tmp_path / "button"
    ) as button:
        await button.press("double_tap")
        advert = button.adverts[-1]
    assert decode(ADDRESS, advert, bytes.fromhex(printed))["verified"] is True
    assert decode(ADDRESS, advert, bytes.fromhex(printed))["event"] == "double_press"
    assert decode(ADDRESS, advert, bytes(16))["verified"] is False  # it is the key that decodes it

    assert printed not in hub.log_text()  # shown once, to the user, and never logged


async def test_a_wrong_answer_shows_nothing(hub: HubProcess) -> None:
    ident = await button_id(hub)
    for answer in (f"{ident + 1}\n", "yes\n", "\n", ""):  # "" is a closed stdin
        refused = await heartline("button", "key", "--show", str(ident), "--hub", hub.url, answer=answer)
        assert refused.returncode == 1
        assert refused.stdout == ""
        assert refused.stderr.strip().splitlines() == [PROMPT + " The key was not shown."]
        assert KEY.hex() not in refused.stdout + refused.stderr


async def test_yes_prints_it_for_a_script_and_a_missing_button_gets_one_line(hub: HubProcess) -> None:
    ident = await button_id(hub)
    scripted = await heartline("button", "key", "--show", str(ident), "--yes", "--hub", hub.url)
    assert scripted.returncode == 0, scripted.stderr
    assert scripted.stdout == KEY.hex() + "\n"
    assert scripted.stderr == ""

    missing = await heartline("button", "key", "--show", "99", "--yes", "--hub", hub.url)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "heartline: no button with id 99; see `heartline button list`"
