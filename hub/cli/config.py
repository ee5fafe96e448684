"""``heartline config check PATH``: validate a hub.toml and say what is wrong."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    config = commands.add_parser("config", help="work with hub.toml")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = config_commands.add_parser(
        "check", help="validate a hub.toml (a random couple key too) and say what is wrong"
    )
    check.add_argument("path", type=Path)
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from hub.config import load_config  # noqa: PLC0415

    config = load_config(args.path)
    print(f"{args.path}: ok ({len(config.buttons)} buttons, broker {config.relay.broker})")
    return 0
