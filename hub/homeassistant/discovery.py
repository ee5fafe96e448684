"""Home Assistant MQTT discovery payloads for one hub: pure functions, no I/O.

Discovery topic: ``<discovery_prefix>/<component>/<node_id>/<object_id>/config`` with the hub's
opaque id as node id. State and trigger topics carry only opaque ids too; names (who is home) are
in the payloads, which go to the couple's own Home Assistant broker only.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

from hub.broker.config import STATUS_OFFLINE, STATUS_ONLINE
from hub.events import Gesture, SignalKind

# HA's own translated trigger types for buttons, so the automation editor shows "pressed twice".
TRIGGER_TYPES: Final = {
    Gesture.TAP: "button_short_press",
    Gesture.DOUBLE_TAP: "button_double_press",
    Gesture.LONG_PRESS: "button_long_press",
}
PAYLOAD_ON: Final = "ON"
PAYLOAD_OFF: Final = "OFF"
PEOPLE: Final = ("person", "partner")  # opaque slots: topics never carry names
QOS: Final = 1


def _version() -> str:
    try:
        return version("heartline")
    except PackageNotFoundError:
        return "0"


@dataclass(frozen=True, slots=True)
class HubIdentity:
    hub_id: str  # opaque, from relay.hub_id
    home_name: str  # hub.name
    person: str
    partner: str


@dataclass(frozen=True, slots=True)
class Topics:
    discovery_prefix: str
    root: str
    hub_id: str

    @property
    def base(self) -> str:
        return f"{self.root}/{self.hub_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    def action(self, button_id: int) -> str:
        return f"{self.base}/button/{button_id}/action"

    def presence(self, slot: str) -> str:
        return f"{self.base}/presence/{slot}"

    @property
    def together(self) -> str:
        return f"{self.base}/together"

    @property
    def last_signal(self) -> str:
        return f"{self.base}/last_signal"

    @property
    def last_signal_attributes(self) -> str:
        return f"{self.base}/last_signal/attributes"

    def config(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.hub_id}/{object_id}/config"

    @property
    def our_trigger_configs(self) -> str:
        """Subscription matching every trigger config this hub may have left retained."""
        return f"{self.discovery_prefix}/device_automation/{self.hub_id}/+/config"


def trigger_object_id(button_id: int, gesture: Gesture) -> str:
    return f"button_{button_id}_{gesture.value}"


def device(identity: HubIdentity) -> dict[str, Any]:
    return {
        "identifiers": [f"heartline_{identity.hub_id}"],
        "name": f"Heartline {identity.home_name}",
        "manufacturer": "Heartline",
        "model": "Heartline hub",
        "sw_version": _version(),
    }


def _availability(topics: Topics) -> dict[str, Any]:
    return {
        "availability_topic": topics.status,
        "payload_available": STATUS_ONLINE,
        "payload_not_available": STATUS_OFFLINE,
    }


def trigger_configs(
    identity: HubIdentity, topics: Topics, button_id: int
) -> list[tuple[str, dict[str, Any]]]:
    """One device trigger per gesture of one button (HA allows one trigger per discovery topic)."""
    return [
        (
            topics.config("device_automation", trigger_object_id(button_id, gesture)),
            {
                "automation_type": "trigger",
                "topic": topics.action(button_id),
                "payload": gesture.value,
                "type": TRIGGER_TYPES[gesture],
                # HA translates button_1..button_6; the id keeps automations bound to the same
                # physical button when another is removed.
                "subtype": f"button_{button_id}",
                "qos": QOS,
                "device": device(identity),
            },
        )
        for gesture in Gesture
    ]


def presence_configs(identity: HubIdentity, topics: Topics) -> list[tuple[str, dict[str, Any]]]:
    names = {"person": identity.person, "partner": identity.partner}
    configs = [
        (
            topics.config("binary_sensor", f"presence_{slot}"),
            {
                "name": f"{names[slot]} home",
                "unique_id": f"heartline_{identity.hub_id}_presence_{slot}",
                "state_topic": topics.presence(slot),
                "payload_on": PAYLOAD_ON,
                "payload_off": PAYLOAD_OFF,
                "device_class": "presence",
                "qos": QOS,
                "device": device(identity),
                **_availability(topics),
            },
        )
        for slot in PEOPLE
    ]
    configs.append(
        (
            topics.config("binary_sensor", "together"),
            {
                "name": "Together",
                "unique_id": f"heartline_{identity.hub_id}_together",
                "state_topic": topics.together,
                "payload_on": PAYLOAD_ON,
                "payload_off": PAYLOAD_OFF,
                "device_class": "occupancy",
                "icon": "mdi:account-heart",
                "qos": QOS,
                "device": device(identity),
                **_availability(topics),
            },
        )
    )
    return configs


def last_signal_config(identity: HubIdentity, topics: Topics) -> tuple[str, dict[str, Any]]:
    return (
        topics.config("sensor", "last_signal"),
        {
            "name": "Last signal",
            "unique_id": f"heartline_{identity.hub_id}_last_signal",
            "state_topic": topics.last_signal,
            "json_attributes_topic": topics.last_signal_attributes,
            "device_class": "enum",
            "options": [kind.value for kind in SignalKind],
            "icon": "mdi:heart-pulse",
            "qos": QOS,
            "device": device(identity),
            **_availability(topics),
        },
    )


def hub_configs(
    identity: HubIdentity, topics: Topics, button_ids: list[int]
) -> list[tuple[str, dict[str, Any]]]:
    """Every discovery config of the hub, for its current buttons."""
    configs = [*presence_configs(identity, topics), last_signal_config(identity, topics)]
    for button_id in button_ids:
        configs.extend(trigger_configs(identity, topics, button_id))
    return configs
