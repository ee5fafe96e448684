"""The incremental presence engine: one advert in, at most one transition out, no numpy; O(1)
per advert but for one deaf-time clock per tracked person (a couple: two).

Each tracked subject (a person: all their wearables feed one tracker) keeps small ring buffers
(last LEVEL_WINDOW RSSI values, last DENSE_COUNT advert times) and a block of INTERVAL_BLOCK gaps
for learning its advert interval. ``hub.presence.batch`` computes exactly the same decisions over
stored history with numpy; tests hold the two to each other.

Decisions (numbers and reasons in ``hub.presence.params``):

* **enter** at an advert when the median of the last 5 RSSI values is >= ENTER_DBM and those 5
  came within 15 intervals, or when 20 adverts came within 60 intervals at any level. The
  session is dated from the first advert of that window (when they came in, not when we were
  sure).
* **leave** when the subject has been silent, in radio-alive time, for longer than its adverts
  make believable. With a *reference* (another device heard within REFERENCE_S of the subject's
  last advert) the radio is known to work: the share of the subject's expected adverts heard
  lately gives the odds of the silence, and it has left when they reach EXIT_MISS_ODDS (20 s at
  the least). Without one, the silence may be the receiver: a timeout interpolated from the
  level last heard (45 s weak .. 240 s strong), and no deaf time forgiven. The session is dated
  to the last advert heard: that is when they were last here.
* **leaving** while present and silent past LEAVING_MISS_ODDS: the departure is being confirmed.
* **deaf time** is measured per subject from every *other* device: a subject's own silence is
  never evidence that the receiver is deaf (the only wearable of a home walking off silences the
  whole radio, and that is an empty home, not a deaf adapter).
* **sleepy devices**: a device whose listen advert gave its listen period (a wearable in deep
  sleep between windows) is silent by design between windows and heard about once a period, so
  its level says little about a walk off (the fade falls between windows). While it is heard
  within ``sleepy_timeout(period)`` of its last listen advert, its subject leaves after that
  much silence (two missed windows) instead of the level's timeout; and its adverts do not feed
  the receiver's deaf time (its own gaps would look like a deaf adapter).
* **resume** instead of enter when the new arrival is within MERGE_GAP_S of the last leave: the
  stored session is re-opened, so the garden never splits a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from hub.presence import params as P  # noqa: N812 - the constants read best as P.NAME


class TransitionKind(StrEnum):
    ARRIVE = "arrive"  # a new session starts at ``since``
    LEAVE = "leave"  # the open session ends at ``since`` (the last advert heard)
    RESUME = "resume"  # the last session, closed at ``since``, is open again


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of a subject's state. Times are monotonic seconds."""

    subject: str
    kind: TransitionKind
    at: float  # when the engine decided
    since: float  # when it happened: first advert of the entry window, or last advert heard
    confidence: float  # for LEAVE: share of the session not spent in long silences


class RadioWatch:
    """Deaf time of the receiver, from the adverts of the devices it is fed.

    ``measure(t)`` is the total time, up to ``t``, that lay more than DEAF_GAP_S into a gap in
    which nothing at all was heard; of a gap that began after less than DEAF_STEADY_S of steady
    hearing, at most DEAF_UNSTEADY_CAP_S. It never decreases and grows at most as fast as time.
    """

    __slots__ = ("deaf_total", "last_any", "steady_since")

    def __init__(self) -> None:
        self.last_any = -math.inf
        self.steady_since = -math.inf  # first advert of the current run without a long gap
        self.deaf_total = 0.0

    def _gap_deaf(self, now: float) -> float:
        deaf = max(0.0, now - self.last_any - P.DEAF_GAP_S)
        if self.last_any - self.steady_since < P.DEAF_STEADY_S:
            return min(deaf, P.DEAF_UNSTEADY_CAP_S)
        return deaf

    def measure(self, now: float) -> float:
        if self.last_any == -math.inf:
            return 0.0
        return self.deaf_total + self._gap_deaf(now)

    def heard(self, t: float) -> None:
        if t <= self.last_any:
            return
        if self.last_any != -math.inf:
            self.deaf_total += self._gap_deaf(t)
        if t - self.last_any > P.DEAF_GAP_S:
            self.steady_since = t
        self.last_any = t


