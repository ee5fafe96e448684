"""The ``heartline`` command: ``hub``, ``demo``, ``broker setup``, ``config check``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from hub import __version__
from hub.errors import HeartlineError
from hub.log import setup_logging

_LOGGER = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heartline",
        description="Heartline: a private 'thinking of you' system for two homes.",
    )
    parser.add_argument("--version", action="version", version=f"heartline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_running(commands)
    _add_managing(commands)
    _add_setting_up(commands)
    return parser


Commands = argparse._SubParsersAction  # noqa: SLF001 - argparse's documented add_subparsers() result


def _add_running(commands: Commands[argparse.ArgumentParser]) -> None:
    hub = commands.add_parser("hub", help="run the hub daemon (on the Raspberry Pi)")
    hub.add_argument("--config", type=Path, required=True, help="path to hub.toml")

    demo = commands.add_parser("demo", help="two simulated homes, a broker and the dashboard")
    demo.add_argument("--broker", metavar="URL", help="use this MQTT broker instead of an embedded one")
    demo.add_argument(
        "--notify",
        metavar="APPRISE_URL",
        action="append",
        default=[],
        help="also notify this apprise URL (e.g. ntfy://ntfy.sh/your-topic); repeatable",
    )
    demo.add_argument("--port", type=int, default=8080, help="dashboard port (default 8080)")
    demo.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="how fast the scripted day plays (default 60: a day in 24 min)",
    )
    demo.add_argument(
        "--script",
        action="store_true",
        help="play a scripted day of life at --speed (e.g. --speed 600: ~2 min)",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the demo's data here (default: a temporary dir)",
    )

    sim = commands.add_parser("sim", help="run simulated scenarios with ground truth")
    sim_commands = sim.add_subparsers(dest="sim_command", required=True, metavar="ACTION")
    sim_run = sim_commands.add_parser("run", help="run a scenario in virtual time; report ground truth")
    sim_run.add_argument("scenario", type=Path, help="e.g. firmware_sim/scenario/examples/week.toml")
    sim_run.add_argument("--json", action="store_true", help="machine-readable report")


def _add_managing(commands: Commands[argparse.ArgumentParser]) -> None:
    button = commands.add_parser("button", help="manage a running hub's buttons")
    button_commands = button.add_subparsers(dest="button_command", required=True, metavar="ACTION")
    hub_help = "the hub's web address (default http://127.0.0.1:8080)"
    add = button_commands.add_parser("add", help="register an off-the-shelf BTHome button (e.g. Shelly BLU)")
    add.add_argument("--bthome", metavar="ADDRESS", required=True, help="the button's Bluetooth address")
    add.add_argument("--key", required=True, help="its 32-hex-digit BTHome encryption (bind) key")
    add.add_argument("--owner", required=True, help="whose button it is (their touches go to their partner)")
    add.add_argument("--hub", default="http://127.0.0.1:8080", help=hub_help)
    listing = button_commands.add_parser("list", help="list registered buttons with battery and last seen")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--hub", default="http://127.0.0.1:8080", help=hub_help)
    pair = button_commands.add_parser(
        "pair", help="pair a Heartline button in pairing mode (hold its pad 10 s, let go)"
    )
    pair.add_argument("--owner", required=True, help="whose button it is")
    pair.add_argument("--timeout", type=float, default=60.0, help="seconds to look for it (max 180)")
    pair.add_argument("--hub", default="http://127.0.0.1:8080", help=hub_help)
    remove = button_commands.add_parser("remove", help="forget a button")
    remove.add_argument("id", type=int, help="its id from `heartline button list`")
    remove.add_argument("--hub", default="http://127.0.0.1:8080", help=hub_help)

    export = commands.add_parser("export", help="write everything the hub stores about you two (JSON or CSV)")
    export.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    export.add_argument(
        "--out", type=Path, required=True, help="a new file (json) or a new/empty folder (csv)"
    )
    export.add_argument("--format", choices=("json", "csv"), default="json", dest="fmt")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    forget = commands.add_parser(
        "forget", help="delete everything made before a date (through the running hub)"
    )
    forget.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    forget.add_argument(
        "--before", required=True, metavar="YYYY-MM-DD", help="midnight starting that day, hub.timezone"
    )
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    forget.add_argument("--hub", default=None, help="the hub's address (default: from [web] in the config)")

    stats = commands.add_parser("stats", help="time together, touches and streaks, from a running hub")
    stats.add_argument("--days", type=int, default=28, help="how far back (default 28)")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--hub", default="http://127.0.0.1:8080", help=hub_help)


def _add_setting_up(commands: Commands[argparse.ArgumentParser]) -> None:
    couple = commands.add_parser("couple", help="pair this hub with the partner's")
    couple_commands = couple.add_subparsers(dest="couple_command", required=True, metavar="ACTION")
    invite = couple_commands.add_parser("invite", help="print a one-time code for the partner's hub")
    invite.add_argument("--config", type=Path, required=True, help="this hub's hub.toml")
    invite.add_argument(
        "--partner-password", required=True, help="the partner hub's broker password (from broker setup)"
    )
    invite.add_argument("--hours", type=float, default=24.0, help="how long the code works (default 24)")
    join = couple_commands.add_parser("join", help="write this hub's hub.toml from an invite code")
    join.add_argument("code", help="the HL1-... code the partner's hub printed")
    join.add_argument("--config", type=Path, required=True, help="where to write hub.toml")
    join.add_argument("--person", required=True, help="who lives in this home")
    join.add_argument("--partner", required=True, help="who the other hub belongs to")
    join.add_argument("--data-dir", type=Path, required=True, help="this hub's data directory")

    config = commands.add_parser("config", help="work with hub.toml")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_commands.add_parser("check", help="validate a hub.toml and say what is wrong")
    check.add_argument("path", type=Path)

    doctor = commands.add_parser("doctor", help="check this Pi for running a hub; each failure with its fix")
    doctor.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")

    web = commands.add_parser("web", help="the dashboard's settings")
    web_commands = web.add_subparsers(dest="web_command", required=True, metavar="ACTION")
    web_commands.add_parser(
        "hash-password", help="read a dashboard password (never from the command line) and print its hash"
    )

    broker = commands.add_parser("broker", help="set up a self-hosted relay broker")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    setup = broker_commands.add_parser("setup", help="write a secure mosquitto config (TLS, passwords, ACL)")
    setup.add_argument("--out", type=Path, required=True, help="directory to write into")
    setup.add_argument("--host", required=True, help="the name hubs use to reach the broker")
    setup.add_argument("--port", type=int, default=8883, help="TLS port (default 8883)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        return _run(args)
    except HeartlineError as ex:
        print(f"heartline: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "hub": _hub,
        "demo": _demo,
        "button": _button,
        "sim": _sim,
        "couple": _couple,
        "doctor": _doctor,
        "export": _export,
        "forget": _forget,
        "web": _web,
        "stats": _stats,
        "config": _config,
        "broker": _broker,
    }
    return handlers[args.command](args)


# Each handler imports what it needs, so `heartline --help` stays fast.


def _hub(args: argparse.Namespace) -> int:
    from hub.config import load_config  # noqa: PLC0415
    from hub.server import serve_hub  # noqa: PLC0415

    config = load_config(args.config)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_hub(config))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from hub.demo.runner import DemoOptions, run_demo  # noqa: PLC0415

    options = DemoOptions(
        broker=args.broker,
        notify=args.notify,
        port=args.port,
        speed=args.speed,
        script=args.script,
        data_dir=args.data_dir,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(options))
    return 0


def _sim(args: argparse.Namespace) -> int:
    from hub.sim_cli import sim_run  # noqa: PLC0415

    return sim_run(args.scenario, json_output=args.json)


def _button(args: argparse.Namespace) -> int:
    from hub import button_cli  # noqa: PLC0415

    if args.button_command == "add":
        return button_cli.button_add(
            args.hub, address=args.bthome, key=args.key, owner=args.owner, kind="bthome"
        )
    if args.button_command == "pair":
        from hub import pair_cli  # noqa: PLC0415

        return pair_cli.button_pair(args.hub, args.owner, args.timeout)
    if args.button_command == "list":
        return button_cli.button_list(args.hub, as_json=args.json)
    return button_cli.button_remove(args.hub, button_id=args.id)


def _stats(args: argparse.Namespace) -> int:
    from hub.stats_cli import stats  # noqa: PLC0415

    return stats(args.hub, days=args.days, as_json=args.json)


def _couple(args: argparse.Namespace) -> int:
    from hub.couple.cli import couple_invite, couple_join  # noqa: PLC0415

    if args.couple_command == "invite":
        return couple_invite(args.config, args.partner_password, args.hours, sys.stdout)
    return couple_join(
        args.code,
        args.config,
        person=args.person,
        partner=args.partner,
        data_dir=args.data_dir,
        out=sys.stdout,
    )


def _export(args: argparse.Namespace) -> int:
    from hub.privacy_cli import export_cli  # noqa: PLC0415

    return export_cli(args.config, args.out, args.fmt, json_output=args.json)


def _forget(args: argparse.Namespace) -> int:
    from hub.privacy_cli import forget_cli  # noqa: PLC0415

    return forget_cli(args.config, args.before, yes=args.yes, hub=args.hub)


def _doctor(args: argparse.Namespace) -> int:
    from hub.doctor import doctor_cli  # noqa: PLC0415

    return doctor_cli(args.config, json_output=args.json)


def _web(args: argparse.Namespace) -> int:
    del args  # one action: hash-password
    from hub.web.auth import prompt_password_hash  # noqa: PLC0415

    try:
        print(prompt_password_hash())
    except ValueError as ex:
        print(f"heartline: {ex}", file=sys.stderr)
        return 2
    return 0


def _config(args: argparse.Namespace) -> int:
    from hub.config import load_config  # noqa: PLC0415

    config = load_config(args.path)
    print(f"{args.path}: ok ({len(config.buttons)} buttons, broker {config.relay.broker})")
    return 0


def _broker(args: argparse.Namespace) -> int:
    from hub.broker.cli import broker_setup  # noqa: PLC0415

    return broker_setup(args.out, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
