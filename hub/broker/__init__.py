"""The relay broker: a secure mosquitto configuration for many couples' hubs.

:func:`setup_relay` writes everything mosquitto needs; :mod:`hub.broker.config` holds the
topic layout and access rules that every hub relies on.
"""

from hub.broker.config import (
    Couple,
    RelayConfigError,
    inbox_topic,
    status_topic,
)
from hub.broker.setup import HubCredentials, RelaySetup, setup_relay

__all__ = [
    "Couple",
    "HubCredentials",
    "RelayConfigError",
    "RelaySetup",
    "inbox_topic",
    "setup_relay",
    "status_topic",
]
