"""``heartline sim run SCENARIO.toml``: a headless scenario with a ground-truth report.
``heartline sim radio``: a simulated radio that real hubs join, with buttons made on request."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser("sim", help="run simulated scenarios with ground truth")
    sim_commands = sim.add_subparsers(dest="sim_command", required=True, metavar="ACTION")
    run = sim_commands.add_parser("run", help="run a scenario in virtual time; report ground truth")
    run.add_argument("scenario", type=Path, help="e.g. firmware_sim/scenario/examples/week.toml")
    run.add_argument("--json", action="store_true", help="machine-readable report")
    run.set_defaults(handler=_run)
    radio = sim_commands.add_parser(
        "radio", help="a simulated radio real hubs join (transport sim:127.0.0.1:PORT/NAME), with controls"
    )
    radio.add_argument(
        "--port", type=_port, default=7000, help="the air's TCP port (default 7000; 0: any free)"
    )
    radio.add_argument(
        "--control-port", type=_port, default=7001, help="the HTTP controls' port (default 7001; 0: any free)"
    )
    radio.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the buttons (keys, counters) here (default: a temporary dir)",
    )
    radio.set_defaults(handler=_radio)


def _run(args: argparse.Namespace) -> int:
    return sim_run(args.scenario, json_output=args.json)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0 to 65535)")
    return port


def _radio(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from hub.sim_radio.serve import RadioOptions, serve_radio  # noqa: PLC0415 - the air is heavy for `--help`

    options = RadioOptions(port=args.port, control_port=args.control_port, data_dir=args.data_dir)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_radio(options))
    return 0


def sim_run(path: Path, *, json_output: bool) -> int:
    """Run the scenario at ``path`` in virtual time; print the report. Returns an exit code:
    0 when every touch made in range of a hub was logged by that hub, 1 otherwise, 2 when
    the scenario file is invalid."""
    from firmware_sim.scenario.config import ScenarioError, load_scenario  # noqa: PLC0415
    from firmware_sim.scenario.runner import format_report, run_scenario  # noqa: PLC0415

    try:
        scenario = load_scenario(path)
    except ScenarioError as ex:
        print(f"heartline: {ex}", file=sys.stderr)
        return 2
    report = run_scenario(scenario)
    if json_output:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(format_report(report))
    missed = [d.name for d in report.devices if sum(d.hub_events.values()) < d.touches_in_range]
    return 1 if missed else 0
