"""``heartline demo``: two simulated homes, a broker and the dashboard."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="two simulated homes, a broker and the dashboard")
    demo.add_argument("--broker", metavar="URL", help="use this MQTT broker instead of an embedded one")
    demo.add_argument(
        "--protocol",
        choices=("auto", "mqtt5", "mqtt311"),
        default="auto",
        help="MQTT version for --broker (default auto: MQTT 5, or 3.1.1 when the broker refuses it)",
    )
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
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from hub.demo.runner import DemoOptions, run_demo  # noqa: PLC0415

    options = DemoOptions(
        broker=args.broker,
        notify=args.notify,
        port=args.port,
        speed=args.speed,
        script=args.script,
        data_dir=args.data_dir,
        protocol=args.protocol,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(options))
    return 0
