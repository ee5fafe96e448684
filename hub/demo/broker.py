"""The demo's embedded MQTT broker (amqtt, in-process, loopback only).

amqtt speaks MQTT 3.1.1 only and is not durable across restarts, so it serves the demo's
live flow and nothing else; real relays run mosquitto (``heartline broker setup``), and
``heartline demo --broker URL`` points the demo at one.
"""

from __future__ import annotations

import logging
import socket
from typing import Any, Final

_LOGGER = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


class EmbeddedBroker:
    def __init__(self) -> None:
        self.port = 0
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        from amqtt.broker import Broker  # noqa: PLC0415 - only the demo needs amqtt

        self.port = free_port()
        self._broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{LOOPBACK}:{self.port}"}},
                # Anonymous is acceptable only because the listener is loopback-only.
                "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
            },
        )
        await self._broker.start()
        _LOGGER.info("embedded MQTT 3.1.1 broker on %s", self.url)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
