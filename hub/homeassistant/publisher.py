# ruff: noqa: ARG002 (paho calls the callbacks below with exactly these signatures)
"""Keeps the couple's Home Assistant in step with the hub, over their own local MQTT broker.

``HomeAssistantBridge(hub, settings).run()`` until cancelled. paho runs in its own thread; its
callbacks only hand work to the event loop. On every (re)connect the bridge publishes, retained,
every discovery config and the current states, so a restarted broker or HA catches up at once.
Touches become device-trigger messages (not retained: a trigger is a moment); presence and the
button list are compared every ``POLL_S``; signal updates arrive from the hub's update stream. A removed
button's trigger configs are cleared with empty retained payloads, also when it was removed while
the bridge was away: the bridge reads back its own retained configs after connecting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from typing import Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hub.app.interface import HubInterface
from hub.broker.config import STATUS_OFFLINE, STATUS_ONLINE
from hub.bus import SignalUpdate, TouchUpdate, Update
from hub.config import HomeAssistantSection
from hub.events import Gesture, SignalRecord
from hub.homeassistant.discovery import (
    PAYLOAD_OFF,
    PAYLOAD_ON,
    QOS,
    HubIdentity,
    Topics,
    hub_configs,
    trigger_configs,
    trigger_object_id,
)

_LOGGER = logging.getLogger(__name__)

# Presence changes at most every few seconds (the presence engine's own hysteresis); a button
# list changes when someone pairs one. Two seconds is prompt for both at no measurable cost.
POLL_S: Final = 2.0
KEEPALIVE_S: Final = 60
RECONNECT_MIN_S: Final = 1
RECONNECT_MAX_S: Final = 60
# The goodbye ("offline", retained) gets this long to reach the broker at shutdown.
GOODBYE_TIMEOUT_S: Final = 2.0
# MQTT 3.1.1 only promises client ids up to 23 characters; hub ids are up to 23 themselves.
CLIENT_ID_SUFFIX: Final = "-ha"
MAX_CLIENT_ID: Final = 23


def identity_of(hub: HubInterface) -> HubIdentity:
    config = hub.config
    return HubIdentity(
        hub_id=config.relay.hub_id,
        home_name=config.hub.name,
        person=config.hub.person,
        partner=config.hub.partner,
    )


class HomeAssistantBridge:
    def __init__(self, hub: HubInterface, settings: HomeAssistantSection) -> None:
        self._hub = hub
        self._settings = settings
        self._identity = identity_of(hub)
        self.topics = Topics(settings.discovery_prefix, settings.topic_root, self._identity.hub_id)
        self.connected = asyncio.Event()
        self.published = 0  # messages handed to paho, for tests and logs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buttons: set[int] = set()
        self._presence: dict[str, str] = {}
        self._last_signal_at = ""
        self._wake = asyncio.Event()
        client_id = f"{self._identity.hub_id[: MAX_CLIENT_ID - len(CLIENT_ID_SUFFIX)]}{CLIENT_ID_SUFFIX}"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,  # nothing to resume: every connect republishes the whole state
            protocol=MQTTProtocolVersion.MQTTv311,  # what every HA broker speaks
        )
        if settings.username:
            self._client.username_pw_set(settings.username, settings.password or None)
        if settings.tls:
            context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._client.tls_set_context(context)
        self._client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        self._client.will_set(self.topics.status, STATUS_OFFLINE, qos=QOS, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # -- running -------------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self._client.connect_async(self._settings.host, self._settings.port, keepalive=KEEPALIVE_S)
        except (OSError, ValueError) as ex:
            _LOGGER.error("Home Assistant broker %s: %s; check homeassistant.broker", self._settings.host, ex)
            return
        self._client.loop_start()
        try:
            async with self._hub.updates() as updates, asyncio.TaskGroup() as group:
                group.create_task(self._follow(updates), name="homeassistant-updates")
                group.create_task(self._poll(), name="homeassistant-poll")
        finally:
            await self._goodbye()

    async def _goodbye(self) -> None:
        if self.connected.is_set():
            info = self._client.publish(self.topics.status, STATUS_OFFLINE, qos=QOS, retain=True)
            with contextlib.suppress(TimeoutError, RuntimeError, ValueError):
                async with asyncio.timeout(GOODBYE_TIMEOUT_S + 1):  # not wait_for (see hub.relay.mqtt_link)
                    await asyncio.to_thread(info.wait_for_publish, GOODBYE_TIMEOUT_S)
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self.connected.clear()

    async def _follow(self, updates: asyncio.Queue[Update]) -> None:
        while True:
            update = await updates.get()
            if isinstance(update, TouchUpdate):
                self._publish(self.topics.action(update.button), update.gesture.value, retain=False)
            elif isinstance(update, SignalUpdate):
                self._signal(update.signal)

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_S):
                    await self._wake.wait()
            self._wake.clear()
            self._sync_buttons()
            self._sync_presence()

    # -- what is published ---------------------------------------------------------------------

    def _publish(self, topic: str, payload: str | bytes, *, retain: bool) -> None:
        if not self.connected.is_set():
            return  # the next connect republishes every retained state; moments are not queued
        self._client.publish(topic, payload, qos=QOS, retain=retain)
        self.published += 1

    def _full_sync(self) -> None:
        """Everything, retained: after a connect the broker (and HA) may know nothing."""
        self._publish(self.topics.status, STATUS_ONLINE, retain=True)
        buttons = sorted(record.id for record in self._hub.buttons())
        for topic, payload in hub_configs(self._identity, self.topics, buttons):
            self._publish(topic, json.dumps(payload), retain=True)
        self._buttons = set(buttons)
        self._presence.clear()
        self._sync_presence()
        recent = self._hub.recent_signals(1)
        if recent:
            self._last_signal_at = ""
            self._signal(recent[0])
        # Read back our own retained trigger configs: any for a button that is gone is cleared.
        self._client.subscribe(self.topics.our_trigger_configs, qos=QOS)

    def _sync_buttons(self) -> None:
        if not self.connected.is_set():
            return
        current = {record.id for record in self._hub.buttons()}
        for button_id in sorted(current - self._buttons):
            _LOGGER.info("Home Assistant: adding triggers for button %d", button_id)
            for topic, payload in trigger_configs(self._identity, self.topics, button_id):
                self._publish(topic, json.dumps(payload), retain=True)
        for button_id in sorted(self._buttons - current):
            _LOGGER.info("Home Assistant: removing triggers of button %d", button_id)
            self._clear_triggers(button_id)
        self._buttons = current

    def _clear_triggers(self, button_id: int) -> None:
        for gesture in Gesture:
            self._publish(
                self.topics.config("device_automation", trigger_object_id(button_id, gesture)),
                b"",
                retain=True,
            )

    def _sync_presence(self) -> None:
        if not self.connected.is_set():
            return
        config = self._hub.config.hub
        slots = {config.person: "person", config.partner: "partner"}
        # Someone this hub has no device of is never seen here: "not home" as far as it knows.
        states: dict[str, str] = {"person": PAYLOAD_OFF, "partner": PAYLOAD_OFF}
        for state in self._hub.presence.states():
            slot = slots.get(state.person)
            if slot is not None:
                states[slot] = PAYLOAD_ON if state.present else PAYLOAD_OFF
        both = all(states.get(slot) == PAYLOAD_ON for slot in ("person", "partner"))
        states["together"] = PAYLOAD_ON if both else PAYLOAD_OFF
        for slot, value in states.items():
            if self._presence.get(slot) != value:
                topic = self.topics.together if slot == "together" else self.topics.presence(slot)
                self._publish(topic, value, retain=True)
                self._presence[slot] = value

    def _signal(self, record: SignalRecord) -> None:
        signal = record.to_json()
        created = str(signal["created_at"])
        if created < self._last_signal_at:
            return  # a fate update of an older signal: the sensor shows the newest one
        self._last_signal_at = created
        self._publish(self.topics.last_signal, record.kind.value, retain=True)
        attributes = {
            key: signal[key] for key in ("direction", "sender", "fate", "channel", "reason", "created_at")
        }
        self._publish(self.topics.last_signal_attributes, json.dumps(attributes), retain=True)

    # -- paho callbacks (paho's thread): hand over to the loop, nothing else ---------------------

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
        self._call(self._connected, reason_code.is_failure, str(reason_code))

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
        self._call(self._seen_config, message.topic, bool(message.payload))

    # -- loop side ----------------------------------------------------------------------------

    def _connected(self, failed: bool, reason: str) -> None:
        if failed:
            _LOGGER.error(
                "Home Assistant broker refused the connection (%s); check homeassistant.username/password",
                reason,
            )
            return
        _LOGGER.info("connected to the Home Assistant broker at %s", self._settings.host)
        self.connected.set()
        self._full_sync()

    def _disconnected(self, reason: str) -> None:
        if self.connected.is_set():
            _LOGGER.warning("Home Assistant broker connection lost (%s); reconnecting", reason)
        self.connected.clear()

    def _seen_config(self, topic: str, has_payload: bool) -> None:
        if not has_payload:
            return
        object_id = topic.split("/")[-2]
        expected = {trigger_object_id(b, g) for b in self._buttons for g in Gesture}
        if object_id not in expected:
            _LOGGER.info("Home Assistant: clearing stale trigger %s", object_id)
            self._publish(topic, b"", retain=True)
