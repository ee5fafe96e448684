"""``heartline broker setup``: write a relay broker's config for one new couple and print its logins."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    broker = commands.add_parser("broker", help="set up a self-hosted relay broker")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    setup = broker_commands.add_parser("setup", help="write a secure mosquitto config (TLS, passwords, ACL)")
    setup.add_argument("--out", type=Path, required=True, help="directory to write into")
    setup.add_argument("--host", required=True, help="the name hubs use to reach the broker")
    setup.add_argument("--port", type=int, default=8883, help="TLS port (default 8883)")
    setup.set_defaults(handler=_setup)


def _setup(args: argparse.Namespace) -> int:
    return broker_setup(args.out, host=args.host, port=args.port)


def broker_setup(out: Path, *, host: str, port: int) -> int:
    from hub.broker.setup import setup_new_couple  # noqa: PLC0415

    setup = setup_new_couple(out, host=host, tls_port=port)
    (couple,) = setup.couples
    print(f"wrote a mosquitto relay config to {setup.out_dir}")
    print(f"  run it with:  mosquitto -c {setup.config_path}")
    print(f"  give each hub {setup.ca_cert_path} and its login (shown once, not stored):")
    for hub_id in couple.hubs:
        credentials = setup.credentials[hub_id]
        print(f"    hub {hub_id}: password {credentials.password}")
    return 0
