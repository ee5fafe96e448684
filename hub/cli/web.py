"""``heartline web hash-password``: the dashboard's settings."""

from __future__ import annotations

import argparse
import sys

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    web = commands.add_parser("web", help="the dashboard's settings")
    web_commands = web.add_subparsers(dest="web_command", required=True, metavar="ACTION")
    hash_password = web_commands.add_parser(
        "hash-password", help="read a dashboard password (never from the command line) and print its hash"
    )
    hash_password.set_defaults(handler=_hash_password)


def _hash_password(args: argparse.Namespace) -> int:
    del args  # the password is read from the terminal, never from the command line
    from hub.web.auth import prompt_password_hash  # noqa: PLC0415

    try:
        print(prompt_password_hash())
    except ValueError as ex:
        print(f"heartline: {ex}", file=sys.stderr)
        return 2
    return 0
