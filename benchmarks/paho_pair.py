"""The baseline both relay benchmarks measure against: two plain paho clients, no Heartline.

They log in as the test relay's second couple, whose ACL allows exactly the one inbox topic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.support.mosquitto import OTHER_COUPLE, Broker


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
