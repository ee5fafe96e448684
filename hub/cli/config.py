"""``heartline config check PATH``: validate a hub.toml and say everything that is wrong.

Every problem is one line (``FILE: KEY: what is wrong and the fix``) on stderr, in the schema's
order (table by table, then the rules), then one ``heartline:`` line counting them (a single
problem is that one line, ``heartline: FILE: KEY: ...``); the exit status is then 2."""

from __future__ import annotations

import argparse
import sys
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


EXIT_CONFIG = 2


def _check(args: argparse.Namespace) -> int:
    from hub.config.load import config_report  # noqa: PLC0415

    config, problems = config_report(args.path)
    if config is not None:
        print(f"{args.path}: ok ({len(config.buttons)} buttons, broker {config.relay.broker})")
        return 0
    if len(problems) == 1:
        print(f"heartline: {problems[0]}", file=sys.stderr)  # as every other command fails
        return EXIT_CONFIG
    for problem in problems:
        print(problem, file=sys.stderr)
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    print(f"heartline: {args.path}: {count}; fix each line above and check again", file=sys.stderr)
    return EXIT_CONFIG
