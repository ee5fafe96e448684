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
``on_partner_status`` (and ``None`` when this link goes down, since it cannot hear then). The
retained status is only a hint: the relay also hears the partner's sealed status messages.

It adapts to the broker. With ``relay.protocol = "auto"`` it speaks MQTT 5 first and falls back
to 3.1.1 when the broker refuses the version (CONNACK 0x84), closes the connection before any
CONNACK, or never answers the CONNECT (amqtt); it logs which version it uses. Given several
broker URLs (``relay.urls``) it moves to the next one when a broker cannot be reached or refuses
the connection, and back to the first after a whole round failed (with a growing pause). After
the broker granted the inbox it sends a probe to its own inbox: a probe the broker accepted
(MQTT 5 PUBACK success) that never comes back means the ACL filters the inbox, which a SUBACK
does not show on mosquitto (problem ``inbox_silent``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
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
from hub.relay.link_problems import (
    UNSUPPORTED_PROTOCOL,
    connack_refusal,
    connect_failure,
    inbox_silent,
    subscribe_refusal,
)

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
# A broker that says nothing for this long after an MQTT 5 CONNECT does not speak it (amqtt
# stays silent); an answering broker replies in milliseconds.
CONNACK_WAIT_S: Final = 10.0
# How long the probe to the hub's own inbox may take before the inbox counts as filtered.
PROBE_WAIT_S: Final = 10.0
# The probe's payload starts with this; it never reaches the relay (no envelope starts so).
PROBE_PREFIX: Final = b"heartline-probe:"
# After every broker of the list failed once, wait this long before the next round (doubling).
ROUND_PAUSE_MIN_S: Final = 1.0
ROUND_PAUSE_MAX_S: Final = 60.0
PROTOCOL_NAMES: Final = {"mqtt5": "MQTT 5", "mqtt311": "MQTT 3.1.1"}


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """One broker of the list: where, and its TLS context (None: plain MQTT)."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    username: str
    password: str
    tls: ssl.SSLContext | None
    protocol: str  # "auto" | "mqtt5" | "mqtt311"
    keepalive_s: int
    session_expiry_s: int
    subscriptions: tuple[str, ...]
    status_topic: str
    partner_status_topic: str | None = None
    ca_file: Path | None = None  # named in the fix when the broker's certificate does not verify
    more_brokers: tuple[BrokerAddress, ...] = ()  # relay.urls after the first, tried in turn

    @property
    def brokers(self) -> tuple[BrokerAddress, ...]:
        return (BrokerAddress(self.host, self.port, self.tls), *self.more_brokers)


def _broker_address(url_text: str, ca_file: Path | None) -> BrokerAddress:
    url = urlsplit(url_text)
    tls: ssl.SSLContext | None = None
    if url.scheme == "mqtts":
        try:
            tls = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (ssl.SSLError, OSError) as ex:  # not a certificate, or not readable by this user
            why = getattr(ex, "strerror", None) or getattr(ex, "reason", None) or str(ex)
            raise ConfigError(
                "relay.ca_file",
                f"{ca_file} is not a readable CA certificate ({why}); copy the relay's ca.crt "
                "again and make it readable by the user the hub runs as",
            ) from ex
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
    return BrokerAddress(
        url.hostname or "127.0.0.1", url.port or (DEFAULT_MQTTS_PORT if tls else DEFAULT_MQTT_PORT), tls
    )


def mqtt_settings(config: HubConfig) -> MqttSettings:
    """The link a hub's config describes: its brokers, identity, session and the two topics."""
    relay = config.relay
    first, *more = (_broker_address(url, relay.ca_file) for url in relay.broker_urls)
    return MqttSettings(
        host=first.host,
        port=first.port,
        client_id=relay.hub_id,
        username=config.mqtt_username,
        password=relay.password,
        tls=first.tls,
        protocol=relay.protocol,
        keepalive_s=relay.keepalive_s,
        session_expiry_s=relay.session_expiry_days * SECONDS_PER_DAY,
        subscriptions=(inbox_topic(relay.couple_id, relay.hub_id),),
        status_topic=status_topic(relay.couple_id, relay.hub_id),
        partner_status_topic=status_topic(relay.couple_id, relay.partner_hub_id),
        ca_file=relay.ca_file,
        more_brokers=tuple(more),
    )


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    arrival: int = 0  # this link's count of messages received, this one included (wire order)


class MqttLink:
    """One persistent-session MQTT connection for a hub (to one broker of its list at a time)."""

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
        # From the start of our goodbye: the "offline" status is the last word about us, so no
        # "online" may follow it (hub.relay.partner_status).
        self.closing = False
        # Seconds from publish to PUBACK, for the metrics histogram (None: nobody listens).
        self.on_publish_latency: Callable[[float], None] | None = None
        # The partner hub's status as heard ("online"/"offline"; None: this link went down).
        self.on_partner_status: Callable[[str | None], None] | None = None
        # Called on the loop each time the broker accepted the login (hub.relay.partner_status).
        self.on_connected: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._broker_index = 0
        # The version each broker of the list gets; "auto" starts at MQTT 5 and may fall back.
        fixed = settings.protocol if settings.protocol in PROTOCOL_NAMES else "mqtt5"
        self._protocols = [fixed for _ in settings.brokers]
        self._spoke_mqtt5 = [False for _ in settings.brokers]  # a broker that once did never "can't"
        self._round_pause_s = ROUND_PAUSE_MIN_S
        self._attempt = 0  # connect attempts of the current client, to match a CONNACK wait
        self._connacked = False  # the current attempt got a CONNACK (success or refusal)
        self._switching: asyncio.Task[None] | None = None
        self._probe: bytes | None = None  # the payload of the probe on its way to our inbox
        self._probe_mid: int | None = None
        self._probe_accepted = False  # the broker confirmed the probe (MQTT 5: it was allowed)
        self._subscribe_mid: int | None = None
        self._topics: tuple[tuple[str, int], ...] = tuple(
            (topic, QOS_AT_LEAST_ONCE) for topic in settings.subscriptions
        )
        if settings.partner_status_topic is not None:
            # QoS 1, as the inbox: a broker that queues QoS 0 and QoS 1 subscriptions apart
            # (RabbitMQ 3.10) would otherwise let a sealed "online" overtake the "offline" after it.
            self._topics += ((settings.partner_status_topic, QOS_AT_LEAST_ONCE),)
        self._arrivals = 0  # messages received (paho's thread counts them, in wire order)
        # Sealed statuses that arrived before this arrival number are history: the last
        # status-topic message, or the first arrival after the link last went down.
        self._status_arrival = 0
        self._client = self._new_client()

    @property
    def last_error(self) -> str | None:
        """The current problem as one line (reason; fix), or None."""
        return str(self.problem) if self.problem else None

    @property
    def broker(self) -> BrokerAddress:
        """The broker of the list this link uses (or tries) now."""
        return self.settings.brokers[self._broker_index]

    @property
    def where(self) -> str:
        return self.broker.where

    @property
    def protocol(self) -> str:
        """The MQTT version spoken to the current broker: "mqtt5" or "mqtt311"."""
        return self._protocols[self._broker_index]

    @property
    def _auto(self) -> bool:
        return self.settings.protocol not in PROTOCOL_NAMES

    @property
    def _proven(self) -> bool:
        """The current broker once accepted MQTT 5: a dropped connection is not a refusal."""
        return self._spoke_mqtt5[self._broker_index]

    def _new_client(self) -> paho.Client:
        mqtt5 = self.protocol == "mqtt5"
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.client_id,
            # MQTT 3.1.1 keeps the session with clean_session=False; MQTT 5 sets clean_start
            # at connect time instead (paho's default there wipes the session every restart).
            clean_session=None if mqtt5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if mqtt5 else MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        client.username_pw_set(self.settings.username, self.settings.password)
        if self.broker.tls is not None:
            client.tls_set_context(self.broker.tls)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.will_set(
            self.settings.status_topic, STATUS_OFFLINE.encode(), qos=QOS_AT_LEAST_ONCE, retain=True
        )
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        return client

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self.closing = False
        self._connect()

    def _connect(self) -> None:
        properties: Properties | None = None
        if self.protocol == "mqtt5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.settings.session_expiry_s
        try:
            self._client.connect_async(
                self.broker.host,
                self.broker.port,
                keepalive=self.settings.keepalive_s,
                clean_start=False,
                properties=properties,
            )
        except (OSError, ValueError) as ex:
            raise RelayError(f"cannot start MQTT connection to {self.broker.host}: {ex}") from ex
        self._client.loop_start()

    async def stop(self) -> None:
        """Say goodbye (offline status), disconnect, and stop paho's thread."""
        self.closing = True
        if self._switching is not None:
            self._switching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._switching
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
        await asyncio.to_thread(_retire, self._client)
        self.connected.clear()
        self._fail_acks(RelayError("relay stopped before the broker confirmed"))

    def _fail_acks(self, error: RelayError) -> None:
        for future in self._acks.values():
            if not future.done():
                future.set_exception(error)
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

    @property
    def arrivals(self) -> int:
        """Messages received so far, in wire order (each Inbound carries its number)."""
        return self._arrivals

    def ack(self, message: Inbound) -> None:
        """Acknowledge a message the hub has durably handled."""
        self._client.ack(message.mid, message.qos)

    def partner_said(self, status: str, arrival: int) -> None:
        """The partner's hub told us its status in a sealed message (hub.relay.partner_status).

        It comes after any retained copy the broker gave at subscribe (it answers this hub's own
        status, sent after subscribing), so a stale retained status is corrected within a round
        trip; live status messages (the partner's goodbye, its will) still count as they come:
        a sealed status that arrived before the latest status-topic message is history."""
        self.inbox_works()
        if arrival < self._status_arrival:  # also whatever arrived before the link last went down
            return
        self._partner_status(status)

    def inbox_works(self) -> None:
        """Something the partner sent arrived in the inbox: a filtered-inbox problem is over."""
        self._probe = None
        if self.problem is not None and self.problem.kind is RelayProblemKind.INBOX_SILENT:
            _LOGGER.info("relay working again: the inbox receives")
            self.problem = self._reported = None

    # -- paho callbacks (paho's thread): hand over to the loop, nothing else ---------------

    def _call(self, handler: Any, *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(handler, *args)

    def _on_pre_connect(self, client: paho.Client, userdata: object) -> None:
        self._call(self._attempt_started, client)

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return
        if reason_code.is_failure:
            self._call(self._refused, client, reason_code.value, str(reason_code))
            return
        if self._topics:
            _, self._subscribe_mid = client.subscribe(list(self._topics))
        client.publish(self.settings.status_topic, STATUS_ONLINE.encode(), qos=QOS_AT_LEAST_ONCE, retain=True)
        self._call(self._connected, client, flags.session_present)

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        # With the arrivals counted so far (this thread counts them): whatever status arrived
        # before the link went down is history once the loop handles the disconnect.
        self._call(self._disconnected, client, str(reason_code), self._arrivals)

    def _on_connect_fail(self, client: paho.Client, userdata: object) -> None:
        # paho calls this from inside its `except OSError` around the connect attempt, and
        # passes no error: the one being handled is the only record of what went wrong.
        error = sys.exc_info()[1]
        if error is None:
            return
        _close_failed_tls_sockets(error)
        problem = connect_failure(error, self.broker.host, self.broker.port, ca_file=self.settings.ca_file)
        self._call(self._unreachable, client, problem)

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid or client is not self._client:
            return
        refusals = [
            subscribe_refusal(topic, code.value, str(code), self.settings.username)
            for (topic, _), code in zip(self._topics, reason_codes, strict=False)
            if code.is_failure
        ]
        self._call(self._subscribed, client, refusals)

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        self._arrivals += 1
        if message.topic == self.settings.partner_status_topic:
            client.ack(message.mid, message.qos)  # nothing to keep: the newest status wins
            text = bytes(message.payload).decode("utf-8", errors="replace")
            self._call(self._status_topic, text, self._arrivals)
            return
        payload = bytes(message.payload)
        if payload.startswith(PROBE_PREFIX):
            client.ack(message.mid, message.qos)
            self._call(self._probe_arrived, payload)
            return
        inbound = Inbound(message.topic, payload, message.mid, message.qos, self._arrivals)
        self._call(self.messages.put_nowait, inbound)

    def _on_publish(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        self._call(self._published, client, mid, reason_code)

    # -- loop side -------------------------------------------------------------------------

    def _attempt_started(self, client: paho.Client) -> None:
        if client is not self._client or self._loop is None:
            return
        self._attempt += 1
        self._connacked = False
        if self._auto and self.protocol == "mqtt5":
            self._loop.call_later(CONNACK_WAIT_S, self._connack_overdue, client, self._attempt)

    def _connack_overdue(self, client: paho.Client, attempt: int) -> None:
        if client is self._client and attempt == self._attempt and not self._connacked and not self._proven:
            self._fall_back(client, f"no answer to an MQTT 5 CONNECT in {CONNACK_WAIT_S:.0f} s")

    def _refused(self, client: paho.Client, code: int, text: str) -> None:
        if client is not self._client:
            return
        self._connacked = True
        if code == UNSUPPORTED_PROTOCOL and self._auto and self.protocol == "mqtt5":
            self._fall_back(client, f"CONNACK {text}")
            return
        self._report(connack_refusal(code, text, self.settings.username, self.where))
        self._move_on(client)

    def _unreachable(self, client: paho.Client, problem: RelayProblem) -> None:
        if client is not self._client:
            return
        self._report(problem)
        self._move_on(client)

    def _fall_back(self, client: paho.Client, why: str) -> None:
        """The broker does not speak MQTT 5: speak 3.1.1 to it from now on."""
        if client is not self._client or self._stopping or self.protocol != "mqtt5":
            return
        _LOGGER.warning(
            "relay: the broker at %s does not speak MQTT 5 (%s); using MQTT 3.1.1 "
            '(relay.protocol = "mqtt311" skips the try)',
            self.where,
            why,
        )
        self._protocols[self._broker_index] = "mqtt311"
        self._replace_client(pause_s=0.0)

    def _move_on(self, client: paho.Client) -> None:
        """The current broker cannot be used: try the next one of the list (if there is one)."""
        if len(self.settings.brokers) == 1 or client is not self._client or self._stopping:
            return
        if self._switching is not None and not self._switching.done():
            return
        before = self.where
        self._broker_index = (self._broker_index + 1) % len(self.settings.brokers)
        pause = 0.0
        if self._broker_index == 0:  # a whole round failed: pause, longer each round
            pause, self._round_pause_s = self._round_pause_s, min(self._round_pause_s * 2, ROUND_PAUSE_MAX_S)
        _LOGGER.warning("relay: %s cannot be used now; trying %s", before, self.where)
        self._replace_client(pause_s=pause)

    def _replace_client(self, *, pause_s: float) -> None:
        old, self._client = self._client, self._new_client()
        self._subscribe_mid = None
        self._fail_acks(RelayError(f"the link moved from {old.host} before the broker confirmed"))
        self._switching = asyncio.get_running_loop().create_task(self._reconnect_new(old, pause_s))

    async def _reconnect_new(self, old: paho.Client, pause_s: float) -> None:
        await asyncio.to_thread(_retire, old)
        if pause_s:
            await asyncio.sleep(pause_s)
        if not self._stopping:
            self._connect()

    def _connected(self, client: paho.Client, session_present: bool) -> None:
        if client is not self._client:
            return
        self._connacked = True
        version = PROTOCOL_NAMES[self.protocol]
        if self._reported is not None or self._ever_connected:
            _LOGGER.info(
                "relay connected again to %s, %s (session kept: %s)", self.where, version, session_present
            )
        else:
            _LOGGER.info("relay connected to %s, %s", self.where, version)
        self._ever_connected = True
        if self.protocol == "mqtt5":
            self._spoke_mqtt5[self._broker_index] = True
        self._round_pause_s = ROUND_PAUSE_MIN_S
        # The login worked, so any earlier connect problem is over; a refused subscription is
        # only over when a SUBACK grants it (_subscribed), a filtered inbox when a probe returns.
        if self.problem is not None and self.problem.kind not in (
            RelayProblemKind.SUBSCRIBE_DENIED,
            RelayProblemKind.INBOX_SILENT,
        ):
            self.problem = None
        self.connected.set()
        if self.on_connected is not None:
            self.on_connected()

    def _disconnected(self, client: paho.Client, reason: str, arrivals: int) -> None:
        if client is not self._client:
            return
        self._status_arrival = max(self._status_arrival, arrivals + 1)
        if not self._connacked and self._auto and not self._proven and not self._stopping:
            self._fall_back(client, f"it closed the connection after CONNECT: {reason}")
            return
        if self.connected.is_set() and not self._stopping:
            self.reconnects += 1
            _LOGGER.warning("relay disconnected (%s); reconnecting", reason)
            self._partner_status(None)
        self.connected.clear()

    def _report(self, problem: RelayProblem) -> None:
        """A problem now; logged once, until it changes or the link worked in between."""
        self.problem = problem
        if problem != self._reported:
            self._reported = problem
            _LOGGER.error("relay: %s; %s", problem.reason, problem.fix)

    def _subscribed(self, client: paho.Client, refusals: list[RelayProblem]) -> None:
        if client is not self._client:
            return
        if refusals:
            for problem in refusals:
                self._report(problem)
            return
        if self._reported is not None and self._reported.kind is not RelayProblemKind.INBOX_SILENT:
            _LOGGER.info("relay working again: logged in and subscribed")
            self.problem = self._reported = None
        self._send_probe(client)

    def _send_probe(self, client: paho.Client) -> None:
        """A message to our own inbox: it comes back only if the broker delivers the inbox."""
        if not self.settings.subscriptions or self._loop is None:
            return
        probe = PROBE_PREFIX + secrets.token_hex(8).encode()
        self._probe, self._probe_accepted = probe, False
        info = client.publish(self.settings.subscriptions[0], probe, qos=QOS_AT_LEAST_ONCE)
        self._probe_mid = info.mid
        self._loop.call_later(PROBE_WAIT_S, self._probe_overdue, client, probe)

    def _probe_arrived(self, payload: bytes) -> None:
        if payload == self._probe:
            self.inbox_works()

    def _probe_overdue(self, client: paho.Client, probe: bytes) -> None:
        if client is not self._client or probe != self._probe or not self.connected.is_set():
            return
        self._probe = None
        if self._probe_accepted:
            self._report(inbox_silent(self.settings.subscriptions[0], self.settings.username, PROBE_WAIT_S))
        else:
            # MQTT 3.1.1 confirms even a publish the ACL dropped, and the generated ACL lets no
            # hub write its own inbox: silence proves nothing there.
            _LOGGER.debug("inbox probe unanswered, and the broker did not say it allowed it")

    def _status_topic(self, status: str, arrival: int) -> None:
        self._status_arrival = max(self._status_arrival, arrival)
        self._partner_status(status)

    def _partner_status(self, status: str | None) -> None:
        if status not in (None, STATUS_ONLINE, STATUS_OFFLINE):
            _LOGGER.debug("ignoring partner status %r (neither online nor offline)", status)
            return
        if self.on_partner_status is not None:
            self.on_partner_status(status)

    def _published(self, client: paho.Client, mid: int, reason_code: ReasonCode | None) -> None:
        if client is not self._client:
            return
        if mid == self._probe_mid:
            self._probe_mid = None
            # Only an MQTT 5 PUBACK says the ACL allowed the probe (0x87 when it did not).
            failed = reason_code is not None and reason_code.is_failure
            self._probe_accepted = self.protocol == "mqtt5" and not failed
            return
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


def _retire(client: paho.Client) -> None:
    """Disconnect a client and stop its thread (blocking: run in a worker thread)."""
    client.disconnect()
    client.loop_stop()
    # paho closes its internal wake-up socket pair only in Client.__del__; the client sits in
    # a reference cycle with this link, so that may run at any later garbage collection and
    # warn about unclosed sockets. Close it now (a restart makes a new pair in loop_start).
    client._reset_sockets(sockpair_only=True)  # noqa: SLF001


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
