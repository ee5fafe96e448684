"""``heartline broker setup`` and ``heartline broker add-couple``: a self-hosted mosquitto relay
for one couple or many, with one login file per hub."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hub.cli.parsing import Commands

if TYPE_CHECKING:
    from hub.broker.setup import NewCouple


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    broker = commands.add_parser("broker", help="set up a self-hosted relay broker")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    setup = broker_commands.add_parser(
        "setup", help="write a secure mosquitto relay (TLS, passwords, ACL) and the first couple's logins"
    )
    setup.add_argument("--out", type=Path, required=True, help="directory to write into")
    setup.add_argument("--host", required=True, help="the name (or address) hubs use to reach the relay")
    setup.add_argument("--port", type=int, default=8883, help="TLS port hubs connect to (default 8883)")
    setup.add_argument(
        "--bind",
        default="0.0.0.0",  # noqa: S104 - the relay is meant to be reachable
        help="address the TLS listener binds (default 0.0.0.0, every interface: works behind NAT)",
    )
    local = setup.add_mutually_exclusive_group()
    local.add_argument(
        "--local-port",
        type=int,
        default=1883,
        help="plain-text listener on 127.0.0.1 for tools on this machine (default 1883; 0 for none)",
    )
    local.add_argument("--no-local", action="store_true", help="no plain-text listener at all")
    setup.add_argument(
        "--user",
        help="when run as root: the user mosquitto switches to and that owns its files (default mosquitto)",
    )
    setup.add_argument(
        "--profile",
        choices=("durable", "hosted"),
        default="durable",
        help=(
            "durable (default): mosquitto saves after every change, for a home relay of a few couples; "
            "hosted: a snapshot every 5 minutes, disk writes independent of the touches, for many "
            "couples (the hubs' outboxes keep every signal until the partner's receipt)"
        ),
    )
    setup.add_argument(
        "--force",
        action="store_true",
        help="replace a relay already in --out (new CA: every hub needs a new login)",
    )
    setup.set_defaults(handler=_setup)
    add = broker_commands.add_parser(
        "add-couple", help="add another couple to a relay (existing logins and the CA stay as they are)"
    )
    add.add_argument("--out", type=Path, required=True, help="the relay's directory (from broker setup)")
    add.set_defaults(handler=_add_couple)


def _setup(args: argparse.Namespace) -> int:
    from hub.broker.config import RelayProfile  # noqa: PLC0415
    from hub.broker.setup import create_relay  # noqa: PLC0415

    local_port = None if args.no_local or args.local_port == 0 else args.local_port
    new = create_relay(
        args.out,
        host=args.host,
        tls_port=args.port,
        bind=args.bind,
        local_port=local_port,
        user=args.user,
        force=args.force,
        profile=RelayProfile.parse(args.profile),
    )
    setup = new.setup
    out = sys.stdout
    out.write(f"Wrote a mosquitto relay to {setup.out_dir} (profile {args.profile})\n")
    if new.run_as.note:
        out.write(f"  note: {new.run_as.note}\n")
    elif new.run_as.owner is not None:
        out.write(
            f"  mosquitto switches to user '{new.run_as.owner.name}', which now owns the files it reads\n"
        )
    out.write(f"  start it:  mosquitto -c {setup.config_path}\n")
    out.write(f"  hubs connect to {new.logins[0].login.broker} (TLS, this relay's own CA)\n")
    _print_couple(new, out)
    return 0


def _add_couple(args: argparse.Namespace) -> int:
    from hub.broker.setup import add_couple  # noqa: PLC0415

    new = add_couple(args.out)
    out = sys.stdout
    out.write(f"Added couple {new.number} to the relay in {new.setup.out_dir}\n")
    out.write(
        "  mosquitto reads the new logins on SIGHUP: `systemctl reload mosquitto`, or `kill -HUP PID` "
        "with the pid of the mosquitto running this relay (other couples stay connected)\n"
    )
    _print_couple(new, out)
    return 0


def _print_couple(new: NewCouple, out: TextIO) -> None:
    out.write(f"\ncouple {new.number}: couple id {new.couple.couple_id}\n")
    out.writelines(
        f"  {role}: hub id {hub_login.login.hub_id}, login {hub_login.path}\n"
        for role, hub_login in zip(("first hub", "partner's hub"), new.logins, strict=True)
    )
    first, second = new.logins
    out.write(
        "\nEach login file holds that hub's password and the relay's CA (mode 0600): copy "
        f"{first.path.name} to the first hub and {second.path.name} to the partner's, and on the first run\n"
        f"  heartline setup --relay-login {first.path.name}\n"
    )
