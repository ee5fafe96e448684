"""Gesture recognition from sampled touch traces: taps, double taps, long presses, noise."""

from __future__ import annotations

from device import timing
from device.gesture import DOUBLE_TAP, LONG_PRESS, NONE, TAP, GestureRecognizer

Trace = list[tuple[int, int]]  # (level, milliseconds)
BOUNCE: Trace = [(1, 3), (0, 2), (1, 2), (0, 3)]


def run(trace: Trace, tail_ms: int = 1000) -> list[int]:
    """Sample the trace every SAMPLE_MS, as the firmware does; return the gestures seen."""
    recognizer = GestureRecognizer()
    levels: list[int] = []
    for level, ms in [*trace, (0, tail_ms)]:
        levels.extend([level] * ms)
    seen = []
    for now in range(0, len(levels), timing.SAMPLE_MS):
        code = recognizer.update(levels[now], now)
        if code != NONE:
            seen.append(code)
    return seen


def test_tap() -> None:
    assert run([(1, 100)]) == [TAP]


def test_tap_with_contact_bounce() -> None:
    assert run([*BOUNCE, (1, 100)]) == [TAP]


def test_double_tap() -> None:
    assert run([(1, 100), (0, 150), (1, 100)]) == [DOUBLE_TAP]


def test_two_taps_too_far_apart_are_two_taps() -> None:
    assert run([(1, 100), (0, timing.DOUBLE_GAP_MS + 200), (1, 100)]) == [TAP, TAP]


def test_long_press_fires_while_held() -> None:
    assert run([(1, timing.LONG_PRESS_MS + 50)], tail_ms=0) == [LONG_PRESS]
    assert run([(1, 2000)]) == [LONG_PRESS]


def test_phantom_blips_are_ignored() -> None:
    assert run([(1, 10)]) == []  # shorter than the debounce
    assert run([(1, 30)]) == []  # debounced but shorter than MIN_TOUCH_MS
    assert run([(1, 7), (0, 13)] * 10) == []  # flicker faster than the debounce


def test_phantom_during_double_tap_gap_does_not_spoil_it() -> None:
    assert run([(1, 100), (0, 60), (1, 30), (0, 60), (1, 100)]) == [DOUBLE_TAP]


def test_stuck_pad_reports_once_then_nothing_until_released() -> None:
    assert run([(1, timing.STUCK_MS + 5000)]) == [LONG_PRESS]
    assert run([(1, timing.STUCK_MS + 5000), (0, 500), (1, 100)]) == [LONG_PRESS, TAP]


def test_tap_then_long_press_reports_both_in_order() -> None:
    assert run([(1, 100), (0, 150), (1, 1000)]) == [TAP, LONG_PRESS]


def test_survives_tick_wraparound() -> None:
    period = 1 << 30  # MicroPython's ticks_ms wraps here on 32-bit boards

    def ticks_diff(a: int, b: int) -> int:
        return ((a - b + period // 2) % period) - period // 2

    recognizer = GestureRecognizer(ticks_diff)
    start = period - 50
    seen = []
    for i in range(0, 600, timing.SAMPLE_MS):
        level = 1 if i < 100 else 0
        code = recognizer.update(level, (start + i) % period)
        if code != NONE:
            seen.append(code)
    assert seen == [TAP]
