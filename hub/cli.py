"""The ``heartline`` command: ``hub``, ``demo``, ``broker setup``, ``config check``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
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
    demo.add_argument("--speed", type=float, default=1.0, help="how fast simulated time runs (default 1)")
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the demo's data here (default: a temporary dir)",
    )

    config = commands.add_parser("config", help="work with hub.toml")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_commands.add_parser("check", help="validate a hub.toml and say what is wrong")
    check.add_argument("path", type=Path)

    broker = commands.add_parser("broker", help="set up a self-hosted relay broker")
    broker_commands = broker.add_subparsers(dest="broker_command", required=True, metavar="ACTION")
    setup = broker_commands.add_parser("setup", help="write a secure mosquitto config (TLS, passwords, ACL)")
    setup.add_argument("--out", type=Path, required=True, help="directory to write into")
    setup.add_argument("--host", required=True, help="the name hubs use to reach the broker")
    setup.add_argument("--port", type=int, default=8883, help="TLS port (default 8883)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        return _run(args)
    except HeartlineError as ex:
        print(f"heartline: {ex}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "hub":
        from hub.config import load_config  # noqa: PLC0415 - keep `heartline --help` fast
        from hub.server import serve_hub  # noqa: PLC0415

        config = load_config(args.config)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_hub(config))
        return 0
    if args.command == "demo":
        from hub.demo.runner import DemoOptions, run_demo  # noqa: PLC0415

        options = DemoOptions(
            broker=args.broker,
            notify=args.notify,
            port=args.port,
            speed=args.speed,
            data_dir=args.data_dir,
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_demo(options))
        return 0
    if args.command == "config":
        from hub.config import load_config  # noqa: PLC0415

        config = load_config(args.path)
        print(f"{args.path}: ok ({len(config.buttons)} buttons, broker {config.relay.broker})")
        return 0
    if args.command == "broker":
        from hub.broker.cli import broker_setup  # noqa: PLC0415

        return broker_setup(args.out, host=args.host, port=args.port)
    raise AssertionError(args.command)  # argparse only lets known commands through


if __name__ == "__main__":
    sys.exit(main())
