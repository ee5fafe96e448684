"""paho-mqtt behind an asyncio face: callbacks only hand work to the event loop.

paho runs its network loop in its own thread (``loop_start``) and reconnects by itself. Every
callback here does one thing: schedule the matching handler on the hub's event loop with
``call_soon_threadsafe``. Incoming messages are acknowledged *manually*, only after the hub
committed them (``manual_ack``), so a crash between receive and commit means redelivery, not loss.

paho retries a failing connection forever and quietly. The link names why (hub.relay.link_problems:
TLS, the login, DNS, the port, a refused subscription) in ``problem``, logs it once per new
reason (again only when the reason changes, or after the link worked in between), and clears it
when the broker accepted the login and every subscription.

It also follows the partner hub's retained status topic and hands each "online"/"offline" to
``on_partner_status`` (and ``None`` when this link goes down, since it cannot hear then).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
from hub.errors import ConfigError, RelayError
from hub.health import RelayProblem, RelayProblemKind
from hub.relay.link_problems import connack_refusal, connect_failure, subscribe_refusal

_LOGGER = logging.getLogger(__name__)

QOS_AT_LEAST_ONCE: Final = 1
# The partner's status is retained and sent again at every (re)subscribe: latest wins, so a
# status lost with a dropped connection costs nothing and needs no acknowledgement.
QOS_AT_MOST_ONCE: Final = 0
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
    partner_status_topic: str | None = None
    ca_file: Path | None = None  # named in the fix when the broker's certificate does not verify


def mqtt_settings(config: HubConfig) -> MqttSettings:
    """The link a hub's config describes: its broker, identity, session and the two topics."""
    relay = config.relay
    url = urlsplit(relay.broker)
    tls: ssl.SSLContext | None = None
    if url.scheme == "mqtts":
        try:
            tls = ssl.create_default_context(cafile=str(relay.ca_file) if relay.ca_file else None)
        except (ssl.SSLError, OSError) as ex:  # not a certificate, or not readable by this user
            why = getattr(ex, "strerror", None) or getattr(ex, "reason", None) or str(ex)
            raise ConfigError(
                "relay.ca_file",
                f"{relay.ca_file} is not a readable CA certificate ({why}); copy the relay's ca.crt "
                "again and make it readable by the user the hub runs as",
            ) from ex
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
        partner_status_topic=status_topic(relay.couple_id, relay.partner_hub_id),
        ca_file=relay.ca_file,
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
        # Why the link cannot work now (None: it works, or nothing went wrong yet).
        self.problem: RelayProblem | None = None
        self._reported: RelayProblem | None = None  # the last one logged, until a recovery
        self._ever_connected = False
        self._stopping = False  # our own DISCONNECT: no warning, no reconnect counted
        # Seconds from publish to PUBACK, for the metrics histogram (None: nobody listens).
        self.on_publish_latency: Callable[[float], None] | None = None
        # The partner hub's status as heard ("online"/"offline"; None: this link went down).
        self.on_partner_status: Callable[[str | None], None] | None = None
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
        self._client.on_subscribe = self._on_subscribe
        self._client.on_connect_fail = self._on_connect_fail
        self._subscribe_mid: int | None = None
        self._topics: tuple[tuple[str, int], ...] = tuple(
            (topic, QOS_AT_LEAST_ONCE) for topic in settings.subscriptions
        )
        if settings.partner_status_topic is not None:
            self._topics += ((settings.partner_status_topic, QOS_AT_MOST_ONCE),)

    @property
    def last_error(self) -> str | None:
        """The current problem as one line (reason; fix), or None."""
        return str(self.problem) if self.problem else None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
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
        self._stopping = True
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
            problem = connack_refusal(reason_code.value, str(reason_code), self.settings.username, self.where)
            self._call(self._report, problem)
            return
        if self._topics:
            _, self._subscribe_mid = client.subscribe(list(self._topics))
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

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        # paho calls this from inside its `except OSError` around the connect attempt, and
        # passes no error: the one being handled is the only record of what went wrong.
        error = sys.exc_info()[1]
        if error is None:
            return
        _close_failed_tls_sockets(error)
        problem = connect_failure(
            error, self.settings.host, self.settings.port, ca_file=self.settings.ca_file
        )
        self._call(self._report, problem)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        refusals = [
            subscribe_refusal(topic, code.value, str(code), self.settings.username)
            for (topic, _), code in zip(self._topics, reason_codes, strict=False)
            if code.is_failure
        ]
        self._call(self._subscribed, refusals)

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if message.topic == self.settings.partner_status_topic:
            text = bytes(message.payload).decode("utf-8", errors="replace")
            self._call(self._partner_status, text)
            return
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
        if self._reported is not None or self._ever_connected:
            _LOGGER.info("relay connected again (session kept: %s)", session_present)
        else:
            _LOGGER.info("relay connected to %s", self.where)
        self._ever_connected = True
        # The login worked, so any earlier connect problem is over; a refused subscription is
        # only over when a SUBACK grants it (_subscribed).
        if self.problem is not None and self.problem.kind is not RelayProblemKind.SUBSCRIBE_DENIED:
            self.problem = None
        self.connected.set()

    def _disconnected(self, reason: str) -> None:
        if self.connected.is_set() and not self._stopping:
            self.reconnects += 1
            _LOGGER.warning("relay disconnected (%s); paho reconnects by itself", reason)
            self._partner_status(None)
        self.connected.clear()

    def _report(self, problem: RelayProblem) -> None:
        """A problem now; logged once, until it changes or the link worked in between."""
        self.problem = problem
        if problem != self._reported:
            self._reported = problem
            _LOGGER.error("relay: %s; %s", problem.reason, problem.fix)

    def _subscribed(self, refusals: list[RelayProblem]) -> None:
        if refusals:
            for problem in refusals:
                self._report(problem)
            return
        if self._reported is not None:
            _LOGGER.info("relay working again: logged in and subscribed")
        self.problem = self._reported = None

    def _partner_status(self, status: str | None) -> None:
        if status not in (None, STATUS_ONLINE, STATUS_OFFLINE):
            _LOGGER.debug("ignoring partner status %r (neither online nor offline)", status)
            return
        if self.on_partner_status is not None:
            self.on_partner_status(status)

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


def _close_failed_tls_sockets(error: BaseException) -> None:
    """Close the TLS socket of a handshake that failed.

    paho 2.2 raises out of its TLS wrapper without closing the socket it made, so each retry
    would leave one for the garbage collector (with a ResourceWarning). The socket is a local of
    a frame in the error's traceback, and nothing else refers to it.
    """
    trace = error.__traceback__
    while trace is not None:
        for value in trace.tb_frame.f_locals.values():
            if isinstance(value, ssl.SSLSocket):
                value.close()
        trace = trace.tb_next
