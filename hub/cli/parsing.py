"""What the verb modules share to build their parsers.

Every verb module is imported to build the parser, so none may import a heavy dependency at the top:
each handler imports what it needs, which keeps ``heartline --help`` fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Protocol

from hub.cli.client import DEFAULT_HUB

Commands = argparse._SubParsersAction  # noqa: SLF001 - argparse's documented add_subparsers() result
# A command's handler, set as the ``handler`` default of its parser: parsed arguments in, exit code out.
Handler = Callable[[argparse.Namespace], int]


class VerbGroup(Protocol):
    """A verb module: it adds its commands, each with its ``handler``."""

    def add_commands(self, commands: Commands[argparse.ArgumentParser]) -> None: ...


def add_hub_option(parser: argparse.ArgumentParser) -> None:
    """``--hub``, for the commands that ask a running hub through its local API."""
    parser.add_argument("--hub", default=DEFAULT_HUB, help=f"the hub's web address (default {DEFAULT_HUB})")
