"""``heartline stats``: the couple's numbers from a running hub, as words or ``--json``."""

from __future__ import annotations

import argparse
import json

from hub.cli.client import call_hub
from hub.cli.parsing import Commands, add_hub_option

BAR_WIDTH = 24


def add_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    stats_parser = commands.add_parser("stats", help="time together, touches and streaks, from a running hub")
    stats_parser.add_argument("--days", type=int, default=28, help="how far back (default 28)")
    stats_parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_hub_option(stats_parser)
    stats_parser.set_defaults(handler=_stats)


def _stats(args: argparse.Namespace) -> int:
    return stats(args.hub, days=args.days, as_json=args.json)


def stats(hub: str, *, days: int, as_json: bool) -> int:
    report = call_hub(hub, "GET", f"/api/stats?days={days}")
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    for line in report["summary"]:
        print(line)
    weeks = report["together_hours_by_week"]
    if weeks:
        top = max(*weeks, 1e-9)
        print("\ntogether, hours per week:")
        for index, hours in enumerate(weeks, 1):
            print(f"  week {index}: {'#' * round(BAR_WIDTH * hours / top):<{BAR_WIDTH}} {hours:.1f}")
    sent, received = report["touches_sent"], report["touches_received"]
    days = report["days"]
    print(f"\ntouches in the last {days} days: {sum(sent.values())} sent, {sum(received.values())} received")
    return 0
