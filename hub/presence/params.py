"""Every number the presence engine decides with, each with the reason for its value.

docs/presence.md repeats these with the measurements behind them. The timings are written for a
device advertising once a second (the Heartline button and wearable idle at 1 Hz, see
``device/timing.py``); a device that advertises more slowly stretches every span by
``learned interval / NOMINAL_INTERVAL_S`` (never shrinks it), because it gives fewer chances to be
heard in the same time.
"""

from __future__ import annotations

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

# Leaving is silence, measured in *radio-alive* time (see DEAF_GAP_S), longer than a timeout
# that depends on the level last heard. Nobody vanishes from beside the hub: to leave, the
# wearable crosses the weak fringe first, so silence after a strong level is the receiver or the
# body, and is waited out longer. Between the two levels the timeout is interpolated linearly.
EXIT_WEAK_DBM: Final = -90.0
EXIT_STRONG_DBM: Final = -75.0
# Silence needed after a weak level. Longer than nearly all gaps a wearable leaves in the
# garden (behind a body, 15 dB down, at 25 m: about 1 advert in 20 heard, so a 45 s gap has odds
# of ~1/8 per shadowed minute, and re-joining a flap costs nothing in the log), short enough that
# a departure is seen sooner than with room-assistant's 60 s rule. The benchmark sweep
# (docs/presence.md) put 45 s at the knee between live flaps and departure delay.
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

# The receiver is "deaf" when no advert at all (from any device) arrived for this long. A home
# with a Heartline button hears it at 1 Hz, so 8 s of total silence has odds of ~1e-10 at 5 %
# loss: it is the adapter (BlueZ discovery stalled, Wi-Fi coexistence), not the people. Deaf
# time does not count towards a person's silence.
DEAF_GAP_S: Final = 8.0
# At most this much deaf time is forgiven per silence. With no other device around, a person
# leaving makes the whole radio silent; the cap bounds how much that delays their departure.
DEAF_CREDIT_CAP_S: Final = 300.0

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
