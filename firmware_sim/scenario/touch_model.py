"""How people touch a pad, and what a TTP223-style touch IC makes of it: noisy level traces.

A trace is the touch IC's output level over time, as ``(level, duration_ms)`` steps. It is
generated from a seeded :class:`random.Random` so a benchmark or a scenario is repeatable.
Model (the numbers are assumptions, stated so they can be argued with):

* Human timing. A tap is held for a log-normal time, median 110 ms, never under 65 ms
  (a TTP223's own fast-mode response is ~60 ms, so shorter touches do not reach its output);
  a double tap is two such touches, median 90 ms each, with a log-normal gap, median 130 ms,
  capped at 260 ms (people who pause longer meant two taps); a long press is held
  0.9-2.5 s, uniformly.
* Contact bounce. Each edge may chatter: 0-3 extra level flips, each 1-6 ms.
* Dropouts. While held, the IC output can drop for 2-12 ms (a finger shifting on the pad);
  about one in four holds has one.
* Phantom blips (the TTP223 failure makers complain about: firing with nobody near). Short
  high pulses, 2-35 ms, arriving as a Poisson process around and between gestures; a
  ``noise`` trace has only blips and no person at all.

``sample_levels`` turns a trace into what firmware polling every ``period_ms`` would read.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

Intent = Literal["tap", "double_tap", "long_press", "noise"]
INTENTS: Final[tuple[Intent, ...]] = ("tap", "double_tap", "long_press", "noise")
Steps = tuple[tuple[int, int], ...]

TAP_MEDIAN_MS: Final = 110.0
TAP_SIGMA: Final = 0.35  # log-normal shape: 5th percentile ~ 62 ms, 95th ~ 195 ms
MIN_HUMAN_TOUCH_MS: Final = 65
DOUBLE_TOUCH_MEDIAN_MS: Final = 90.0
DOUBLE_GAP_MEDIAN_MS: Final = 130.0
DOUBLE_GAP_SIGMA: Final = 0.35
DOUBLE_GAP_MAX_MS: Final = 260
LONG_MIN_MS: Final = 900
LONG_MAX_MS: Final = 2500
BOUNCE_MAX_FLIPS: Final = 3
BOUNCE_MAX_MS: Final = 6
DROPOUT_CHANCE: Final = 0.25
DROPOUT_MAX_MS: Final = 12
BLIP_MIN_MS: Final = 2
BLIP_MAX_MS: Final = 35
# Blips per second of trace. TTP223 false triggers are rare on a good board and frequent on a
# bad one; one every 5 s is already a sensor that would make a lamp unbearable. The
# benchmark also runs a stress level of one a second.
BLIP_RATE_HZ: Final = 0.2
STRESS_BLIP_RATE_HZ: Final = 1.0
QUIET_BEFORE_MS: Final = (200, 1200)  # idle pad before the gesture starts
QUIET_AFTER_MS: Final = 1500  # long enough for any recogniser to report
NOISE_TRACE_MS: Final = 4000


@dataclass(slots=True, frozen=True)
class Trace:
    intent: Intent
    steps: Steps

    @property
    def duration_ms(self) -> int:
        return sum(ms for _, ms in self.steps)


def _lognormal(rng: random.Random, median: float, sigma: float) -> int:
    return max(1, round(median * math.exp(rng.gauss(0.0, sigma))))


def _bounce(rng: random.Random, to_level: int) -> list[tuple[int, int]]:
    """Chatter at an edge towards ``to_level``: short flips ending on the new level."""
    out: list[tuple[int, int]] = []
    for _ in range(rng.randint(0, BOUNCE_MAX_FLIPS)):
        out.append((to_level, rng.randint(1, BOUNCE_MAX_MS)))
        out.append((1 - to_level, rng.randint(1, BOUNCE_MAX_MS)))
    return out


def _hold(rng: random.Random, ms: int) -> list[tuple[int, int]]:
    """A touch held ``ms`` (bounce on both edges, maybe one dropout), ending just released."""
    out = _bounce(rng, 1)
    if ms > 4 * DROPOUT_MAX_MS and rng.random() < DROPOUT_CHANCE:
        first = rng.randint(DROPOUT_MAX_MS, ms - 2 * DROPOUT_MAX_MS)
        drop = rng.randint(2, DROPOUT_MAX_MS)
        out += [(1, first), (0, drop), (1, ms - first - drop)]
    else:
        out.append((1, ms))
    out += _bounce(rng, 0)
    return out


def _quiet(rng: random.Random, ms: int, blip_rate_hz: float) -> list[tuple[int, int]]:
    """An untouched pad for ``ms``, with Poisson phantom blips."""
    out: list[tuple[int, int]] = []
    left = ms
    while left > 0:
        wait = round(rng.expovariate(blip_rate_hz) * 1000) if blip_rate_hz else left
        if wait >= left:
            out.append((0, left))
            break
        blip = rng.randint(BLIP_MIN_MS, BLIP_MAX_MS)
        out += [(0, wait), (1, blip)]
        left -= wait + blip
    return out


def person(rng: random.Random, intent: Intent) -> list[tuple[int, int]]:
    """Just the person's touch for ``intent`` (no surrounding quiet), with bounce."""
    if intent == "tap":
        return _hold(rng, max(_lognormal(rng, TAP_MEDIAN_MS, TAP_SIGMA), MIN_HUMAN_TOUCH_MS))
    if intent == "double_tap":
        first = max(_lognormal(rng, DOUBLE_TOUCH_MEDIAN_MS, TAP_SIGMA), MIN_HUMAN_TOUCH_MS)
        second = max(_lognormal(rng, DOUBLE_TOUCH_MEDIAN_MS, TAP_SIGMA), MIN_HUMAN_TOUCH_MS)
        gap = min(_lognormal(rng, DOUBLE_GAP_MEDIAN_MS, DOUBLE_GAP_SIGMA), DOUBLE_GAP_MAX_MS)
        return [*_hold(rng, first), (0, max(gap, 40)), *_hold(rng, second)]
    if intent == "long_press":
        return _hold(rng, rng.randint(LONG_MIN_MS, LONG_MAX_MS))
    return []


