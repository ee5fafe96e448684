"""Seeded person-day traces of a wearable near a hub, with ground truth.

The radio is the simulator's (``firmware_sim.air.radio_model``): log-distance path loss from
40.2 dB at 1 m with exponent ~2.5, a -4 dBm wearable, adverts below -94 dBm unheard, a body in
the way costs 15 dB, and Gaussian noise (here sigma 6 dB, the issue's figure). On top of it, what
a home adds:

* a timeline per person: asleep with the wearable on a nightstand (still, unshadowed), awake
  indoors moving between rooms (walls 0-12 dB), short trips to the garden (behind the outside
  wall, 10-30 m: still home), and real absences of 10 min to 10 h (work, errands), each left
  and entered by walking or driving across the property line, which is the truth boundary;
* adverts every 1 s plus the 0-10 ms random advDelay the BLE spec adds to every advertising
  event (Core v5.3, Vol 6, Part B, 4.4.2.2.1), so the interval must be learned, not assumed;
* body shadowing while worn as a two-state process (mean 4 min clear, 1 min shadowed);
* loss: independent 2-8 %, radio-wide bursts (Wi-Fi/Bluetooth coexistence on a Pi: ~4 an hour,
  ~15 s, 90 % lost) and scanner stalls (~1.5 a day, median 60 s, long tail, everything lost);
* the home's Heartline button at 1 Hz a few metres from the hub, heard through the same radio:
  the reference every hub has.

Everything is numpy on whole arrays; the only Python loops run over days and schedule events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from device import sleep
from firmware_sim.air.radio_model import (
    BODY_SHADOW_DB,
    DEFAULT_PATH_LOSS_EXPONENT,
    DEFAULT_SENSITIVITY_DBM,
    PATH_LOSS_AT_1M_DB,
)

F64 = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAY_S = 86_400
TX_POWER_DBM = -4.0  # firmware_sim.button.SimButton default
NOISE_SIGMA_DB = 6.0
ADVERT_INTERVAL_S = 1.0  # device/timing.py IDLE_INTERVAL_US
ADV_DELAY_MAX_S = 0.010
AWAY = np.inf  # distance while out of range
FAR_M = 300.0  # beyond this a transit has certainly left radio range


@dataclass(frozen=True, slots=True)
class Trace:
    """One person over ``days`` days from midnight, times in seconds."""

    person_times: F64  # heard adverts of the person's wearable
    person_rssi: F64
    other_times: F64  # heard adverts of every other device (the home's button)
    truth: BoolArray  # per second: is the person home (inside the property line)?
    days: int

    @property
    def seconds(self) -> int:
        return self.truth.size


@dataclass(frozen=True, slots=True)
class Home:
    exponent: float
    outer_wall_db: float
    edge_m: float  # property line: inside it is home (the garden too)
    rooms: tuple[tuple[float, float], ...]  # (distance m, wall dB) of day rooms
    bedroom: tuple[float, float]
    door_m: float
    loss: float  # independent loss


def _home(rng: np.random.Generator) -> Home:
    rooms = tuple(
        (float(rng.uniform(1.5, 12.0)), float(rng.choice([0.0, 3.0, 6.0, 9.0, 12.0]))) for _ in range(5)
    )
    return Home(
        exponent=float(rng.uniform(DEFAULT_PATH_LOSS_EXPONENT - 0.2, DEFAULT_PATH_LOSS_EXPONENT + 0.3)),
        outer_wall_db=float(rng.uniform(6.0, 14.0)),
        edge_m=float(rng.uniform(22.0, 35.0)),
        rooms=rooms,
        bedroom=(float(rng.uniform(3.0, 12.0)), float(rng.choice([0.0, 6.0, 10.0, 14.0]))),
        door_m=float(rng.uniform(5.0, 10.0)),
        loss=float(rng.uniform(0.02, 0.08)),
    )


@dataclass(slots=True)
class _Timeline:
    dist: F64
    wall: F64
    worn: BoolArray
    truth: BoolArray


def _transit(tl: _Timeline, home: Home, rng: np.random.Generator, at: int, *, leaving: bool) -> None:
    """Walk or drive across the property line at second ``at`` (out if ``leaving``, else in)."""
    speed = float(rng.uniform(1.1, 1.6)) if rng.random() < 0.6 else float(rng.uniform(4.0, 12.0))
    walk = float(rng.uniform(1.1, 1.6))
    inside = int((home.edge_m - home.door_m) / walk)  # door to property line, on foot
    outside = int((FAR_M - home.edge_m) / speed)
    tau = np.arange(-inside, outside + 1, dtype=np.float64)
    r = np.where(tau < 0, home.edge_m + walk * tau, home.edge_m + speed * tau)
    if not leaving:
        tau = -tau[::-1]
        r = r[::-1]
    idx = at + tau.astype(np.int64)
    ok = (idx >= 0) & (idx < tl.dist.size)
    tl.dist[idx[ok]] = r[ok]
    tl.wall[idx[ok]] = home.outer_wall_db
    tl.worn[idx[ok]] = True


def _timeline(home: Home, days: int, rng: np.random.Generator) -> _Timeline:  # noqa: C901 - a day, in order
    n = days * DAY_S
    tl = _Timeline(np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    bed_d, bed_w = home.bedroom
    tl.dist[:] = bed_d
    tl.wall[:] = bed_w
    for day in range(days):
        base = day * DAY_S
        wake = base + int(rng.normal(7.0, 0.75) * 3600)
        sleep = base + int(rng.normal(23.0, 0.75) * 3600)
        # Awake at home: hop between rooms.
        t = wake
        while t < sleep:
            stay = int(rng.exponential(20 * 60)) + 60
            d, w = home.rooms[int(rng.integers(len(home.rooms)))]
            end = min(t + stay, sleep)
            tl.dist[t:end] = d * rng.uniform(0.7, 1.3)
            tl.wall[t:end] = w
            tl.worn[t:end] = True
            t = end
        # Real absences: work on most weekdays, errands on any day.
        absences: list[tuple[int, int]] = []
        if day % 7 < 5 and rng.random() < 0.75:
            leave = wake + int(rng.uniform(0.5, 1.5) * 3600)
            absences.append((leave, leave + int(rng.uniform(7.5, 10.0) * 3600)))
        for _ in range(int(rng.poisson(1.2))):
            length = int(np.clip(rng.lognormal(np.log(45 * 60), 0.8), 10 * 60, 5 * 3600))
            start = int(rng.uniform(wake + 1800, max(wake + 1801, sleep - length - 1800)))
            absences.append((start, start + length))
        absences.sort()
        kept: list[tuple[int, int]] = []
        for start, end in absences:
            if end > sleep - 900 or (kept and start < kept[-1][1] + 20 * 60):
                continue
            kept.append((start, end))
        home_spans = []
        prev = wake
        for start, end in kept:
            home_spans.append((prev, start))
            prev = end
        home_spans.append((prev, sleep))
        # Garden trips while home: still home, but behind the outside wall and far.
        for span_start, span_end in home_spans:
            for _ in range(int(rng.poisson(0.5))):
                length = int(rng.uniform(5, 60) * 60)
                if span_end - span_start < length + 1200:
                    continue
                g0 = int(rng.uniform(span_start + 600, span_end - length - 600))
                steps = rng.normal(0.0, 0.5, length)
                spot = np.clip(np.cumsum(steps) + rng.uniform(10, home.edge_m - 4), 8.0, home.edge_m - 2.0)
                tl.dist[g0 : g0 + length] = spot
                tl.wall[g0 : g0 + length] = home.outer_wall_db
        for start, end in kept:
            tl.dist[start:end] = AWAY
            tl.truth[start:end] = False
            _transit(tl, home, rng, start, leaving=True)
            _transit(tl, home, rng, end, leaving=False)
        # The wearable goes on the nightstand at bedtime until the next morning's wake.
        tl.worn[sleep : base + DAY_S + 7 * 3600] = False
        next_wake_guess = min(n, base + DAY_S + 5 * 3600)
        tl.dist[sleep:next_wake_guess] = bed_d
        tl.wall[sleep:next_wake_guess] = bed_w
    return tl


def _shadow(n: int, rng: np.random.Generator) -> BoolArray:
    """Two-state body shadowing: clear for ~4 min, shadowed for ~1 min, alternating."""
    count = n // 150 + 10
    clear = rng.exponential(240.0, count)
    shadowed = rng.exponential(60.0, count)
    durations = np.empty(2 * count)
    durations[0::2] = clear
    durations[1::2] = shadowed
    edges = np.cumsum(durations).astype(np.int64)
    state: BoolArray = np.searchsorted(edges, np.arange(n), side="right") % 2 == 1
    return state


def _radio_loss(n: int, rng: np.random.Generator) -> F64:
    """Per-second probability that the receiver misses an advert for radio-wide reasons."""
    p = np.zeros(n)
    for rate_per_s, median_s, spread, loss in ((4 / 3600, 15.0, 0.6, 0.9), (1.5 / DAY_S, 60.0, 0.9, 1.0)):
        count = int(rng.poisson(rate_per_s * n))
        starts = rng.integers(0, n, count)
        lengths = rng.lognormal(np.log(median_s), spread, count).astype(np.int64) + 1
        for s, length in zip(starts.tolist(), lengths.tolist(), strict=True):
            p[s : s + length] = np.maximum(p[s : s + length], loss)
    return p


def _adverts(n: int, rng: np.random.Generator) -> F64:
    count = int(n / (ADVERT_INTERVAL_S + ADV_DELAY_MAX_S / 2)) + 10
    times = rng.uniform(0.0, 1.0) + np.cumsum(ADVERT_INTERVAL_S + rng.uniform(0.0, ADV_DELAY_MAX_S, count))
    return times[times < n]


def _hear(
    times: F64,
    level: F64,
    radio_loss: F64,
    home: Home,
    rng: np.random.Generator,
) -> tuple[F64, F64]:
    sec = times.astype(np.int64)
    rssi = np.round(level[sec] + rng.normal(0.0, NOISE_SIGMA_DB, times.size))
    lost_p = 1.0 - (1.0 - home.loss) * (1.0 - radio_loss[sec])
    heard = (rssi >= DEFAULT_SENSITIVITY_DBM) & (rng.random(times.size) >= lost_p) & np.isfinite(rssi)
    return times[heard], rssi[heard]


def _windows(n: int, period_s: float, rng: np.random.Generator) -> F64:
    """A sleepy wearable's adverts: a listen window every period (device/sleep.py: LISTEN_MS at
    LISTEN_INTERVAL_US, ~20 adverts), each period a little late (boot, the RTC's drift)."""
    per_window = int(sleep.LISTEN_MS * 1000 // sleep.LISTEN_INTERVAL_US)
    count = int(n / period_s) + 2
    starts = np.cumsum(period_s + sleep.LISTEN_MS / 1000.0 + rng.uniform(0.0, 0.05 * period_s, count))
    step = sleep.LISTEN_INTERVAL_US / 1e6
    offsets = np.arange(per_window) * step + rng.uniform(0.0, ADV_DELAY_MAX_S, (count, per_window))
    times = (starts[:, None] + offsets).ravel()
    return times[times < n]


def generate(days: int, seed: int, listen_period_s: float | None = None) -> Trace:
    """``days`` consecutive days of one person in one home, reproducible from ``seed``; with
    ``listen_period_s`` the person's wearable sleeps between listen windows of that period."""
    rng = np.random.default_rng(seed)
    home = _home(rng)
    tl = _timeline(home, days, rng)
    n = tl.dist.size
    shadow = _shadow(n, rng) & tl.worn
    with np.errstate(divide="ignore"):
        path = PATH_LOSS_AT_1M_DB + 10.0 * home.exponent * np.log10(np.maximum(tl.dist, 0.1))
    level = TX_POWER_DBM - path - tl.wall - BODY_SHADOW_DB * shadow
    radio_loss = _radio_loss(n, rng)
    sent = _adverts(n, rng) if listen_period_s is None else _windows(n, listen_period_s, rng)
    p_times, p_rssi = _hear(sent, level, radio_loss, home, rng)
    button_level = np.full(n, TX_POWER_DBM - PATH_LOSS_AT_1M_DB - 10.0 * home.exponent * np.log10(3.0))
    o_times, _ = _hear(_adverts(n, rng), button_level, radio_loss, home, rng)
    return Trace(p_times, p_rssi, o_times, tl.truth, days)


def truth_sessions(truth: BoolArray) -> tuple[F64, F64]:
    """(arrive, leave) seconds of each true stay at home."""
    padded = np.concatenate(([False], truth, [False])).astype(np.int8)
    change = np.diff(padded)
    return np.flatnonzero(change == 1).astype(np.float64), np.flatnonzero(change == -1).astype(np.float64)
