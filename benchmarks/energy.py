"""Energy per day and days of battery for each power mode, from the scenario runner.

    python -m benchmarks.energy [--days N] [--quick]

Runs firmware_sim/scenario/examples/week.toml (``--days`` of it, default the whole week; one
day with ``--quick``): the wearables in their deep-sleep power mode (device/sleep.py), the
bedside button always listening. The baseline is the stock always-on firmware on the same
device's activity in the same run; the auto-light-sleep row is not reachable on a stock image
and is shown for comparison only. Also each wearable's feedback latency (hub sends -> button
confirms), the price of sleeping.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from benchmarks.timing import table
from firmware_sim.energy.model import NOT_STOCK
from firmware_sim.scenario.config import load_scenario
from firmware_sim.scenario.runner import run_scenario

WEEK = Path(__file__).resolve().parents[1] / "firmware_sim" / "scenario" / "examples" / "week.toml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.energy", description=__doc__)
    parser.add_argument("--days", type=float, default=7.0, help="virtual days of the example week")
    parser.add_argument("--quick", action="store_true", help="one virtual day")
    args = parser.parse_args(argv)
    days = 1.0 if args.quick else args.days
    report = run_scenario(dataclasses.replace(load_scenario(WEEK), days=days))
    rows: list[list[object]] = []
    for device in report.devices:
        if device.energy is None:
            continue
        for profile in device.energy.profiles:
            label = profile.profile + (f" ({NOT_STOCK})" if profile.profile == "auto-light-sleep" else "")
            rows.append(
                [
                    device.name,
                    device.energy.battery,
                    label,
                    round(profile.average_ma, 3),
                    round(profile.mah_per_day, 2),
                    round(profile.life_days, 1),
                ]
            )
    print(
        f"example week, {days:g} virtual days ({report.real_seconds:.0f} s real); baseline: stock always-on"
    )
    print(table(["device", "battery", "power mode", "avg mA", "mAh/day", "days"], rows))
    print()
    latency_rows = [
        [d.name, d.power, *(d.latency_summary() or {}).values()]
        for d in report.devices
        if d.latency_summary()
    ]
    print(table(["device", "power", "latency median s", "p95 s", "max s"], latency_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
