"""Presence accuracy on seeded person-days with ground truth: Heartline beside its peers.

    python -m benchmarks.presence_accuracy [--days 200] [--seed 1]

One table, a row per algorithm, all measured on the same traces (benchmarks/presence_traces.py):

* presence-time error: seconds the *logged sessions* got wrong (either way) / seconds truly home;
* spurious sessions per day: logged sessions beyond one per true stay, plus sessions during
  which the person was not home at all;
* median arrival / departure delay: from the truth (crossing the property line) to when the
  algorithm's *live* state changed; negative means it said so before it happened;
* missed per day: true arrivals or departures that the live state never reflected;
* live flaps per day: live "left" decisions that were not a departure. For the peers the live
  state *is* the log; Heartline re-joins a session broken by a flap when the person is heard
  again within MERGE_GAP_S, so its log can be cleaner than its live state.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from benchmarks.presence_baselines import ROOM_ASSISTANT_TIMEOUT_S, TUKEY_WINDOW_S, timeout_sessions
from benchmarks.presence_traces import DAY_S, Trace, generate, truth_sessions
from hub.presence import params as P  # noqa: N812
from hub.presence.batch import DeafMeasure, recompute

F64 = npt.NDArray[np.float64]
DAYS_PER_PERSON = 20
EARLY_WINDOW_S = 300.0  # a detection this long before the truth still counts as that event


@dataclass(slots=True)
class Score:
    wrong_s: float = 0.0
    home_s: float = 0.0
    spurious: int = 0
    missed: int = 0
    live_exits: int = 0
    days: float = 0.0
    arrival: list[float] = field(default_factory=list)
    departure: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Outcome:
    arrive: F64
    leave: F64  # NaN: open at the end
    enter_at: F64
    exit_at: F64


def heartline(trace: Trace) -> Outcome:
    until = float(trace.seconds)
    deaf = DeafMeasure.from_streams([trace.other_times], until)
    r = recompute(trace.person_times, trace.person_rssi, deaf, until)
    return Outcome(r.arrive, r.leave, r.enter_at, r.exit_at)


def sleepy_heartline(trace: Trace) -> Outcome:
    """The wearable asleep between windows, its listen period known (as from its listen advert):
    its own adverts stay out of the deaf time, and it leaves after two missed windows."""
    until = float(trace.seconds)
    deaf = DeafMeasure.from_streams([trace.other_times], until)
    sleepy = np.full(trace.person_times.size, P.sleepy_timeout(LISTEN_PERIOD_S))
    r = recompute(trace.person_times, trace.person_rssi, deaf, until, sleepy)
    return Outcome(r.arrive, r.leave, r.enter_at, r.exit_at)


def timeout_rule(seconds: float):  # type: ignore[no-untyped-def]  # noqa: ANN201 - a factory
    def run(trace: Trace) -> Outcome:
        arrive, leave = timeout_sessions(trace.person_times, seconds, float(trace.seconds))
        return Outcome(arrive, leave, arrive, leave)

    return run


ALGORITHMS = (
    ("Heartline", heartline),
    ("fixed timeout 120 s", timeout_rule(120.0)),
    ("fixed timeout 300 s", timeout_rule(300.0)),
    ("Kalman + 60 s timeout (room-assistant)", timeout_rule(ROOM_ASSISTANT_TIMEOUT_S)),
    ("median in Tukey fences, 15 s (ESPresense)", timeout_rule(TUKEY_WINDOW_S)),
)


LISTEN_PERIOD_S = 60.0  # device/sleep.py DEFAULT_PERIOD_S
# The same homes and days with the wearable in its deep-sleep power mode: with and without the
# listen period (the always-on rules are what presence did before it read the period).
SLEEPY_ALGORITHMS = (
    ("Heartline, listen period known", sleepy_heartline),
    ("Heartline, always-on rules", heartline),
    ("Kalman + 60 s timeout (room-assistant)", timeout_rule(ROOM_ASSISTANT_TIMEOUT_S)),
)


def score(trace: Trace, out: Outcome, into: Score) -> None:
    n = trace.seconds
    leave = np.where(np.isnan(out.leave), n, out.leave)
    mark = np.zeros(n + 1)
    np.add.at(mark, np.clip(np.ceil(out.arrive).astype(np.int64), 0, n), 1.0)
    np.add.at(mark, np.clip(np.ceil(leave).astype(np.int64), 0, n), -1.0)
    predicted = np.cumsum(mark)[:n] > 0
    into.wrong_s += float(np.count_nonzero(predicted != trace.truth))
    into.home_s += float(np.count_nonzero(trace.truth))
    into.days += n / DAY_S

    t_arr, t_leave = truth_sessions(trace.truth)
    first = np.searchsorted(t_leave, out.arrive, side="right")
    last = np.searchsorted(t_arr, leave, side="left")
    overlaps = np.maximum(last - first, 0)
    into.spurious += int(np.count_nonzero(overlaps == 0))
    per_truth = np.zeros(t_arr.size, dtype=np.int64)
    idx = np.repeat(first, overlaps) + (
        np.arange(int(overlaps.sum())) - np.repeat(np.cumsum(overlaps) - overlaps, overlaps)
    )
    np.add.at(per_truth, idx, 1)
    into.spurious += int(np.maximum(per_truth - 1, 0).sum())

    enter = np.sort(out.enter_at)
    exits = np.sort(out.exit_at[~np.isnan(out.exit_at)])
    into.live_exits += int(exits.size)
    for m in range(t_arr.size):
        if t_arr[m] > 0:  # a real arrival (not the start of the trace)
            k = np.searchsorted(enter, t_arr[m] - EARLY_WINDOW_S)
            if k < enter.size and enter[k] < t_leave[m]:
                into.arrival.append(float(enter[k] - t_arr[m]))
            else:
                into.missed += 1
        if t_leave[m] < n:  # a real departure
            k = np.searchsorted(exits, t_leave[m] - EARLY_WINDOW_S)
            next_arrival = t_arr[m + 1] if m + 1 < t_arr.size else n
            if k < exits.size and exits[k] < next_arrival:
                into.departure.append(float(exits[k] - t_leave[m]))
            else:
                into.missed += 1


def run(days: int, seed: int, listen_period_s: float | None = None) -> dict[str, Score]:
    algorithms = ALGORITHMS if listen_period_s is None else SLEEPY_ALGORITHMS
    scores = {name: Score() for name, _ in algorithms}
    person = 0
    remaining = days
    while remaining > 0:
        span = min(DAYS_PER_PERSON, remaining)
        trace = generate(span, seed * 100_003 + person, listen_period_s)
        for name, algorithm in algorithms:
            score(trace, algorithm(trace), scores[name])
        remaining -= span
        person += 1
    return scores


def table(scores: dict[str, Score], days: int, seconds: float, title: str = "") -> str:
    header = (
        f"{'algorithm':<44}{'presence-time error':>20}{'spurious/day':>14}"
        f"{'arrival delay':>15}{'departure delay':>17}{'missed/day':>12}{'live flaps/day':>16}"
    )
    lines = [
        (
            f"Presence accuracy{title}: {days} person-days, sigma 6 dB, loss bursts, body shadow,"
            f" garden trips, nights on a nightstand ({seconds:.1f} s)"
        ),
        header,
        "-" * len(header),
    ]
    for name, s in scores.items():
        arrival = float(np.median(s.arrival)) if s.arrival else float("nan")
        departure = float(np.median(s.departure)) if s.departure else float("nan")
        lines.append(
            f"{name:<44}{100.0 * s.wrong_s / s.home_s:>19.2f}%{s.spurious / s.days:>14.3f}"
            f"{arrival:>14.1f}s{departure:>16.1f}s{s.missed / s.days:>12.3f}"
            f"{(s.live_exits - len(s.departure)) / s.days:>16.3f}",
        )
    lines.append("Delays are medians, truth to live decision; negative = before it happened.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=200, help="person-days to simulate (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scores = run(args.days, args.seed)
    print(table(scores, args.days, time.perf_counter() - started))
    started = time.perf_counter()
    sleepy = run(args.days, args.seed, LISTEN_PERIOD_S)
    title = f", the wearable asleep between {LISTEN_PERIOD_S:.0f} s listen windows"
    print()
    print(table(sleepy, args.days, time.perf_counter() - started, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
