"""``heartline setup``: write this hub's whole hub.toml, couple key included, by asking (or from
flags, ``--yes`` for scripts); the relay settings come from the hub's relay login file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hub.cli.asking import Asker, read_secret_file
from hub.cli.parsing import Commands

if TYPE_CHECKING:
    from hub.config.write import HomeChoices, RelayChoices, WrittenConfig


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    setup = commands.add_parser(
        "setup", help="write this hub's hub.toml (couple key, time zone, adapter, relay login)"
    )
    add_setup_options(setup)
    relay = setup.add_argument_group(
        "relay", "from --relay-login FILE (written by `heartline broker setup`), or each on its own"
    )
    relay.add_argument("--relay-login", type=Path, help="this hub's .login file from the relay")
    relay.add_argument("--broker", help="the relay, e.g. mqtts://relay.example.org:8883")
    relay.add_argument("--hub-id", help="this hub's id on the relay")
    relay.add_argument("--partner-hub-id", help="the partner hub's id on the relay")
    relay.add_argument("--couple-id", help="the couple's id on the relay")
    relay.add_argument("--ca-file", type=Path, help="the relay's CA certificate (PEM)")
    relay.add_argument(
        "--password-file", type=Path, help="a file holding this hub's relay password (else it is asked)"
    )
    setup.set_defaults(handler=_setup)


def add_setup_options(parser: argparse.ArgumentParser) -> None:
    """The options ``setup`` and ``couple join`` share: where the config goes and the home's choices."""
    from hub.config.host_defaults import default_config_path  # noqa: PLC0415

    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"where to write hub.toml (default here: {default_config_path()}; ./hub.toml unless root)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing hub.toml")
    parser.add_argument("--yes", action="store_true", help="ask nothing: take every default")
    parser.add_argument("--person", help="who lives in this home")
    parser.add_argument("--partner", help="who the other hub belongs to")
    parser.add_argument("--name", help="this home's name on its dashboard (default: home)")
    parser.add_argument("--timezone", help="IANA time zone (default: this machine's)")
    parser.add_argument(
        "--transport",
        help="BLE transport (default: the first adapter, bluez:hci0); sim:HOST:PORT/NAME for the simulator",
    )
    parser.add_argument("--data-dir", type=Path, help="the hub's data directory")
    parser.add_argument("--web-port", type=int, help="dashboard port (default 8080)")
    parser.add_argument("--web-listen", help="dashboard address (default 127.0.0.1)")


def home_choices(
    args: argparse.Namespace, asker: Asker, *, person: str | None = None, partner: str | None = None
) -> HomeChoices:
    """The home's answers, flags first, then questions with this machine's defaults."""
    from hub.config.host_defaults import default_data_dir, detect_ble_transport, detect_timezone  # noqa: PLC0415
    from hub.config.write import HomeChoices  # noqa: PLC0415

    return HomeChoices(
        person=asker.text("--person", args.person, "Who lives in this home", person),
        partner=asker.text("--partner", args.partner, "Who is the partner (the other home)", partner),
        name=asker.text("--name", args.name, "This home's name", "home"),
        timezone=asker.text("--timezone", args.timezone, "Time zone", detect_timezone()),
        transport=asker.text("--transport", args.transport, "Bluetooth adapter", detect_ble_transport()),
        data_dir=asker.path("--data-dir", args.data_dir, "Data directory", default_data_dir()),
        web_port=asker.number("--web-port", args.web_port, "Dashboard port", 8080),
        web_listen=asker.text("--web-listen", args.web_listen, "Dashboard address", "127.0.0.1"),
    )


def config_path(args: argparse.Namespace) -> Path:
    from hub.config.host_defaults import default_config_path  # noqa: PLC0415

    return Path(args.config) if args.config is not None else default_config_path()


def _relay_choices(args: argparse.Namespace, asker: Asker) -> RelayChoices:
    from hub.broker.login import read_login  # noqa: PLC0415
    from hub.config.write import RelayChoices  # noqa: PLC0415

    if args.relay_login is not None:
        login = read_login(args.relay_login)
        return RelayChoices(
            broker=login.broker,
            hub_id=login.hub_id,
            partner_hub_id=login.partner_hub_id,
            couple_id=login.couple_id,
            password=login.password,
            ca_pem=login.ca_pem.encode("ascii"),
        )
    return RelayChoices(
        broker=asker.text("--broker", args.broker, "Relay broker (mqtts://HOST:PORT)"),
        hub_id=asker.text("--hub-id", args.hub_id, "This hub's id on the relay"),
        partner_hub_id=asker.text("--partner-hub-id", args.partner_hub_id, "The partner hub's id"),
        couple_id=asker.text("--couple-id", args.couple_id, "The couple's id"),
        password=(
            read_secret_file(args.password_file, "password")
            if args.password_file is not None
            else asker.secret("--password-file", "This hub's relay password")
        ),
        ca_file=args.ca_file,
    )


def _setup(args: argparse.Namespace) -> int:
    from hub.config.write import NewHubConfig, new_couple_key, write_hub_config  # noqa: PLC0415

    asker = Asker.for_command(yes=args.yes)
    path = config_path(args)
    new = NewHubConfig(
        home=home_choices(args, asker), relay=_relay_choices(args, asker), couple_key=new_couple_key()
    )
    written = write_hub_config(path, new, written_by="heartline setup", force=args.force)
    report_written(written, sys.stdout)
    out = sys.stdout
    out.write(
        "\nNext, invite the partner's hub with their hub's .login file from the relay:\n"
        f"  heartline couple invite --config {written.config_path} --partner-login hub-b.login"
        " --out invite.txt\n"
    )
    return 0


def report_written(written: WrittenConfig, out: TextIO) -> None:
    config = written.config
    out.write(
        f"Wrote {written.config_path} (0600): {config.hub.person}'s hub {config.relay.hub_id} in couple "
        f"{config.relay.couple_id}, relay {config.relay.broker}, time zone {config.hub.timezone}, "
        f"Bluetooth {config.ble.transport}, data in {config.hub.data_dir}.\n"
    )
    if written.ca_path is not None:
        out.write(f"The relay's CA certificate: {written.ca_path}\n")
