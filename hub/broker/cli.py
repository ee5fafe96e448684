"""``heartline broker setup``: write a relay broker's config for one new couple and print its logins."""

from __future__ import annotations

import secrets
from pathlib import Path

from hub.broker.config import Couple
from hub.broker.setup import setup_relay

# The plain-text listener of a relay serves only local tools (and tests); hubs use TLS.
LOCAL_PORT = 1883


def broker_setup(out: Path, *, host: str, port: int) -> int:
    couple = Couple("c" + secrets.token_hex(5), ("h" + secrets.token_hex(5), "h" + secrets.token_hex(5)))
    setup = setup_relay(out, host=host, port=LOCAL_PORT, tls_port=port, couples=[couple])
    print(f"wrote a mosquitto relay config to {setup.out_dir}")
    print(f"  run it with:  mosquitto -c {setup.config_path}")
    print(f"  give each hub {setup.ca_cert_path} and its login (shown once, not stored):")
    for hub_id in couple.hubs:
        credentials = setup.credentials[hub_id]
        print(f"    hub {hub_id}: password {credentials.password}")
    return 0
