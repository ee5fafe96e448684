"""The incremental engine and the numpy batch decide the same; edge cases of real radios."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from benchmarks.presence_traces import generate
from hub.presence import params as P  # noqa: N812
from hub.presence.batch import DeafMeasure, clean, recompute
from hub.presence.engine import PresenceEngine, TransitionKind

PERSON = "AA:AA:AA:AA:AA:01"
BUTTON = "BB:BB:BB:BB:BB:02"


def replay(
    person_t: np.ndarray,
    person_r: np.ndarray,
    other_t: np.ndarray,
    until: float,
) -> tuple[list[tuple[float, float | None]], PresenceEngine]:
    """Run the engine over merged streams with one tick a second; return its sessions."""
    engine = PresenceEngine({PERSON: "ana"})
    times = np.concatenate((person_t, other_t))
    is_person = np.concatenate((np.ones(person_t.size, bool), np.zeros(other_t.size, bool)))
    rssi = np.concatenate((person_r, np.full(other_t.size, -60.0)))
    order = np.argsort(times, kind="stable")
    sessions: list[tuple[float, float | None]] = []

    def apply(kind: TransitionKind, since: float) -> None:
        if kind is TransitionKind.ARRIVE:
            sessions.append((since, None))
        elif kind is TransitionKind.RESUME:
            sessions[-1] = (sessions[-1][0], None)
        else:
            sessions[-1] = (sessions[-1][0], since)

    next_tick = 1.0
    merged = zip(times[order].tolist(), is_person[order].tolist(), rssi[order].tolist(), strict=True)
    for t, mine, r in merged:
        while next_tick < t:
            for tr in engine.tick(next_tick):
                apply(tr.kind, tr.since)
            next_tick += 1.0
        tr1 = engine.observe(PERSON if mine else BUTTON, r, t)
        if tr1 is not None:
            apply(tr1.kind, tr1.since)
    for tr in engine.tick(until):
        apply(tr.kind, tr.since)
    return sessions, engine


@pytest.mark.slow  # a simulated day, twice
@pytest.mark.parametrize("reference", ["always", "the first day only"])
def test_incremental_and_batch_agree_on_a_simulated_day(reference: str) -> None:
    trace = generate(2, seed=7)
    until = float(trace.seconds)
    other = trace.other_times
    if reference != "always":  # the home's button is gone on the second day: no reference
        other = other[other < until / 2]
    sessions, _ = replay(trace.person_times, trace.person_rssi, other, until)
    deaf = DeafMeasure.from_streams([other], until)
    batch = recompute(trace.person_times, trace.person_rssi, deaf, until)
    assert len(sessions) == batch.arrive.size > 0
    for (arrive, leave), b_arrive, b_leave in zip(sessions, batch.arrive, batch.leave, strict=True):
        assert arrive == pytest.approx(b_arrive)
        if leave is None:
            assert np.isnan(b_leave)
        else:
            assert leave == pytest.approx(b_leave)


def test_interval_is_learned_from_the_device_itself() -> None:
    engine = PresenceEngine({PERSON: "ana"})
    t = 0.0
    rng = np.random.default_rng(1)
    for i in range(200):
        t += 3.0 + float(rng.uniform(0, 0.01)) + (3.0 if i % 7 == 0 else 0.0)  # some adverts lost
        engine.observe(PERSON, -60, t)
    assert engine.trackers["ana"].interval == pytest.approx(3.005, abs=0.01)
    assert engine.trackers["ana"].scale == pytest.approx(3.0, abs=0.02)


def steady(start: float, end: float, rssi: float, interval: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(start, end, interval)
    return t, np.full(t.size, rssi)


def test_duplicates_and_out_of_order_adverts_change_nothing() -> None:
    t, r = steady(0, 600, -65)
    dup_t = np.concatenate((t, t[::3], t[5:50][::-1]))
    dup_r = np.concatenate((r, r[::3] - 20, r[5:50][::-1] - 20))
    clean_t, _ = clean(dup_t, dup_r)
    assert np.array_equal(clean_t, t)
    engine = PresenceEngine({PERSON: "ana"})
    for time_s, rssi in zip(dup_t.tolist(), dup_r.tolist(), strict=True):
        engine.observe(PERSON, rssi, time_s)
    assert engine.is_present("ana")
    assert engine.trackers["ana"].stale == dup_t.size - t.size


def test_a_receiver_stall_is_not_a_departure() -> None:
    # Strong level, then four minutes in which the radio hears nobody at all (BlueZ stalled).
    p1, r1 = steady(0, 600, -62)
    p2, r2 = steady(840, 1200, -62)
    b1, _ = steady(0.5, 600, -55)
    b2, _ = steady(840.5, 1200, -55)
    sessions, _ = replay(np.concatenate((p1, p2)), np.concatenate((r1, r2)), np.concatenate((b1, b2)), 1200)
    assert sessions == [(0.0, None)]


def test_a_device_that_vanishes_mid_session_is_closed_at_its_last_advert() -> None:
    p, r = steady(0, 600, -62)  # flat battery at 600 s while the button keeps talking
    b, _ = steady(0.5, 2000, -55)
    sessions, engine = replay(p, r, b, 2000)
    assert sessions == [(0.0, 599.0)]
    assert not engine.is_present("ana")


def test_garden_gap_is_rejoined_and_a_departure_is_seen_within_the_miss_floor() -> None:
    inside, r_in = steady(0, 600, -65)
    garden, r_garden = steady(640, 900, -86)  # a 40 s gap, then the garden's weak level
    back, r_back = steady(900, 1200, -65)
    walk_t = np.arange(1200, 1230, 1.0)
    walk_r = np.linspace(-70, -93, walk_t.size)  # fading out of the door
    button, _ = steady(0.5, 3000, -55)
    p = np.concatenate((inside, garden, back, walk_t))
    r = np.concatenate((r_in, r_garden, r_back, walk_r))
    sessions, engine = replay(p, r, button, 3000)
    assert sessions == [(0.0, 1229.0)]  # the garden gap is one stay in the log
    assert not engine.is_present("ana")
    # Heard at every advert until the door, with the home's button still heard: the silence is
    # believed after the floor of the expected-adverts rule.
    tracker = engine.trackers["ana"]
    assert tracker.timeout == P.EXIT_MIN_S


@pytest.mark.parametrize("burst", [1, 20])  # one advert; one 2 s burst at 100 ms (a touch)
def test_a_stray_reference_forgives_at_most_the_unsteady_cap(burst: int) -> None:
    """A reference heard once in passing and never again proves nothing about the radio: the
    silence that follows is forgiven at most DEAF_UNSTEADY_CAP_S, not the deaf-credit cap."""
    p, r = steady(0, 300, -65)
    stray = 288.55 + 0.1 * np.arange(burst, dtype=np.float64)  # the other person's wearable, in passing
    until = 2_000.0
    sessions, engine = replay(p, r, stray, until)
    assert sessions == [(0.0, 299.0)]
    timeout = engine.trackers["ana"].timeout
    # The departure was decided by the tick after the timeout plus one gap's forgiven time.
    engine2 = PresenceEngine({PERSON: "ana"})
    for t in sorted([*p.tolist(), *stray.tolist()]):
        engine2.observe(PERSON if t in p else BUTTON, -65, t)
    now = 299.0
    left = engine2.tick(now)
    while not left and now < until:
        now += 1.0
        left = engine2.tick(now)
    assert left
    assert left[0].at - 299.0 <= timeout + P.DEAF_UNSTEADY_CAP_S + 1.0
    batch = recompute(p, r, DeafMeasure.from_streams([stray], until), until)
    assert batch.arrive.tolist() == [0.0]
    assert batch.leave.tolist() == [299.0]
    assert batch.exit_at.tolist() == pytest.approx([left[0].at], abs=1.0)


def test_leaving_is_shown_before_the_departure_is_decided() -> None:
    engine = PresenceEngine({PERSON: "ana"})
    for t in range(120):
        engine.observe(BUTTON, -55, t + 0.5)
        engine.observe(PERSON, -65, float(t))
    assert engine.is_present("ana")
    assert not engine.is_leaving("ana", 120.0)
    for t in range(120, 200):
        engine.observe(BUTTON, -55, t + 0.5)  # the home's button stays; the wearable is gone
        left = engine.tick(t + 0.6)
        if left:
            break
        expected = t + 0.6 - 119.0 >= P.LEAVING_MIN_S
        assert engine.is_leaving("ana", t + 0.6) is expected, t
    assert left
    assert left[0].since == 119.0
    assert not engine.is_leaving("ana", 200.0)


def test_the_only_device_leaving_is_not_a_deaf_receiver() -> None:
    """Without another device, silence is not forgiven as deaf time: the wearable that is the
    home's only device leaves after the level's timeout, not that plus the deaf-time cap."""
    engine = PresenceEngine({PERSON: "ana"})
    for i in range(120):
        engine.observe(PERSON, -55, float(i))
    left = None
    now = 119.0
    while left is None and now < 2_000.0:
        now += 1.0
        ticked = engine.tick(now)
        left = ticked[0] if ticked else None
    assert left is not None
    assert left.at - 119.0 <= P.EXIT_STRONG_S + 1.0


def test_the_live_engine_never_loads_numpy() -> None:
    """observe() is the per-advert hot path: plain Python, numpy only in the batch recompute.
    What it costs per advert is measured by ``python -m benchmarks.presence_speed``."""
    program = (
        "import sys\n"
        "from hub.presence.engine import PresenceEngine\n"
        f"engine = PresenceEngine({{{PERSON!r}: 'ana'}})\n"
        "for i in range(2_000):\n"
        f"    engine.observe({PERSON!r} if i % 2 else {BUTTON!r}, -60 - (i % 7), i * 0.5)\n"
        "engine.tick(2_000.0)\n"
        "assert 'numpy' not in sys.modules, 'the live engine loaded numpy'\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)
