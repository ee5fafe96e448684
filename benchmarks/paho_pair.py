"""The baseline both relay benchmarks measure against: two plain paho clients, no Heartline.

They log in as the test relay's second couple, whose ACL allows exactly the one inbox topic.
:func:`proxy_process` is the internet path both cross: the tests' TCP proxy in a process of its
own (``python -m benchmarks.paho_pair --proxy PORT SECONDS``), so delaying bytes never waits for
the measured hub's event loop or its interpreter lock, as a real path would not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.support.mosquitto import OTHER_COUPLE, Broker
from tests.support.tcp_proxy import TcpProxy

PROXY_READY_PREFIX = "proxy listening on "
PROXY_STOP_S = 10.0


@dataclass(frozen=True)
class PahoPair:
    sender: paho.Client
    receiver: paho.Client
    topic: str
    subscribed: threading.Event  # wait on it (in a thread, if an event loop must keep running)


@contextmanager
def paho_pair(
    broker: Broker,
    port: int,
    on_message: Callable[[paho.Client, object, paho.MQTTMessage], None],
    *,
    max_inflight: int = 20,
) -> Iterator[PahoPair]:
    """A sender and a receiver subscribing (QoS 1, MQTT 5) on ``port``; closed after.

    ``max_inflight`` is set before connecting (paho refuses it later); 20 is paho's default."""
    sender_id, receiver_id = OTHER_COUPLE.hubs
    topic = f"hl/v1/{OTHER_COUPLE.couple_id}/{receiver_id}/in"
    receiver = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=receiver_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    sender = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=sender_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    receiver.username_pw_set(receiver_id, broker.password(receiver_id))
    sender.username_pw_set(sender_id, broker.password(sender_id))
    receiver.on_message = on_message
    subscribed = threading.Event()
    receiver.on_subscribe = lambda *_: subscribed.set()
    receiver.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
    sender.max_inflight_messages_set(max_inflight)
    for client in (receiver, sender):
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
    try:
        yield PahoPair(sender, receiver, topic, subscribed)
    finally:
        for client in (sender, receiver):
            client.disconnect()
            client.loop_stop()


@contextmanager
def proxy_process(target_port: int, latency_s: float) -> Iterator[int]:
    """A TCP proxy to ``target_port`` adding ``latency_s`` each way, in its own process; its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.paho_pair", "--proxy", str(target_port), str(latency_s)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith(PROXY_READY_PREFIX):
            raise RuntimeError(f"the proxy process did not start (it said {line!r})")
        yield int(line.removeprefix(PROXY_READY_PREFIX))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(PROXY_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(PROXY_STOP_S)
        if process.stdout is not None:
            process.stdout.close()


async def _serve_proxy(target_port: int, latency_s: float) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with TcpProxy(target_port, latency_s=latency_s) as proxy:
        print(f"{PROXY_READY_PREFIX}{proxy.port}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paho_pair", description=__doc__)
    parser.add_argument("--proxy", nargs=2, metavar=("TARGET_PORT", "LATENCY_S"), required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_proxy(int(args.proxy[0]), float(args.proxy[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
