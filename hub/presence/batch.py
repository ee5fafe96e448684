"""Presence over stored history with numpy: the same decisions as ``hub.presence.engine``.

Used to rebuild sessions from the advert history (after a change of parameters, or to check the
live log) and by the benchmarks. Everything is whole-array arithmetic; the only Python loops run
over *sessions* and *deaf gaps*, a few per day, never over adverts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hub.presence import params as P  # noqa: N812 - the constants read best as P.NAME

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class DeafMeasure:
    """Cumulative deaf time as a piecewise-linear function (see ``engine.RadioWatch``), from
    the adverts of the *other* devices (a subject's own are never evidence of deafness), and
    those adverts' times, to tell whether the subject had a reference (``referenced``)."""

    starts: F64
    ends: F64
    heard: F64 = field(default_factory=lambda: np.empty(0))  # sorted times of the other devices

    @classmethod
    def from_streams(cls, streams: list[F64], until: float) -> DeafMeasure:
        """Deaf intervals of the union of sorted advert-time ``streams``, without merging them.

        A gap of the union longer than DEAF_GAP_S lies inside a gap of every stream that is at
        least as long, so intersecting each stream's long gaps (a few a day) finds them all.
        """
        lo: F64 = np.array([-np.inf])
        hi: F64 = np.array([np.inf])
        for times in streams:
            if times.size == 0:
                continue
            edges = np.concatenate(([-np.inf], times, [until if until > times[-1] else np.inf]))
            gap = np.diff(edges)
            long_gap = np.flatnonzero(gap > P.DEAF_GAP_S)
            lo, hi = intersect_sorted(lo, hi, edges[long_gap], edges[long_gap + 1])
        keep = (hi - lo > P.DEAF_GAP_S) & np.isfinite(lo)
        starts = lo[keep] + P.DEAF_GAP_S
        ends = np.minimum(hi[keep], until)
        present = [times for times in streams if times.size]
        heard = np.unique(np.concatenate(present)) if present else np.empty(0)
        if heard.size:  # a gap after less than DEAF_STEADY_S of steady hearing: capped
            run_first = np.flatnonzero(np.diff(heard, prepend=-np.inf) > P.DEAF_GAP_S)
            k = np.searchsorted(heard, lo[keep])  # each gap's opening advert
            steady_since = heard[run_first[np.searchsorted(run_first, k, side="right") - 1]]
            unsteady = lo[keep] - steady_since < P.DEAF_STEADY_S
            ends = np.where(unsteady, np.minimum(ends, starts + P.DEAF_UNSTEADY_CAP_S), ends)
        ok = ends > starts
        return cls(starts[ok], ends[ok], heard)

    def referenced(self, t: F64) -> BoolArray:
        """Per time: was another device heard within REFERENCE_S before it (at it included)?"""
        if self.heard.size == 0:
            return np.zeros(t.size, dtype=bool)
        k = np.searchsorted(self.heard, t, side="right") - 1
        last = np.where(k >= 0, self.heard[np.maximum(k, 0)], -np.inf)
        return t - last <= P.REFERENCE_S

    def at(self, t: F64) -> F64:
        if self.starts.size == 0:
            return np.zeros_like(t)
        x = np.empty(2 * self.starts.size)
        x[0::2] = self.starts
        x[1::2] = self.ends
        y = np.zeros_like(x)
        lengths = self.ends - self.starts
        y[1::2] = np.cumsum(lengths)
        y[2::2] = y[1:-1:2]
        return np.interp(t, x, y, left=0.0)


def intersect_sorted(a_lo: F64, a_hi: F64, b_lo: F64, b_hi: F64) -> tuple[F64, F64]:
    """Pairwise intersection of two sorted lists of disjoint open intervals."""
    if a_lo.size == 0 or b_lo.size == 0:
        return np.empty(0), np.empty(0)
    first = np.searchsorted(b_hi, a_lo, side="right")  # first b ending after a starts
    last = np.searchsorted(b_lo, a_hi, side="left")  # b starting before a ends
    counts = np.maximum(last - first, 0)
    a_idx = np.repeat(np.arange(a_lo.size), counts)
    offsets = np.arange(a_idx.size) - np.repeat(np.cumsum(counts) - counts, counts)
    b_idx = np.repeat(first, counts) + offsets
    lo = np.maximum(a_lo[a_idx], b_lo[b_idx])
    hi = np.minimum(a_hi[a_idx], b_hi[b_idx])
    ok = hi > lo
    return lo[ok], hi[ok]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Sessions (after merging) and the live decisions that produced them (monotonic seconds)."""

    arrive: F64  # first advert of the entry window
    leave: F64  # last advert heard; NaN while the session is still open at ``until``
    confidence: F64
    enter_at: F64  # when the engine decided each (unmerged) arrival
    exit_at: F64  # when it decided each (unmerged) departure; NaN if not yet


def median5(r: F64) -> F64:
    """Median of each window of five consecutive values; the first four use what exists."""
    n = r.size
    out = np.empty(n)
    for j in range(min(n, P.LEVEL_WINDOW - 1)):
        out[j] = np.median(r[: j + 1])
    if n >= P.LEVEL_WINDOW:
        a, b, c, d, e = (r[i : n - P.LEVEL_WINDOW + 1 + i] for i in range(P.LEVEL_WINDOW))
        # A sorting network for the median of five: no (n, 5) copy, exact for any float.
        a, b = np.minimum(a, b), np.maximum(a, b)
        c, d = np.minimum(c, d), np.maximum(c, d)
        a, c = np.minimum(a, c), np.maximum(a, c)  # a is the smallest of a..d: not the median
        b, d = np.minimum(b, d), np.maximum(b, d)  # d is the largest of a..d: not the median
        b, e = np.minimum(b, e), np.maximum(b, e)
        c, e = np.minimum(c, e), np.maximum(c, e)
        b, c = np.minimum(b, c), np.maximum(b, c)
        out[P.LEVEL_WINDOW - 1 :] = c
    return out


def interval_per_advert(gaps: F64, n: int) -> F64:
    """The learned interval in force at each advert (engine: re-estimated every block of gaps)."""
    blocks = gaps.size // P.INTERVAL_BLOCK
    est = np.full(n, P.NOMINAL_INTERVAL_S)
    if blocks == 0:
        return est
    g = gaps[: blocks * P.INTERVAL_BLOCK].reshape(blocks, P.INTERVAL_BLOCK)
    kept = np.where(g <= P.INTERVAL_LOSS_FACTOR * g.min(axis=1, keepdims=True), g, np.nan)
    block_est = np.maximum(np.nanmedian(kept, axis=1), P.MIN_INTERVAL_S)
    done = np.arange(n) // P.INTERVAL_BLOCK  # blocks complete once advert j is in
    has = done > 0
    est[has] = block_est[done[has] - 1]
    return est


def exit_timeouts(level: F64, scale: F64) -> F64:
    base = np.interp(level, [P.EXIT_WEAK_DBM, P.EXIT_STRONG_DBM], [P.EXIT_WEAK_S, P.EXIT_STRONG_S])
    padded = np.concatenate((np.full(P.FADE_LOOKBACK, -np.inf), level[:-1]))
    recent_max = np.lib.stride_tricks.sliding_window_view(padded, P.FADE_LOOKBACK).max(axis=1)
    fading = (level <= P.FADE_LOW_DBM) & (recent_max >= P.FADE_HIGH_DBM)
    return np.where(fading, P.EXIT_FADE_S, base) * scale


def miss_shares(t: F64, interval: F64) -> F64:
    """Share of the expected adverts heard over the last DENSE_COUNT adverts (``engine.miss_share``
    on the tracker's ring): gaps counted over their span, at the interval in force."""
    n = t.size
    idx = np.arange(n)
    back = np.minimum(idx, P.DENSE_COUNT - 1)
    span = t - t[idx - back]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((back > 0) & (span > 0), back * interval / span, P.MISS_SHARE_PRIOR)


def miss_timeouts(share: F64, odds: float, floor: float) -> F64:
    """``params.miss_timeout`` over arrays."""
    share = np.clip(share, P.MISS_SHARE_MIN, P.MISS_SHARE_MAX)
    return np.clip(math.log(odds) / np.log1p(-share), floor, P.EXIT_MAX_S)


def clean(times: F64, rssi: F64) -> tuple[F64, F64]:
    """Sort by time and drop duplicates and out-of-order repeats (first copy wins)."""
    order = np.argsort(times, kind="stable")
    t = times[order]
    r = rssi[order]
    keep = np.ones(t.size, dtype=bool)
    keep[1:] = np.diff(t) > 0
    return t[keep], r[keep].astype(np.float64)


def recompute(  # noqa: PLR0915 - one pipeline, in the engine's order for comparison
    times: F64,
    rssi: F64,
    deaf: DeafMeasure,
    until: float,
    sleepy: F64 | None = None,
) -> BatchResult:
    """Sessions of one subject from its adverts (sorted, unique times) up to ``until``.

    ``sleepy``: per advert, its device's sleepy timeout (``params.sleepy_timeout``; 0 for an
    always-listening device), which replaces the level's; a sleepy device's adverts stay out of
    ``deaf``.
    """
    t = times
    n = t.size
    if n == 0:
        empty = np.empty(0)
        return BatchResult(empty, empty, empty, empty, empty)
    level = median5(rssi)
    gaps = np.diff(t)
    interval = interval_per_advert(gaps, n)
    scale = np.maximum(1.0, interval / P.NOMINAL_INTERVAL_S)
    referenced = deaf.referenced(t)
    share = miss_shares(t, interval)
    timeout = np.where(
        referenced, miss_timeouts(share, P.EXIT_MISS_ODDS, P.EXIT_MIN_S) * scale, exit_timeouts(level, scale)
    )
    if sleepy is not None:
        timeout = np.where(sleepy > 0.0, sleepy, timeout)

    # Leave decisions: the silence after each advert, in radio-alive time (deaf time is
    # forgiven only with a reference: without one nothing tells a deaf receiver from absence).
    d_at = deaf.at(t)
    end = np.append(t[1:], until)
    d_end = deaf.at(end)
    silence = (end - t) - np.where(referenced, np.minimum(d_end - d_at, P.DEAF_CREDIT_CAP_S), 0.0)
    exits = silence >= timeout  # exits[j]: the gap after advert j ends a session (if one is open)

    # Enter conditions, state-free (they only look back within a window).
    idx = np.arange(n)
    span5 = np.full(n, np.inf)
    span5[P.LEVEL_WINDOW - 1 :] = t[P.LEVEL_WINDOW - 1 :] - t[: n - P.LEVEL_WINDOW + 1]
    cond_a = (span5 <= P.ENTER_SPAN_INTERVALS * scale) & (level >= P.ENTER_DBM)
    span20 = np.full(n, np.inf)
    span20[P.DENSE_COUNT - 1 :] = t[P.DENSE_COUNT - 1 :] - t[: n - P.DENSE_COUNT + 1]
    cond_b = span20 <= P.DENSE_SPAN_INTERVALS * scale
    enter = cond_a | cond_b
    first_of_window = np.where(cond_a, idx - (P.LEVEL_WINDOW - 1), idx - (P.DENSE_COUNT - 1))

    # Segments between leave gaps; within one, present from its first enter to its end.
    segment = np.zeros(n, dtype=np.int64)
    segment[1:] = np.cumsum(exits[:-1])
    seg_count = int(segment[-1]) + 1
    seg_start = np.searchsorted(segment, np.arange(seg_count), side="left")
    seg_end = np.append(seg_start[1:], n) - 1  # last advert of each segment
    enter = enter & (first_of_window >= seg_start[segment])  # never reach back across a leave gap
    enter_idx = np.where(enter, idx, n)
    first_enter = np.minimum.reduceat(enter_idx, seg_start)
    has = first_enter < n
    j_enter = first_enter[has]
    j_last = seg_end[has]
    closed = exits[j_last]
    start_idx = first_of_window[j_enter]
    arrive = t[start_idx]
    leave = np.where(closed, t[j_last], np.nan)
    enter_at = t[j_enter]
    exit_at = np.full(j_last.size, np.nan)
    last = j_last[closed]
    exit_at[closed] = _exit_times(t[last], timeout[last], d_at[last], deaf, referenced[last])

    # Confidence needs cumulative silence, then sessions merge across short absences.
    silent = np.zeros(n)
    silent[1:] = np.cumsum(np.maximum(gaps - P.CONFIDENCE_GAP_S, 0.0))
    new = np.ones(arrive.size, dtype=bool)
    new[1:] = arrive[1:] - leave[:-1] > P.MERGE_GAP_S
    group_first = np.flatnonzero(new)
    group_last = np.append(group_first[1:], arrive.size) - 1
    m_arrive = arrive[group_first]
    m_leave = leave[group_last]
    m_start = start_idx[group_first]
    m_end = j_last[group_last]
    duration = t[m_end] - t[m_start]
    lost = silent[m_end] - silent[m_start]
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = np.where(duration > 0, np.clip(1.0 - lost / duration, 0.0, 1.0), 1.0)
    return BatchResult(m_arrive, m_leave, confidence, enter_at, exit_at)


def _exit_times(last: F64, timeout: F64, d_last: F64, deaf: DeafMeasure, referenced: BoolArray) -> F64:
    """When the engine's silence first reached the timeout (fixed point over deaf credit)."""
    at = last + timeout
    for _ in range(8):
        credit = np.where(referenced, np.minimum(deaf.at(at) - d_last, P.DEAF_CREDIT_CAP_S), 0.0)
        at = last + timeout + credit
    return at