def miss_share(count: int, span: float, interval: float) -> float:
    """The share of a device's expected adverts heard: ``count`` gaps over ``span`` seconds."""
    if count <= 0 or span <= 0.0:
        return P.MISS_SHARE_PRIOR
    return count * interval / span


def exit_timeout(level: float, scale: float, recent_max: float) -> float:
    """Silence (radio-alive seconds) after which a subject last heard at ``level`` has left.

    ``recent_max`` is the highest level of the FADE_LOOKBACK adverts before this one.
    """
    if level <= P.FADE_LOW_DBM and recent_max >= P.FADE_HIGH_DBM:
        base = P.EXIT_FADE_S
    elif level <= P.EXIT_WEAK_DBM:
        base = P.EXIT_WEAK_S
    elif level >= P.EXIT_STRONG_DBM:
        base = P.EXIT_STRONG_S
    else:
        frac = (level - P.EXIT_WEAK_DBM) / (P.EXIT_STRONG_DBM - P.EXIT_WEAK_DBM)
        base = P.EXIT_WEAK_S + frac * (P.EXIT_STRONG_S - P.EXIT_WEAK_S)
    return base * scale


def interval_estimate(gaps: list[float]) -> float:
    """A block's advert interval: median of the gaps that are not lost adverts."""
    shortest = min(gaps)
    kept = sorted(g for g in gaps if g <= P.INTERVAL_LOSS_FACTOR * shortest)
    mid = len(kept) // 2
    value = kept[mid] if len(kept) % 2 else (kept[mid - 1] + kept[mid]) / 2.0
    return max(value, P.MIN_INTERVAL_S)


