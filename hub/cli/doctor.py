"""``heartline doctor --config PATH [--json]``: check this Pi for running a hub."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.parsing import Commands

if TYPE_CHECKING:
    from hub.doctor import Check


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser("doctor", help="check this Pi for running a hub; each failure with its fix")
    doctor.add_argument("--config", type=Path, required=True, help="path to hub.toml")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    return doctor_cli(args.config, json_output=args.json)


def doctor_cli(
    config_path: Path, *, json_output: bool, write: Callable[[str], object] = sys.stdout.write
) -> int:
    """Run every check and show the report: 0 when nothing failed, 1 otherwise."""
    from hub.doctor import exit_code, run_checks  # noqa: PLC0415

    checks = run_checks(config_path)
    if json_output:
        payload = {"ok": exit_code(checks) == 0, "checks": [asdict(check) for check in checks]}
        write(json.dumps(payload, indent=2) + "\n")
    else:
        for line in format_report(checks):
            write(line + "\n")
    return exit_code(checks)


def format_report(checks: list[Check]) -> Iterator[str]:
    """One line per check; a failure or warning is followed by its fix."""
    from hub.doctor import Status  # noqa: PLC0415

    width = max(len(check.name) for check in checks)
    for check in checks:
        yield f"{check.status.value}  {check.name.ljust(width)}  {check.detail}"
        if check.fix and check.status in {Status.WARN, Status.FAIL}:
            yield f"{'':4}  {'':{width}}  fix: {check.fix}"
