"""paho-mqtt behind an asyncio face: callbacks only hand work to the event loop.

paho runs its network loop in its own thread (``loop_start``) and reconnects by itself. Every
callback here does one thing: schedule the matching handler on the hub's event loop with
``call_soon_threadsafe``. Incoming messages are acknowledged *manually*, only after the hub
committed them (``manual_ack``), so a crash between receive and commit means redelivery, not loss.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hub.broker.config import STATUS_OFFLINE, STATUS_ONLINE, inbox_topic, status_topic
from hub.config import HubConfig
from hub.config.schema import DEFAULT_MQTT_PORT, DEFAULT_MQTTS_PORT
from hub.errors import RelayError

_LOGGER = logging.getLogger(__name__)

QOS_AT_LEAST_ONCE: Final = 1
# Reconnect quickly after a blip, back off to a minute for a long outage.
RECONNECT_MIN_S: Final = 1
RECONNECT_MAX_S: Final = 60
# paho's in-memory queue only covers the current process; the SQLite outbox is the real queue.
MAX_INFLIGHT: Final = 100
SECONDS_PER_DAY: Final = 86_400


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    username: str
    password: str
    tls: ssl.SSLContext | None
    protocol: str  # "mqtt5" | "mqtt311"
    keepalive_s: int
    session_expiry_s: int
    subscriptions: tuple[str, ...]
    status_topic: str


def mqtt_settings(config: HubConfig) -> MqttSettings:
    """The link a hub's config describes: its broker, identity, session and the two topics."""
    relay = config.relay
    url = urlsplit(relay.broker)
    tls: ssl.SSLContext | None = None
    if url.scheme == "mqtts":
        tls = ssl.create_default_context(cafile=str(relay.ca_file) if relay.ca_file else None)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
    return MqttSettings(
        host=url.hostname or "127.0.0.1",
        port=url.port or (DEFAULT_MQTTS_PORT if tls else DEFAULT_MQTT_PORT),
        client_id=relay.hub_id,
        username=config.mqtt_username,
        password=relay.password,
        tls=tls,
        protocol=relay.protocol,
        keepalive_s=relay.keepalive_s,
        session_expiry_s=relay.session_expiry_days * SECONDS_PER_DAY,
        subscriptions=(inbox_topic(relay.couple_id, relay.hub_id),),
        status_topic=status_topic(relay.couple_id, relay.hub_id),
    )


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int


class MqttLink:
    """One persistent-session MQTT connection for a hub."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.connected = asyncio.Event()
        self.messages: asyncio.Queue[Inbound] = asyncio.Queue()
        self.reconnects = 0
        self.last_error: str | None = None
        # Seconds from publish to PUBACK, for the metrics histogram (None: nobody listens).
        self.on_publish_latency: Callable[[float], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: dict[int, asyncio.Future[None]] = {}
        mqtt5 = settings.protocol == "mqtt5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            # MQTT 3.1.1 keeps the session with clean_session=False; MQTT 5 sets clean_start
            # at connect time instead (paho's default there wipes the session every restart).
            clean_session=None if mqtt5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        self._client.username_pw_set(settings.username, settings.password)
        if settings.tls is not None:
            self._client.tls_set_context(settings.tls)
        self._client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self._client.max_inflight_messages_set(MAX_INFLIGHT)
        self._client.will_set(
            settings.status_topic, STATUS_OFFLINE.encode(), qos=QOS_AT_LEAST_ONCE, retain=True
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        properties: Properties | None = None
        if self.settings.protocol == "mqtt5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.settings.session_expiry_s
        try:
            self._client.connect_async(
                self.settings.host,
                self.settings.port,
                keepalive=self.settings.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        except (OSError, ValueError) as ex:
            raise RelayError(f"cannot start MQTT connection to {self.settings.host}: {ex}") from ex
        self._client.loop_start()

    async def stop(self) -> None:
        """Say goodbye (offline status), disconnect, and stop paho's thread."""
        if self.connected.is_set():
            info = self._client.publish(
                self.settings.status_topic,
                STATUS_OFFLINE.encode(),
                qos=QOS_AT_LEAST_ONCE,
                retain=True,
            )
            try:
                async with asyncio.timeout(3.0):  # not wait_for: it can swallow a cancellation on 3.11
                    await asyncio.to_thread(info.wait_for_publish, 2.0)
            except (TimeoutError, RuntimeError, ValueError):
                _LOGGER.debug("offline status not confirmed before shutdown")
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        # paho closes its internal wake-up socket pair only in Client.__del__; the client sits in
        # a reference cycle with this link, so that may run at any later garbage collection and
        # warn about unclosed sockets. Close it now (a restart makes a new pair in loop_start).
        self._client._reset_sockets(sockpair_only=True)  # noqa: SLF001
        self.connected.clear()
        for future in self._acks.values():
            if not future.done():
                future.set_exception(RelayError("relay stopped before the broker confirmed"))
        self._acks.clear()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish QoS 1; returns when the broker confirmed (PUBACK), raises RelayError if refused."""
        started = time.monotonic()
        info = self._client.publish(topic, payload, qos=QOS_AT_LEAST_ONCE)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise RelayError(f"publish failed: {paho.error_string(info.rc)}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        # Registered before control returns to the loop; the PUBACK handler is scheduled on the
        # loop too (call_soon_threadsafe), so it always runs after this line.
        self._acks[info.mid] = future
        await future
        if self.on_publish_latency is not None:
            self.on_publish_latency(time.monotonic() - started)

    def ack(self, message: Inbound) -> None:
        """Acknowledge a message the hub has durably handled."""
        self._client.ack(message.mid, message.qos)

    # -- paho callbacks (paho's thread): hand over to the loop, nothing else ---------------

    def _call(self, handler: Any, *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(handler, *args)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._call(self._failed, f"broker refused the connection: {reason_code}")
            return
        for topic in self.settings.subscriptions:
            client.subscribe(topic, qos=QOS_AT_LEAST_ONCE)
        client.publish(self.settings.status_topic, STATUS_ONLINE.encode(), qos=QOS_AT_LEAST_ONCE, retain=True)
        self._call(self._connected, flags.session_present)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._disconnected, str(reason_code))

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        inbound = Inbound(message.topic, bytes(message.payload), message.mid, message.qos)
        self._call(self.messages.put_nowait, inbound)

    def _on_publish(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        self._call(self._published, mid, reason_code)

    # -- loop side -------------------------------------------------------------------------

    def _connected(self, session_present: bool) -> None:
        if self.last_error is not None or self.reconnects:
            _LOGGER.info("relay connected again (session kept: %s)", session_present)
        else:
            _LOGGER.info("relay connected to %s:%d", self.settings.host, self.settings.port)
        self.last_error = None
        self.connected.set()

    def _disconnected(self, reason: str) -> None:
        if self.connected.is_set():
            self.reconnects += 1
            _LOGGER.warning("relay disconnected (%s); paho reconnects by itself", reason)
        self.connected.clear()

    def _failed(self, reason: str) -> None:
        self.last_error = reason
        _LOGGER.error("%s; check relay.username/password and the broker's ACL", reason)

    def _published(self, mid: int, reason_code: ReasonCode | None) -> None:
        future = self._acks.pop(mid, None)
        if future is not None:  # None: our own status publishes, which nobody awaits
            self._settle(future, reason_code)

    @staticmethod
    def _settle(future: asyncio.Future[None], reason_code: ReasonCode | None) -> None:
        if future.done():
            return
        if reason_code is not None and reason_code.is_failure:
            future.set_exception(RelayError(f"broker refused the message: {reason_code}"))
        else:
            future.set_result(None)
