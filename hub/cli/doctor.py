"""``heartline doctor --config PATH [--json]``: check this Pi for running a hub."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.parsing import Commands


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser("doctor", help="check this Pi for running a hub; each failure with its fix")
    doctor.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from hub.doctor import doctor_cli  # noqa: PLC0415

    return doctor_cli(args.config, json_output=args.json)
