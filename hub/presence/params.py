"""Every number the presence engine decides with, each with the reason for its value.

docs/presence.md repeats these with the measurements behind them. The timings are written for a
device advertising once a second (the Heartline button and wearable idle at 1 Hz, see
``device/timing.py``); a device that advertises more slowly stretches every span by
``learned interval / NOMINAL_INTERVAL_S`` (never shrinks it), because it gives fewer chances to be
heard in the same time.
"""

from __future__ import annotations

import math
from typing import Final

from device import sleep

# The idle advertising interval of our own button and wearable (device/timing.py
# IDLE_INTERVAL_US); also the prior before a device's own interval has been learned.
NOMINAL_INTERVAL_S: Final = 1.0
# Gaps per interval estimate. 32 gaps is half a minute of history at 1 Hz: long enough that a
# run of lost adverts (gaps of 2x, 3x the interval) cannot be the majority, short enough to
# follow a device that changes its interval. Estimated once per block, so no per-advert cost.
INTERVAL_BLOCK: Final = 32
# Gaps above this multiple of the block's shortest gap are lost adverts, not the interval.
INTERVAL_LOSS_FACTOR: Final = 1.5
# The shortest interval BLE allows for advertising (Core spec v5.3, Vol 6, Part B, 4.4.2.2).
MIN_INTERVAL_S: Final = 0.02

# Level = median of the last few RSSI values heard. A median of 5 removes up to two outliers
# (a 6 dB noise spike, or a packet heard through a reflection) and, unlike a mean, is not
# dragged by the censored tail: adverts below the receiver's sensitivity are never heard.
LEVEL_WINDOW: Final = 5
# Entering needs the level at or above this. With the simulator's radio (tx -4 dBm, 40.2 dB at
# 1 m, exponent 2.5, an outside wall of 6-14 dB) -88 dBm is reached about at a home's garden
# fence; a wearable heard only more faintly is a passer-by's distance, not "home" yet.
ENTER_DBM: Final = -88.0
# ... and all LEVEL_WINDOW adverts within this many intervals: a person, not a stray reflection.
ENTER_SPAN_INTERVALS: Final = 15.0
# Second way in, at any level: this many adverts within DENSE_SPAN_INTERVALS (12 in 60: one in
# five heard, what a shadowed wearable in a far room still manages). Catches someone
# who comes home straight to a far corner (garden, far bedroom) where the level stays weak.
DENSE_COUNT: Final = 12
DENSE_SPAN_INTERVALS: Final = 60.0

# Leaving is silence, measured in *radio-alive* time (see DEAF_GAP_S), longer than the device's
# own adverts make believable. Two ways to judge it, chosen by whether the hub has a *reference*
# (another device heard within REFERENCE_S of the subject's last advert: the home's puck, the
# other person's wearable, a neighbour's phone or TV):
#
# * with a reference, the radio is known to work, so silence is weighed against the adverts the
#   device was expected to send: the share of them heard lately (over its last DENSE_COUNT
#   adverts, at its learned interval) gives the odds of the silence were it still here, and it
#   has left when those odds fall to EXIT_MISS_ODDS (see ``miss_timeout``);
# * without one (a home whose only device is the wearable that just left), silence may be the
#   receiver: the level decides, as below, and no deaf time is forgiven (nothing could tell it).
REFERENCE_S: Final = 60.0
# Odds, were the device still here at the share of adverts heard lately, of a silence this long.
# 1e-4: a wearable heard at 1 Hz half the time has left after 13 s of silence; one heard one
# advert in twenty (the garden behind a body) after 180 s. The benchmark sweep (docs/presence.md):
# 1e-6 costs 3 s of departure delay for 0.15 fewer live flaps a day; the floor below matters more.
EXIT_MISS_ODDS: Final = 1e-4
# The floor of that rule. Coexistence bursts on a Pi (~4 an hour, ~15 s, 90 % lost) take the
# reference down to one advert in ten: a gap is forgiven only beyond DEAF_GAP_S, so part of a
# burst still reads as the device's own silence. 20 s: about one live flap a day on the
# benchmark, departures at 38 s median (15 s: 1.8 flaps, 33 s; 30 s: 0.5 flaps, 49 s).
EXIT_MIN_S: Final = 20.0
# The cap of that rule: the fallback's longest timeout (a device that really vanished).
EXIT_MAX_S: Final = 240.0
# The share heard before anything is known, and its bounds (never certain either way).
MISS_SHARE_PRIOR: Final = 0.5
MISS_SHARE_MIN: Final = 0.01
MISS_SHARE_MAX: Final = 0.999
# "Leaving": still home, but silent past the odds LEAVING_MISS_ODDS (and at least LEAVING_MIN_S):
# what the dashboard shows while the departure is being confirmed. 1e-2 and 10 s: a wearable
# carried off at 1 Hz is "leaving" about 10 s after its last advert; one in the garden is rarely.
LEAVING_MISS_ODDS: Final = 1e-2
LEAVING_MIN_S: Final = 10.0

