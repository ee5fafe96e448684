"""The short form of benchmarks/presence_accuracy.py on 10 person-days (one home).

The 0.05 spurious-sessions-a-day goal is an average over the 200-day benchmark; a single hard
home can exceed it, so here Heartline's log must only beat the peers' with comparable delay.
"""

from __future__ import annotations

import numpy as np

from benchmarks.presence_accuracy import run


def test_heartline_meets_the_error_goal_and_beats_the_peers() -> None:
    scores = run(10, seed=1)
    ours = scores["Heartline"]
    assert ours.wrong_s / ours.home_s <= 0.01
    assert ours.missed == 0
    for name, other in scores.items():
        assert ours.wrong_s <= other.wrong_s, name
    for name in (
        "fixed timeout 120 s",
        "Kalman + 60 s timeout (room-assistant)",
        "median in Tukey fences, 15 s (ESPresense)",
    ):
        assert ours.spurious <= scores[name].spurious, name
    # Departures, in the traces' simulated time (not this machine's): within 45 s at the median,
    # sooner than every peer but the 15 s rule that logs dozens of false sessions a day.
    departure = float(np.median(ours.departure))
    assert departure <= 45.0
    for name in ("fixed timeout 120 s", "fixed timeout 300 s", "Kalman + 60 s timeout (room-assistant)"):
        assert departure < float(np.median(scores[name].departure)), name
