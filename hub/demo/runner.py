"""Run the demo: air, broker, two hubs, two buttons and the dashboard, until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from firmware_sim.air.radio_model import RadioConditions
from firmware_sim.air.server import AirServer
from firmware_sim.button import SimButton
from firmware_sim.home import SimHome
from hub.app.builder import open_hub
from hub.demo.broker import EmbeddedBroker
from hub.demo.script import ScriptClock, play_day
from hub.demo.world import (
    BUTTON_ADDRESSES,
    BUTTON_DISTANCE_M,
    HOME_POSITIONS,
    HUB_RADIOS,
    PEOPLE,
    DemoIdentity,
    demo_hub_config,
)
from hub.errors import HeartlineError
from hub.server import web_server
from hub.tasks import stop_on_signals
from hub.web.demo_app import DemoHome, demo_app

_LOGGER = logging.getLogger(__name__)

# How long the demo waits for its own parts to come up before saying what is wrong.
START_TIMEOUT_S: Final = 20.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    broker: str | None = None
    notify: list[str] = field(default_factory=list)
    port: int = 8080
    speed: float = 60.0  # how fast the scripted day plays (the hubs and buttons run in real time)
    script: bool = False  # play a scripted day of the couple's life, over and over
    data_dir: Path | None = None
    # The MQTT version the hubs speak to --broker (auto: MQTT 5, 3.1.1 if the broker refuses it).
    protocol: str = "auto"


async def run_demo(options: DemoOptions, *, started: asyncio.Event | None = None) -> None:
    with contextlib.ExitStack() as stack:
        data_dir = options.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="heartline-demo-"))
        )
        await _run(options, data_dir, started)


async def _run(options: DemoOptions, data_dir: Path, started: asyncio.Event | None) -> None:
    _check_port_free(options.port)
    identity = DemoIdentity.load_or_create(data_dir)
    async with contextlib.AsyncExitStack() as stack:
        stop = stack.enter_context(stop_on_signals())
        broker_url = options.broker
        if broker_url is None:
            broker = EmbeddedBroker()
            await broker.start()
            stack.push_async_callback(broker.stop)
            broker_url = broker.url
        air = AirServer(RadioConditions(noise_sigma_db=3.0))
        for home_id, radio in HUB_RADIOS.items():
            air.place(radio, *HOME_POSITIONS[home_id])
        await stack.enter_async_context(air)
        script_clock = ScriptClock()  # the felt-it window on the scripted day's clock (hub.demo.script)
        homes = await _populate(
            options, identity, data_dir, air, broker_url=broker_url, stack=stack, clock=script_clock
        )
        web = web_server(demo_app(homes), "127.0.0.1", options.port)
        async with asyncio.TaskGroup() as group:
            tasks: list[asyncio.Task[None]] = []
            web_task = group.create_task(web.serve(), name="web")
            async with asyncio.timeout(START_TIMEOUT_S):
                while not web.started:  # noqa: ASYNC110 - uvicorn offers no event for "listening"
                    await asyncio.sleep(0.05)
            print(
                f"Heartline demo running: open http://127.0.0.1:{options.port}  (Ctrl-C stops it)", flush=True
            )
            if started is not None:
                started.set()
            if options.script:
                tasks.append(group.create_task(_play_days(homes, options.speed, script_clock), name="script"))
            await stop.wait()
            _LOGGER.info("stopping the demo")
            web.should_exit = True
            await web_task
            for task in tasks:
                task.cancel()


async def _play_days(homes: dict[str, DemoHome], speed: float, clock: ScriptClock) -> None:
    """One scripted day after another until the demo stops (this task is cancelled with the rest)."""
    sims = {home_id: home.sim for home_id, home in homes.items()}
    names = {home_id: home.hub.config.hub.person for home_id, home in homes.items()}
    while True:
        await play_day(
            sims,
            speed,
            names=names,
            on_beat=lambda beat: print(f"script: {beat.text}", flush=True),
            clock=clock,
        )


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as ex:
            raise HeartlineError(
                f"port {port} on 127.0.0.1 is in use ({ex.strerror}); pass --port with a free one"
            ) from ex


async def _populate(
    options: DemoOptions,
    identity: DemoIdentity,
    data_dir: Path,
    air: AirServer,
    *,
    broker_url: str,
    stack: contextlib.AsyncExitStack,
    clock: ScriptClock,
) -> dict[str, DemoHome]:
    """A running hub and a started button per home; all stop when ``stack`` closes."""
    homes: dict[str, DemoHome] = {}
    for home in PEOPLE:
        x, y = HOME_POSITIONS[home]
        button = SimButton(
            air=air.address,
            address=BUTTON_ADDRESSES[home],
            key=bytes.fromhex(identity.button_keys[home]),
            x=x + BUTTON_DISTANCE_M,
            y=y,
            state_dir=data_dir / home / "button",
            speed=1.0,  # firmware timing stays real: sped-up touch traces are not gestures any more
        )
        await stack.enter_async_context(button)
        hub = await stack.enter_async_context(
            open_hub(
                demo_hub_config(
                    home,
                    identity,
                    broker_url=broker_url,
                    air_port=air.port,
                    data_dir=data_dir,
                    notify=options.notify,
                    protocol=options.protocol,
                ),
                windows_clock=clock,
            )
        )
        sim = SimHome(
            name=home,
            air=air,
            hub_radio=HUB_RADIOS[home],
            position=(x, y),
            buttons={f"{home}-button": button},
            homes=dict(HOME_POSITIONS),
        )
        homes[home] = DemoHome(hub=hub, sim=sim)
    return homes
