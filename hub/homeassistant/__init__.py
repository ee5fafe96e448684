"""Optional Home Assistant MQTT discovery: the hub appears in the couple's own Home Assistant.

Publishes to the couple's *local* HA broker (never the relay): one HA device per hub, a device
trigger per button and gesture, presence binary sensors, the last signal as a sensor.
"""
