"""Run the demo: air, broker, two hubs, two buttons and the dashboard, until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import uvicorn

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.home import SimHome
from hub.daemon import Hub
from hub.demo.broker import EmbeddedBroker
from hub.demo.world import (
    BUTTON_ADDRESSES,
    BUTTON_DISTANCE_M,
    HOME_POSITIONS,
    HUB_RADIOS,
    PEOPLE,
    DemoIdentity,
    demo_hub_config,
)
from hub.web.demo_app import DemoHome, demo_app

_LOGGER = logging.getLogger(__name__)

# How long the demo waits for its own parts to come up before saying what is wrong.
START_TIMEOUT_S: Final = 20.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    broker: str | None = None
    notify: list[str] = field(default_factory=list)
    port: int = 8080
    speed: float = 1.0
    data_dir: Path | None = None


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]  # noqa: ANN202 - uvicorn's signature
        yield  # the demo owns SIGINT/SIGTERM and stops uvicorn itself


async def run_demo(options: DemoOptions, *, started: asyncio.Event | None = None) -> None:
    with contextlib.ExitStack() as stack:
        data_dir = options.data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="heartline-demo-")))
        await _run(options, data_dir, started)


async def _run(options: DemoOptions, data_dir: Path, started: asyncio.Event | None) -> None:
    identity = DemoIdentity.load_or_create(data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    broker = EmbeddedBroker() if options.broker is None else None
    air = AirServer(RadioConditions(noise_sigma_db=3.0))
    for home, radio in HUB_RADIOS.items():
        air.place(radio, *HOME_POSITIONS[home])
    try:
        if broker is not None:
            await broker.start()
        broker_url = options.broker or (broker.url if broker else "")
        await air.start()
        hubs: dict[str, Hub] = {}
        homes: dict[str, DemoHome] = {}
        buttons: list[SimButton] = []
        for home in PEOPLE:
            x, y = HOME_POSITIONS[home]
            button = SimButton(
                air=air.address,
                address=BUTTON_ADDRESSES[home],
                key=bytes.fromhex(identity.button_keys[home]),
                x=x + BUTTON_DISTANCE_M,
                y=y,
                state_dir=data_dir / home / "button",
                speed=options.speed,
            )
            await button.start()
            buttons.append(button)
            hubs[home] = Hub(
                demo_hub_config(
                    home,
                    identity,
                    broker_url=broker_url,
                    air_port=air.port,
                    data_dir=data_dir,
                    notify=options.notify,
                ),
            )
            sim = SimHome(name=home, air=air, hub_radio=HUB_RADIOS[home], position=(x, y), buttons={f"{home}-button": button})
            homes[home] = DemoHome(hub=hubs[home], sim=sim)
        web = _Server(
            uvicorn.Config(demo_app(homes), host="127.0.0.1", port=options.port, log_config=None, lifespan="off"),
        )
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(hub.run(), name=f"hub-{home}") for home, hub in hubs.items()]
            tasks.append(group.create_task(web.serve(), name="web"))
            async with asyncio.timeout(START_TIMEOUT_S):
                for hub in hubs.values():
                    await hub.ready.wait()
                while not web.started:
                    await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{options.port}"
            print(f"Heartline demo running: open {url}  (Ctrl-C stops it)", file=sys.stderr, flush=True)  # noqa: T201
            if started is not None:
                started.set()
            await stop.wait()
            _LOGGER.info("stopping the demo")
            web.should_exit = True
            for task in tasks[:-1]:
                task.cancel()
        for button in buttons:
            await button.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await air.stop()
        if broker is not None:
            await broker.stop()
