"""``heartline sim run SCENARIO.toml``: a headless scenario with a ground-truth report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from firmware_sim.scenario.config import ScenarioError, load_scenario
from firmware_sim.scenario.runner import format_report, run_scenario


def sim_run(path: Path, *, json_output: bool) -> int:
    """Run the scenario at ``path`` in virtual time; print the report. Returns an exit code:
    0 when every touch made in range of a hub was logged by that hub, 1 otherwise, 2 when
    the scenario file is invalid."""
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
