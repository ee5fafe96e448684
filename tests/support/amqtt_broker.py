"""The amqtt broker in its own process, for the broker conformance suite.

``python -m tests.support.amqtt_broker PORT`` serves plain MQTT 3.1.1 on 127.0.0.1:PORT (anonymous
logins: loopback only) and prints ``amqtt ready on PORT`` once it listens; SIGTERM shuts it down.
amqtt keeps sessions and retained messages in memory only, so a restart forgets them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from amqtt.broker import Broker


async def serve(port: int) -> None:
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        },
    )
    await broker.start()
    print(f"amqtt ready on {port}", flush=True)  # noqa: T201 - the fixture waits for this line
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):
        await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