# The fallback without a reference: silence longer than a timeout that depends on the level last
# heard. Nobody vanishes from beside the hub: to leave, the wearable crosses the weak fringe
# first, so silence after a strong level may be the receiver or the body, and is waited out
# longer. Between the two levels the timeout is interpolated linearly.
EXIT_WEAK_DBM: Final = -90.0
EXIT_STRONG_DBM: Final = -75.0
# Silence needed after a weak level. Longer than nearly all gaps a wearable leaves in the
# garden (behind a body, 15 dB down, at 25 m: about 1 advert in 20 heard, so a 45 s gap has odds
# of ~1/8 per shadowed minute), short enough that a departure is seen sooner than with
# room-assistant's 60 s rule.
EXIT_WEAK_S: Final = 45.0
# A departure looks like a fade: the level was strong a moment ago and is at the fringe now.
# Silence right after such a fade is someone walking or driving off, so it is believed sooner.
# FADE_LOOKBACK adverts is ~15 s: the walk from a room to the property line.
FADE_HIGH_DBM: Final = -80.0
FADE_LOW_DBM: Final = -90.0
FADE_LOOKBACK: Final = 15
EXIT_FADE_S: Final = 20.0
# Silence needed after a strong level: covers a device that really vanished (flat battery) and
# Wi-Fi/Bluetooth coexistence stalls of a few minutes on a Pi without a reference device.
EXIT_STRONG_S: Final = 240.0

# The receiver is "deaf" when no advert from any *other* device (the reference) arrived for this
# long. The home's button at 1 Hz loses 3 in a row with odds ~1e-4 at 5 % loss; in a
# coexistence burst it loses most, and the time past 3 s of each of its gaps is forgiven. Deaf
# time does not count towards a person's silence, and only while they have a reference.
DEAF_GAP_S: Final = 3.0
# At most this much deaf time is forgiven per silence. Scanner stalls last a minute or so (the
# watchdog restarts the scan after ``ble.watchdog_silence_s``); the long tail of a stalled
# bluetoothd reaches several minutes. 900 s covers all but ~1 stall in 700 (300 s, the old cap,
# let the longer stalls split a stay: 0.045 spurious sessions a day instead of 0.015).
DEAF_CREDIT_CAP_S: Final = 900.0
# A gap is deafness only if the reference would have been heard: the radio was hearing other
# devices steadily (no gap over DEAF_GAP_S) for at least DEAF_STEADY_S when the gap began. A
# stalled receiver silences a steady reference (the home's puck, a neighbour's TV) mid-stream;
# a device heard once in passing (the other person's wearable, a phone walking by) and then
# never again proves nothing, and without this its silence would turn all of a subject's
# silence, up to DEAF_CREDIT_CAP_S, into forgiven time. 10 s: a few adverts in a row of a
# device at 1 Hz, longer than one advert burst of a passing device.
DEAF_STEADY_S: Final = 10.0
# Of a gap after unsteady hearing, at most this much is forgiven: the scan watchdog's default
# silence (``ble.watchdog_silence_s``); a stall longer than that is the watchdog's to end. The
# cap is known when the gap begins, so a silence never shrinks after the fact (the engine and
# the batch decide alike).
DEAF_UNSTEADY_CAP_S: Final = 20.0

# A person heard again within this long of their last advert never left: the two sessions are
# one (the garden, the bins). Five minutes: shorter than any errand, the time the issue names.
MERGE_GAP_S: Final = 300.0
# Confidence: the share of a session not spent in silences longer than this. A few lost
# adverts are normal; ten seconds of nothing is time we are guessing.
CONFIDENCE_GAP_S: Final = 10.0

# A sleepy device (a wearable in deep sleep between listen windows, ``device/sleep.py``) is
# heard only in its windows: LISTEN_MS every listen period (the period is in its listen advert),
# at LISTEN_INTERVAL_US, so ~20 adverts a window. Its silence between windows is by design, so
# it leaves after SLEEPY_MISSED_WINDOWS windows in a row went unheard, whatever its level. Two, from the same
# odds as EXIT_WEAK_S: at the garden's worst spot (1 advert in 20 heard) a window of 20 adverts
# is missed with odds 0.95^20 = 0.36, two in a row 0.13, about the ~1/8 per shadowed minute the
# weak rule accepts for an always-on device; one missed window alone would flap every few
# minutes in the garden. Each window may come late by the RTC's drift (SLEEPY_DRIFT of the
# period, the grace hub/ble/feedback.py gives a window) and the boot (SLEEPY_MARGIN_S).
SLEEPY_MISSED_WINDOWS: Final = 2
SLEEPY_DRIFT: Final = 0.1
SLEEPY_MARGIN_S: Final = 5.0
LISTEN_WINDOW_S: Final = sleep.LISTEN_MS / 1000.0


def sleepy_timeout(period_s: float) -> float:
    """Silence after which a sleepy device with this listen period has left: 141 s for the
    default 60 s period. It replaces the level's timeout: heard once a period, the level last
    heard may be a minute old, and the fade of a walk off falls between windows."""
    return SLEEPY_MISSED_WINDOWS * (period_s * (1.0 + SLEEPY_DRIFT) + LISTEN_WINDOW_S) + SLEEPY_MARGIN_S


def miss_timeout(share: float, odds: float, floor: float) -> float:
    """Silence (in intervals) whose odds are ``odds`` for a device heard at ``share`` of its
    adverts: ``log(odds) / log(1 - share)``, between ``floor`` and EXIT_MAX_S."""
    share = min(max(share, MISS_SHARE_MIN), MISS_SHARE_MAX)
    return min(max(math.log(odds) / math.log1p(-share), floor), EXIT_MAX_S)
