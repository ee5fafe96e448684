"""Run one hub with its web app in a single event loop (``heartline hub``)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Final

import uvicorn

from hub.config import HubConfig
from hub.daemon import Hub
from hub.web.api import hub_app

_LOGGER = logging.getLogger(__name__)

# uvicorn's own graceful shutdown waits this long for open requests (SSE streams end at once).
WEB_SHUTDOWN_S: Final = 3


async def serve_hub(config: HubConfig) -> None:
    hub = Hub(config)
    web = uvicorn.Server(
        uvicorn.Config(
            hub_app(hub),
            host=config.web.listen,
            port=config.web.port,
            log_config=None,
            timeout_graceful_shutdown=WEB_SHUTDOWN_S,
        ),
    )
    web.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # we own signals
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
