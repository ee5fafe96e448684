"""The relay broker: a secure mosquitto configuration for many couples' hubs.

:func:`hub.broker.setup.setup_relay` writes everything mosquitto needs; :mod:`hub.broker.config`
holds the topic layout and access rules that every hub relies on (and that a hub imports without
loading the certificate and password tooling).
"""
