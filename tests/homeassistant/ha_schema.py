"""Home Assistant's published MQTT discovery schema, for the platforms Heartline uses.

Written down from Home Assistant's MQTT documentation (the "Configuration Variables" of each page):
- device trigger: https://www.home-assistant.io/integrations/device_trigger.mqtt/
- binary sensor:  https://www.home-assistant.io/integrations/binary_sensor.mqtt/
- sensor:         https://www.home-assistant.io/integrations/sensor.mqtt/
- discovery (topic layout, the shared ``device`` map, one trigger per topic):
                  https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery
Abbreviated keys (``stat_t``) are accepted by HA too; Heartline publishes full names only, so
only full names are allowed here.
"""

from __future__ import annotations

import re
from typing import Any, Final

# device_trigger.mqtt: automation_type, topic, type, subtype and device are required ("device"
# with at least one of identifiers/connections); "platform" only in device-based discovery.
DEVICE_TRIGGER_REQUIRED: Final = frozenset({"automation_type", "topic", "type", "subtype", "device"})
DEVICE_TRIGGER_ALLOWED: Final = DEVICE_TRIGGER_REQUIRED | {"payload", "qos", "value_template", "platform"}
# HA's translated button trigger types (others are allowed but shown raw).
DEVICE_TRIGGER_TYPES: Final = frozenset(
    {
        "button_short_press", "button_short_release", "button_long_press", "button_long_release",
        "button_double_press", "button_triple_press", "button_quadruple_press", "button_quintuple_press",
    }
)  # fmt: skip

# Keys every MQTT entity platform shares (availability, device, naming, attributes).
_ENTITY_COMMON: Final = frozenset(
    {
        "availability", "availability_mode", "availability_template", "availability_topic",
        "default_entity_id", "device", "enabled_by_default", "encoding", "entity_category",
        "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "name",
        "object_id", "payload_available", "payload_not_available", "platform", "qos", "unique_id",
        "value_template",
    }
)  # fmt: skip

BINARY_SENSOR_REQUIRED: Final = frozenset({"state_topic"})
BINARY_SENSOR_ALLOWED: Final = _ENTITY_COMMON | BINARY_SENSOR_REQUIRED | {
    "device_class", "expire_after", "force_update", "off_delay", "payload_off", "payload_on",
}  # fmt: skip
# binary_sensor device classes (https://www.home-assistant.io/integrations/binary_sensor/#device-class).
BINARY_SENSOR_DEVICE_CLASSES: Final = frozenset(
    {
        "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door",
        "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug",
        "power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update",
        "vibration", "window",
    }
)  # fmt: skip

SENSOR_REQUIRED: Final = frozenset({"state_topic"})
SENSOR_ALLOWED: Final = _ENTITY_COMMON | SENSOR_REQUIRED | {
    "device_class", "expire_after", "force_update", "last_reset_value_template", "options",
    "state_class", "suggested_display_precision", "unit_of_measurement",
}  # fmt: skip

DEVICE_ALLOWED: Final = frozenset(
    {
        "configuration_url", "connections", "hw_version", "identifiers", "manufacturer", "model",
        "model_id", "name", "serial_number", "suggested_area", "sw_version", "via_device",
    }
)  # fmt: skip

SCHEMAS: Final = {
    "device_automation": (DEVICE_TRIGGER_REQUIRED, DEVICE_TRIGGER_ALLOWED),
    "binary_sensor": (BINARY_SENSOR_REQUIRED, BINARY_SENSOR_ALLOWED),
    "sensor": (SENSOR_REQUIRED, SENSOR_ALLOWED),
}
# <discovery_prefix>/<component>/[<node_id>/]<object_id>/config; ids are [a-zA-Z0-9_-].
TOPIC: Final = re.compile(
    r"^(?P<prefix>[^/#+]+)/(?P<component>[a-z_]+)/(?:[a-zA-Z0-9_-]+/)?[a-zA-Z0-9_-]+/config$"
)
WILDCARDS: Final = re.compile(r"[#+]")


def problems(topic: str, payload: dict[str, Any]) -> list[str]:
    """Everything about one discovery message that HA's schema does not allow (empty: valid)."""
    match = TOPIC.match(topic)
    if match is None:
        return [f"{topic}: not a discovery config topic"]
    component = match["component"]
    if component not in SCHEMAS:
        return [f"{topic}: no schema written down for {component}"]
    required, allowed = SCHEMAS[component]
    found = [f"{topic}: missing {key}" for key in sorted(required - payload.keys())]
    found += [f"{topic}: unknown key {key}" for key in sorted(payload.keys() - allowed)]
    for key, value in payload.items():
        if key.endswith("topic") and (not isinstance(value, str) or not value or WILDCARDS.search(value)):
            found.append(f"{topic}: {key} must be a topic without wildcards")
    if "qos" in payload and payload["qos"] not in (0, 1, 2):
        found.append(f"{topic}: qos must be 0, 1 or 2")
    if "device" in payload:
        found += _device_problems(topic, payload["device"])
    found += _platform_problems(topic, component, payload)
    if component != "device_automation" and "unique_id" not in payload:
        found.append(f"{topic}: entities with a device need a unique_id")
    return found


def _device_problems(topic: str, device: object) -> list[str]:
    if not isinstance(device, dict):
        return [f"{topic}: device must be a map"]
    found = [f"{topic}: unknown device key {key}" for key in sorted(device.keys() - DEVICE_ALLOWED)]
    if not device.get("identifiers") and not device.get("connections"):
        found.append(f"{topic}: device needs identifiers or connections")
    return found


def _platform_problems(topic: str, component: str, payload: dict[str, Any]) -> list[str]:
    found = []
    if component == "device_automation":
        if payload.get("automation_type") != "trigger":
            found.append(f"{topic}: automation_type must be 'trigger'")
        if payload.get("type") not in DEVICE_TRIGGER_TYPES:
            found.append(f"{topic}: type {payload.get('type')!r} is not one HA translates")
    if (
        component == "binary_sensor"
        and payload.get("device_class", "presence") not in BINARY_SENSOR_DEVICE_CLASSES
    ):
        found.append(f"{topic}: unknown binary_sensor device_class")
    if component == "sensor" and payload.get("device_class") == "enum":
        options = payload.get("options")
        if not isinstance(options, list) or not options or "unit_of_measurement" in payload:
            found.append(f"{topic}: an enum sensor needs options and no unit")
    return found