def median_of(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


class SubjectTracker:
    """State of one subject. All fields are plain Python numbers and fixed-size lists."""

    __slots__ = (
        "arrive_silent",
        "arrived",
        "count",
        "gap_fill",
        "gaps",
        "interval",
        "last_deaf",
        "last_leave",
        "last_t",
        "leave_silent",
        "leaving_after",
        "level_ring",
        "present",
        "referenced",
        "rssi_ring",
        "scale",
        "segment_start",
        "silent_ring",
        "silent_total",
        "stale",
        "subject",
        "time_ring",
        "timeout",
        "watch",
    )

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.present = False
        self.count = 0  # adverts accepted
        self.last_t = -math.inf
        self.last_deaf = 0.0
        self.timeout = P.EXIT_WEAK_S
        self.leaving_after = P.LEAVING_MIN_S
        self.referenced = False  # another device was heard near this subject's last advert
        self.watch = RadioWatch()  # deaf time from every device but this subject's
        self.rssi_ring = [0.0] * P.LEVEL_WINDOW
        self.level_ring = [-math.inf] * P.FADE_LOOKBACK  # levels of the previous adverts
        self.time_ring = [0.0] * P.DENSE_COUNT
        self.silent_ring = [0.0] * P.DENSE_COUNT  # cumulative silence at each of those adverts
        self.silent_total = 0.0
        self.gaps = [0.0] * P.INTERVAL_BLOCK
        self.gap_fill = 0
        self.interval = P.NOMINAL_INTERVAL_S
        self.scale = 1.0
        self.arrived = 0.0  # start of the open (or last) session
        self.arrive_silent = 0.0  # silent_total at ``arrived``
        self.last_leave = -math.inf  # end of the last closed session
        self.leave_silent = 0.0
        self.stale = 0  # duplicate or out-of-order adverts ignored
        # First advert after the last silence long enough to leave: entry windows start there,
        # so a new session never reaches back across a departure.
        self.segment_start = -math.inf

    def silence(self, now: float) -> float:
        """Radio-alive seconds since this subject was last heard (all of it without a reference:
        then nothing tells a deaf receiver from an empty home)."""
        if not self.referenced:
            return now - self.last_t
        deaf = min(self.watch.measure(now) - self.last_deaf, P.DEAF_CREDIT_CAP_S)
        return (now - self.last_t) - deaf

    def leaving(self, now: float) -> bool:
        """Present, but silent long enough that a departure is being confirmed."""
        return self.present and self.silence(now) >= self.leaving_after

    def check_exit(self, now: float) -> Transition | None:
        if not self.present or self.silence(now) < self.timeout:
            return None
        self.present = False
        self.last_leave = self.last_t
        self.leave_silent = self.silent_total
        return Transition(self.subject, TransitionKind.LEAVE, now, self.last_t, self.confidence(self.last_t))

    def confidence(self, until: float) -> float:
        duration = until - self.arrived
        if duration <= 0.0:
            return 1.0
        silent = self.silent_total - self.arrive_silent
        return min(1.0, max(0.0, 1.0 - silent / duration))

    def _set_timeouts(self, n: int, t: float, fallback: float, sleepy: bool) -> None:
        """The silence after advert ``n`` (at ``t``) that is a departure, and the one that
        shows "leaving": from the share of expected adverts heard when the radio is known to
        work; ``fallback`` (the level's or the sleepy timeout) when it is not, or asleep."""
        back = n if n < P.DENSE_COUNT else P.DENSE_COUNT - 1
        share = miss_share(back, t - self.time_ring[(n - back) % P.DENSE_COUNT], self.interval)
        scale = self.scale
        if self.referenced and not sleepy:
            self.timeout = P.miss_timeout(share, P.EXIT_MISS_ODDS, P.EXIT_MIN_S) * scale
        else:
            self.timeout = fallback
        leaving = P.miss_timeout(share, P.LEAVING_MISS_ODDS, P.LEAVING_MIN_S) * scale
        self.leaving_after = min(leaving, self.timeout)

    def add(  # noqa: C901 - hot path
        self, t: float, rssi: float, sleepy: float = 0.0
    ) -> Transition | None:
        """Take one advert (already checked to be newer than the last); ``sleepy`` is its
        device's sleepy timeout (two missed listen windows), 0 for an always-listening one."""
        watch = self.watch
        n = self.count
        if n:
            gap = t - self.last_t
            if gap > P.CONFIDENCE_GAP_S:
                self.silent_total += gap - P.CONFIDENCE_GAP_S
            self.gaps[self.gap_fill] = gap
            self.gap_fill += 1
            if self.gap_fill == P.INTERVAL_BLOCK:
                self.gap_fill = 0
                self.interval = interval_estimate(self.gaps)
                self.scale = max(1.0, self.interval / P.NOMINAL_INTERVAL_S)
        self.rssi_ring[n % P.LEVEL_WINDOW] = rssi
        self.time_ring[n % P.DENSE_COUNT] = t
        self.silent_ring[n % P.DENSE_COUNT] = self.silent_total
        self.count = n + 1
        self.last_t = t
        self.last_deaf = watch.measure(t)
        self.referenced = t - watch.last_any <= P.REFERENCE_S
        level = median_of(self.rssi_ring if n + 1 >= P.LEVEL_WINDOW else self.rssi_ring[: n + 1])
        scale = self.scale
        ring = self.level_ring
        recent_max = max(ring) if level <= P.FADE_LOW_DBM else -math.inf
        ring[n % P.FADE_LOOKBACK] = level
        self._set_timeouts(n, t, sleepy or exit_timeout(level, scale, recent_max), sleepy > 0.0)
        if self.present:
            return None
        first = -1
        if n >= P.LEVEL_WINDOW - 1 and level >= P.ENTER_DBM:
            k = (n - (P.LEVEL_WINDOW - 1)) % P.DENSE_COUNT
            if t - self.time_ring[k] <= P.ENTER_SPAN_INTERVALS * scale:
                first = k
        if first < 0 and n >= P.DENSE_COUNT - 1:
            k = (n - (P.DENSE_COUNT - 1)) % P.DENSE_COUNT
            if t - self.time_ring[k] <= P.DENSE_SPAN_INTERVALS * scale:
                first = k
        if first >= 0 and self.time_ring[first] < self.segment_start:
            first = -1
        if first < 0:
            return None
        self.present = True
        since = self.time_ring[first]
        if since - self.last_leave <= P.MERGE_GAP_S:
            return Transition(self.subject, TransitionKind.RESUME, t, self.last_leave, 1.0)
        self.arrived = since
        self.arrive_silent = self.silent_ring[first]
        return Transition(self.subject, TransitionKind.ARRIVE, t, since, 1.0)


class PresenceEngine:
    """All subjects of one hub, plus the receiver's deaf time. Times are monotonic seconds."""

    def __init__(self, devices: dict[str, str]) -> None:
        """``devices`` maps a device address (any case) to its subject (a person)."""
        self.radio = RadioWatch()  # every always-listening device: the receiver as a whole
        self._subject_of = {address.upper(): subject for address, subject in devices.items()}
        self.trackers = {subject: SubjectTracker(subject) for subject in set(devices.values())}
        # Sleepy devices: address -> (listen period s, time of its last listen advert).
        self._listening: dict[str, tuple[float, float]] = {}

    def track(self, person: str, addresses: list[str]) -> None:
        """``person``'s devices are now these (a partner's wearables shared by their hub)."""
        self._subject_of = {a: s for a, s in self._subject_of.items() if s != person}
        self._subject_of.update({address.upper(): person for address in addresses})
        if addresses:
            self.trackers.setdefault(person, SubjectTracker(person))

    def observe(
        self, address: str, rssi: float, t: float, listen_period_s: float | None = None
    ) -> Transition | None:
        """One advert from any device (people's or not: every always-listening device's advert
        tells us the radio works). ``listen_period_s``: the advert is a listen advert with this
        period (the device sleeps between windows)."""
        subject = self._subject_of.get(address) or self._subject_of.get(address.upper())
        sleepy = (
            self._sleepy_timeout(address, t, listen_period_s) if listen_period_s or self._listening else 0.0
        )
        if subject is None:
            if not sleepy:
                self._heard(t, None)
            return None
        tracker = self.trackers[subject]
        if t <= tracker.last_t:
            tracker.stale += 1
            return None
        left = tracker.check_exit(t)
        if tracker.count and tracker.silence(t) >= tracker.timeout:
            tracker.segment_start = t
        if not sleepy:
            self._heard(t, tracker)
        entered = tracker.add(t, rssi, sleepy)
        return left or entered

    def _heard(self, t: float, own: SubjectTracker | None) -> None:
        """An always-listening device was heard: the radio works, for everyone but its owner."""
        self.radio.heard(t)
        for tracker in self.trackers.values():
            if tracker is not own:
                tracker.watch.heard(t)

    def _sleepy_timeout(self, address: str, t: float, listen_period_s: float | None) -> float:
        """The sleepy timeout of this advert's device, or 0 if it is always listening. A device
        stays sleepy while it is heard within that timeout of its last listen advert (its touch
        adverts come between listen adverts); a device heard later without one listens always."""
        key = address.upper()
        if listen_period_s:
            self._listening[key] = (listen_period_s, t)
            return P.sleepy_timeout(listen_period_s)
        known = self._listening.get(key)
        if known is None:
            return 0.0
        period, last = known
        timeout = P.sleepy_timeout(period)
        if t - last <= timeout:
            return timeout
        del self._listening[key]
        return 0.0

    def listen_period_s(self, address: str) -> float | None:
        """The listen period presence knows for a device, or None if it listens always."""
        known = self._listening.get(address.upper())
        return known[0] if known else None

    def tick(self, now: float) -> list[Transition]:
        """Leave decisions due by ``now``; call about once a second."""
        out: list[Transition] = []
        for tracker in self.trackers.values():
            left = tracker.check_exit(now)
            if left is not None:
                out.append(left)
        return out

    def is_present(self, subject: str) -> bool:
        return self.trackers[subject].present

    def is_leaving(self, subject: str, now: float) -> bool:
        """Present, and silent long enough that a departure is being confirmed."""
        return self.trackers[subject].leaving(now)
