"""Presence history and weekly statistics: numpy batch recompute beside a plain-Python loop.

    python -m benchmarks.presence_speed [--days N] [--quick]

Four devices (four people's wearables, each with its home's other adverts) over ``--days`` of
one-advert-a-second history from benchmarks/presence_traces.py. Two ways over the same data:

* numpy: ``hub.presence.batch.recompute`` per device, then the weekly statistics
  (``hub.stats.presence.summarise``) from the sessions;
* plain Python: the live engine (``hub.presence.engine``), fed advert by advert with a tick
  every second, as the hub runs it, then the same statistics.

Also the incremental cost per advert (the live engine's observe), in µs.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.presence_traces import Trace, generate
from benchmarks.timing import table
from hub.presence.batch import DeafMeasure, recompute
from hub.presence.engine import PresenceEngine, TransitionKind
from hub.stats.presence import summarise

DEVICES = 4
OTHER = "OTHER"


def _numpy(traces: list[Trace], until: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    sessions = {}
    for index, trace in enumerate(traces):
        deaf = DeafMeasure.from_streams([trace.other_times], until)
        result = recompute(trace.person_times, trace.person_rssi, deaf, until)
        sessions[f"p{index}"] = (result.arrive, np.where(np.isnan(result.leave), until, result.leave))
    return sessions


def _plain(trace: Trace, until: float) -> tuple[tuple[np.ndarray, np.ndarray], int]:
    engine = PresenceEngine({"DEV": "p"})
    times = np.concatenate((trace.person_times, trace.other_times))
    mine = np.concatenate((np.ones(trace.person_times.size, bool), np.zeros(trace.other_times.size, bool)))
    rssi = np.concatenate((trace.person_rssi, np.full(trace.other_times.size, -60.0)))
    order = np.argsort(times, kind="stable")
    arrive: list[float] = []
    leave: list[float] = []

    def apply(kind: TransitionKind, since: float) -> None:
        if kind is TransitionKind.ARRIVE:
            arrive.append(since)
            leave.append(until)
        elif kind is TransitionKind.RESUME:
            leave[-1] = until
        else:
            leave[-1] = since

    next_tick = 1.0
    for t, is_mine, r in zip(times[order].tolist(), mine[order].tolist(), rssi[order].tolist(), strict=True):
        while next_tick < t:
            for tr in engine.tick(next_tick):
                apply(tr.kind, tr.since)
            next_tick += 1.0
        tr1 = engine.observe("DEV" if is_mine else OTHER, r, t)
        if tr1 is not None:
            apply(tr1.kind, tr1.since)
    return (np.array(arrive), np.array(leave)), int(times.size)


def _weekly(sessions: dict[str, tuple[np.ndarray, np.ndarray]], days: int) -> float:
    """The statistics, reduced to one number to compare: total presence time of everyone."""
    summary = summarise(sessions, date(2026, 1, 5), days, ZoneInfo("UTC"))
    return float(sum(values.sum() for values in summary.presence_by_day.values()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.presence_speed", description=__doc__)
    parser.add_argument("--days", type=int, default=60, help="days of history per device (365: a year)")
    parser.add_argument("--quick", action="store_true", help="7 days")
    args = parser.parse_args(argv)
    days = 7 if args.quick else args.days
    traces = [generate(days, seed=100 + index) for index in range(DEVICES)]
    until = float(days * 86_400)
    adverts = sum(t.person_times.size + t.other_times.size for t in traces)

    started = time.perf_counter()
    batch = _numpy(traces, until)
    batch_weekly = _weekly(batch, days)
    numpy_s = time.perf_counter() - started

    started = time.perf_counter()
    plain: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    engine_s = 0.0
    for index, trace in enumerate(traces):
        t0 = time.perf_counter()
        plain[f"p{index}"], _count = _plain(trace, until)
        engine_s += time.perf_counter() - t0
    plain_weekly = _weekly(plain, days)
    plain_s = time.perf_counter() - started

    agree = abs(batch_weekly - plain_weekly) <= 0.01 * max(batch_weekly, plain_weekly, 1.0)
    print(f"{DEVICES} devices x {days} days, {adverts:,} adverts (one a second each, with losses)\n")
    print(
        table(
            ["path", "seconds", "µs per advert", "x numpy"],
            [
                ["numpy batch recompute + weekly stats", numpy_s, numpy_s / adverts * 1e6, 1.0],
                [
                    "plain-Python loop (the live engine) + stats",
                    plain_s,
                    plain_s / adverts * 1e6,
                    plain_s / numpy_s,
                ],
            ],
        )
    )
    print(f"\nincremental cost per advert (live engine, ticks included): {engine_s / adverts * 1e6:.2f} µs")
    print(f"both give the same presence time (within 1%): {'yes' if agree else 'NO'}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
