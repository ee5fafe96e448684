"""The ``heartline`` command: the parser assembled from the verb modules, and the dispatch."""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Final

from hub import __version__
from hub.cli import broker, button, config, couple, demo, doctor, privacy, run, setup, sim, stats, web
from hub.cli.parsing import Handler, VerbGroup
from hub.errors import HeartlineError, StartError
from hub.log import setup_logging

# In the order `heartline --help` lists them: running, then managing a hub, then setting one up.
VERB_GROUPS: tuple[VerbGroup, ...] = (
    run,
    demo,
    sim,
    button,
    privacy,
    stats,
    setup,
    couple,
    config,
    doctor,
    web,
    broker,
)


# A wrong command line or config (argparse uses 2 as well); a failure while starting or running.
EXIT_USAGE: Final = 2
EXIT_RUNTIME: Final = 1


def _fail(ex: HeartlineError, status: int, *, verbose: bool) -> int:
    """One line naming what failed and the fix, last on stderr; the traceback only with -v."""
    if verbose:
        traceback.print_exception(ex, file=sys.stderr)
    sys.stderr.flush()
    print(f"heartline: {ex}", file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heartline",
        description="Heartline: a private 'thinking of you' system for two homes.",
    )
    parser.add_argument("--version", action="version", version=f"heartline {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in VERB_GROUPS:
        group.add_commands(commands)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(verbose=args.verbose)
    handler: Handler = args.handler
    try:
        return handler(args)
    except StartError as ex:
        return _fail(ex, EXIT_RUNTIME, verbose=args.verbose)
    except HeartlineError as ex:
        return _fail(ex, EXIT_USAGE, verbose=args.verbose)
    except KeyboardInterrupt:
        return 130
