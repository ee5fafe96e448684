"""Run one hub with its web app in a single event loop (``heartline hub``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Final

import uvicorn

from hub.config import HubConfig
from hub.daemon import Hub
from hub.web.api import hub_app

_LOGGER = logging.getLogger(__name__)

# uvicorn's own graceful shutdown waits this long for open requests (SSE streams end at once).
WEB_SHUTDOWN_S: Final = 3


class EmbeddedWebServer(uvicorn.Server):
    """uvicorn inside our event loop: the caller owns SIGINT/SIGTERM and stops it itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def web_server(app: object, host: str, port: int) -> EmbeddedWebServer:
    return EmbeddedWebServer(
        uvicorn.Config(
            app,  # type: ignore[arg-type]  # any ASGI app
            host=host,
            port=port,
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=WEB_SHUTDOWN_S,
        ),
    )


async def serve_hub(config: HubConfig) -> None:
    hub = Hub(config)
    web = web_server(hub_app(hub), config.web.listen, config.web.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with asyncio.TaskGroup() as group:
        hub_task = group.create_task(hub.run(), name="hub")
        web_task = group.create_task(web.serve(), name="web")
        await stop.wait()
        _LOGGER.info("stopping")
        web.should_exit = True
        await web_task
        hub_task.cancel()
