"""``heartline stats``: the couple's numbers from a running hub, as words or ``--json``."""

from __future__ import annotations

import json

from hub.hub_client import call_hub

BAR_WIDTH = 24


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