def trace(rng: random.Random, intent: Intent, *, blip_rate_hz: float = BLIP_RATE_HZ) -> Trace:
    """One trace: quiet (with blips), the person's gesture, quiet (with blips)."""
    if intent == "noise":
        return Trace(intent, _merge(_quiet(rng, NOISE_TRACE_MS, blip_rate_hz)))
    before = _quiet(rng, rng.randint(*QUIET_BEFORE_MS), blip_rate_hz)
    after = _quiet(rng, QUIET_AFTER_MS, blip_rate_hz)
    # A blip right at a gesture's edge would just be part of that touch; keep 60 ms clear.
    return Trace(intent, _merge([*before, (0, 60), *person(rng, intent), (0, 60), *after]))


def traces(rng: random.Random, per_intent: int, *, blip_rate_hz: float = BLIP_RATE_HZ) -> list[Trace]:
    """``per_intent`` traces of each intent, interleaved in a shuffled order."""
    out = [trace(rng, i, blip_rate_hz=blip_rate_hz) for i in INTENTS for _ in range(per_intent)]
    rng.shuffle(out)
    return out


def _merge(steps: list[tuple[int, int]]) -> Steps:
    merged: list[tuple[int, int]] = []
    for level, ms in steps:
        if ms <= 0:
            continue
        if merged and merged[-1][0] == level:
            merged[-1] = (level, merged[-1][1] + ms)
        else:
            merged.append((level, ms))
    return tuple(merged)


def sample_levels(steps: Steps, period_ms: int, phase_ms: int = 0) -> Iterator[tuple[int, int]]:
    """(time ms, level) as firmware polling every ``period_ms`` (first at ``phase_ms``) reads."""
    starts: list[int] = []
    levels: list[int] = []
    t = 0
    for level, ms in steps:
        starts.append(t)
        levels.append(level)
        t += ms
    now = phase_ms
    while now < t:
        yield now, levels[bisect.bisect_right(starts, now) - 1]
        now += period_ms
