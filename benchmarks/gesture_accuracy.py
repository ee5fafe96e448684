"""Gesture recognition accuracy on noisy touch traces: the firmware's recogniser vs a naive one.

    python -m benchmarks.gesture_accuracy [--per-gesture N] [--seed S]

Generates N traces per intent (tap, double tap, long press, and "noise": phantom blips with
nobody touching) from firmware_sim.scenario.touch_model, feeds each to the unmodified
device.gesture.GestureRecognizer sampled as the firmware samples (every SAMPLE_MS, random
phase), and to a naive fixed-threshold recogniser on the same samples, and prints a table.

correct %  the recogniser reported exactly the intended gesture (nothing, for noise)
phantom %  of traces, how many produced an event nobody intended (an extra or invented one)
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from device import gesture, timing
from firmware_sim.scenario.touch_model import (
    BLIP_RATE_HZ,
    INTENTS,
    STRESS_BLIP_RATE_HZ,
    Intent,
    Trace,
    sample_levels,
    traces,
)

DEFAULT_PER_GESTURE: Final = 400  # x4 intents = 1,600 traces, 1,200 of them gestures
DEFAULT_SEED: Final = 20240214
GOAL_CORRECT: Final = 0.99
GOAL_PHANTOM: Final = 0.001
# The naive recogniser: what a first DIY sketch does (no debounce, no minimum touch).
NAIVE_LONG_MS: Final = 700
NAIVE_DOUBLE_GAP_MS: Final = 300

Recogniser = Callable[[Iterable[tuple[int, int]]], list[str]]


def ours(samples: Iterable[tuple[int, int]]) -> list[str]:
    """The firmware's recogniser, fed sample by sample as Button._touch_loop feeds it."""
    recogniser = gesture.GestureRecognizer()
    seen: list[str] = []
    for now, level in samples:
        code = recogniser.update(level, now)
        if code != gesture.NONE:
            seen.append(gesture.NAMES[code])
    return seen


def naive(samples: Iterable[tuple[int, int]]) -> list[str]:
    """Fixed thresholds on raw edges: held >= 700 ms is long, a second touch within 300 ms
    of a release is a double tap, anything else is a tap."""
    seen: list[str] = []
    level, down_at, up_at, taps = 0, 0, 0, 0
    last = 0
    for now, raw in samples:
        last = now
        if raw and not level:
            level, down_at = 1, now
        elif not raw and level:
            level = 0
            if now - down_at >= NAIVE_LONG_MS:
                seen.append("long_press")
                taps = 0
            elif taps:
                seen.append("double_tap")
                taps = 0
            else:
                taps, up_at = 1, now
        elif taps and not level and now - up_at > NAIVE_DOUBLE_GAP_MS:
            seen.append("tap")
            taps = 0
    if taps and last - up_at > NAIVE_DOUBLE_GAP_MS:
        seen.append("tap")
    return seen


@dataclass(slots=True)
class Score:
    traces: int = 0
    correct: int = 0
    phantom: int = 0  # traces with at least one unintended event
    confusions: Counter[str] = field(default_factory=Counter)

    def add(self, intent: Intent, seen: list[str]) -> None:
        self.traces += 1
        wanted = [] if intent == "noise" else [intent]
        if seen == wanted:
            self.correct += 1
            return
        self.confusions["+".join(seen) or "nothing"] += 1
        # Unintended: anything on a noise trace, or more events than the one gesture made.
        if len(seen) > len(wanted):
            self.phantom += 1

    @property
    def correct_pct(self) -> float:
        return 100.0 * self.correct / self.traces if self.traces else 0.0

    @property
    def phantom_pct(self) -> float:
        return 100.0 * self.phantom / self.traces if self.traces else 0.0


@dataclass(slots=True)
class Result:
    ours: dict[str, Score]
    naive: dict[str, Score]

    def total(self, which: dict[str, Score]) -> Score:
        out = Score()
        for score in which.values():
            out.traces += score.traces
            out.correct += score.correct
            out.phantom += score.phantom
            out.confusions.update(score.confusions)
        return out


def evaluate(per_gesture: int, seed: int, blip_rate_hz: float = BLIP_RATE_HZ) -> Result:
    rng = random.Random(seed)
    generated: list[Trace] = traces(rng, per_gesture, blip_rate_hz=blip_rate_hz)
    result = Result({i: Score() for i in INTENTS}, {i: Score() for i in INTENTS})
    for item in generated:
        phase = rng.randrange(timing.SAMPLE_MS)
        samples = list(sample_levels(item.steps, timing.SAMPLE_MS, phase))
        result.ours[item.intent].add(item.intent, ours(samples))
        result.naive[item.intent].add(item.intent, naive(samples))
    return result


def table(result: Result) -> str:
    rows = [
        (
            f"{'intent':<12} {'traces':>6} | {'ours correct':>12} {'ours phantom':>12} | "
            f"{'naive correct':>13} {'naive phantom':>13}"
        ),
        "-" * 78,
    ]
    names: list[str] = [*INTENTS, "all"]
    for name in names:
        a = result.total(result.ours) if name == "all" else result.ours[name]
        b = result.total(result.naive) if name == "all" else result.naive[name]
        rows.append(
            f"{name:<12} {a.traces:>6} | {a.correct_pct:>11.2f}% {a.phantom_pct:>11.2f}% | "
            f"{b.correct_pct:>12.2f}% {b.phantom_pct:>12.2f}%"
        )
    return "\n".join(rows)


def meets_goal(result: Result) -> bool:
    total = result.total(result.ours)
    return total.correct_pct >= 100 * GOAL_CORRECT and total.phantom_pct <= 100 * GOAL_PHANTOM


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gesture_accuracy")
    parser.add_argument("--per-gesture", type=int, default=DEFAULT_PER_GESTURE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    result = evaluate(args.per_gesture, args.seed)
    print(
        f"Gesture recognition: {args.per_gesture} traces per intent, seed {args.seed}, "
        f"phantom blips {BLIP_RATE_HZ}/s"
    )
    print(table(result))
    ours_total = result.total(result.ours)
    if ours_total.confusions:
        print("ours, misrecognised as:", dict(ours_total.confusions.most_common(5)))
    verdict = "meets" if meets_goal(result) else "MISSES"
    print(f"goal >= {100 * GOAL_CORRECT:.0f}% correct, <= {100 * GOAL_PHANTOM:.1f}% phantom: {verdict}")
    stress = evaluate(args.per_gesture, args.seed, STRESS_BLIP_RATE_HZ)
    print(f"\nStress (no goal): phantom blips {STRESS_BLIP_RATE_HZ}/s")
    print(table(stress))
    return 0 if meets_goal(result) else 1


if __name__ == "__main__":
    sys.exit(main())
