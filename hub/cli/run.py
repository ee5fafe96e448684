"""``heartline hub --config PATH``: run the hub daemon."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    hub = commands.add_parser("hub", help="run the hub daemon (on the Raspberry Pi)")
    hub.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    hub.set_defaults(handler=_hub)


def _hub(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from hub.config import load_config  # noqa: PLC0415
    from hub.server import serve_hub  # noqa: PLC0415

    config = load_config(args.config)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_hub(config))
    return 0
