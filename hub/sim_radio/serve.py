"""``heartline sim radio``: the simulated air on one port, its HTTP controls on another.

Real ``heartline hub`` processes join the air with ``[ble] transport = "sim:127.0.0.1:PORT/NAME"``;
the controls (``hub.web.sim_api.sim_world_router``) make buttons near a hub, press them, move
them and read what they played. It runs until SIGINT or SIGTERM, then stops the web app, the
buttons and the air, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fastapi import FastAPI

from hub.config import WebSection
from hub.errors import HeartlineError
from hub.server import web_server
from hub.sim_radio.world import SimWorld
from hub.tasks import stop_on_signals
from hub.web.allow import AllowHeader
from hub.web.auth import AccessControl
from hub.web.sim_api import sim_world_router

_LOGGER = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"  # the simulator is a development tool: loopback only, no login
DEFAULT_PORT: Final = 7000
DEFAULT_CONTROL_PORT: Final = 7001
# uvicorn starts in milliseconds on an idle machine; a busy one gets far more.
START_TIMEOUT_S: Final = 30.0
READY_POLL_S: Final = 0.05


@dataclass(frozen=True, slots=True)
class RadioOptions:
    port: int = DEFAULT_PORT  # the air (0: any free port)
    control_port: int = DEFAULT_CONTROL_PORT  # the HTTP controls (0: any free port)
    data_dir: Path | None = None  # where buttons keep their flash (None: a temporary dir)


def control_app(world: SimWorld) -> FastAPI:
    app = FastAPI(
        title="Heartline simulated radio",
        version="0.1.0",
        description="Buttons on a simulated radio that real hubs join; see /docs.",
    )
    app.include_router(sim_world_router(world))
    app.add_middleware(AllowHeader)
    # Loopback only: no login, but a foreign Host (DNS rebinding) or a cross-site write is refused.
    app.add_middleware(AccessControl, settings=WebSection())
    return app


async def serve_radio(options: RadioOptions, *, started: asyncio.Event | None = None) -> None:
    """Run the world until SIGINT/SIGTERM. HeartlineError (one line) when a port is taken."""
    with contextlib.ExitStack() as stack:
        data_dir = options.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="heartline-radio-"))
        )
        stop = stack.enter_context(stop_on_signals())
        control = stack.enter_context(_listening(options.control_port, "--control-port"))
        world = SimWorld(data_dir)
        try:
            await world.start(options.port)
        except OSError as ex:
            raise _port_taken(options.port, "--port", ex) from ex
        try:
            await _serve(world, control, stop, started)
        finally:
            await world.stop()


async def _serve(
    world: SimWorld, control: socket.socket, stop: asyncio.Event, started: asyncio.Event | None
) -> None:
    control_port = control.getsockname()[1]
    web = web_server(control_app(world), HOST, control_port)
    async with asyncio.TaskGroup() as group:
        web_task = group.create_task(web.serve(sockets=[control]), name="sim-radio-web")
        async with asyncio.timeout(START_TIMEOUT_S):
            while not web.started:  # noqa: ASYNC110 - uvicorn offers no event for "listening"
                await asyncio.sleep(READY_POLL_S)
        ready = f"simulated radio on {HOST}:{world.port}, control on http://{HOST}:{control_port}"
        print(ready, flush=True)  # noqa: T201 - the one line whoever started it waits for
        if started is not None:
            started.set()
        await stop.wait()
        _LOGGER.info("stopping the simulated radio")
        web.should_exit = True
        await web_task


@contextlib.contextmanager
def _listening(port: int, option: str) -> Iterator[socket.socket]:
    """The control port, bound before anything starts, so a taken one is one clear line."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as ex:
        sock.close()
        raise _port_taken(port, option, ex) from ex
    try:
        yield sock
    finally:
        sock.close()


def _port_taken(port: int, option: str, ex: OSError) -> HeartlineError:
    reason = ex.strerror or str(ex)
    return HeartlineError(f"port {port} on {HOST} is not free ({reason}); pass {option} with a free one")
