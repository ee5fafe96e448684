"""Faithful re-implementations of the presence rules published BLE presence projects use.

What each project decides "home" from, read from their published documentation:

* **Fixed timeouts** (Theengs Gateway / ble2mqtt / Home Assistant ``consider_home``-style): a
  device is present from the first advert heard and until T seconds after the last one.
  Measured here with T = 120 s and T = 300 s.
* **room-assistant**: its BLE integration smooths each device's values with a one-dimensional
  Kalman filter (kalmanjs form; the documented defaults are process noise 0.01 and measurement
  noise 3) and marks a device absent after ``timeout`` seconds without an advert (default 60).
  The filter feeds the *distance* it reports; with the default (no ``maxDistance``) it does not
  gate presence, so presence is "seen within 60 s". ``KalmanRssi`` is the filter, for the
  per-advert cost and for a gate when one is configured.
* **ESPresense-style**: RSSI filtered as the median of the samples inside Tukey's fences
  (Q1 - 1.5 IQR, Q3 + 1.5 IQR) of a 15 s window; the device is reported while that window holds
  samples. ``TukeyMedian`` is the filter; as above, without a distance gate presence is
  "seen within 15 s".

All work on heard advert times (sorted); no code from those projects is used.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

ROOM_ASSISTANT_TIMEOUT_S = 60.0
ROOM_ASSISTANT_PROCESS_NOISE = 0.01
ROOM_ASSISTANT_MEASUREMENT_NOISE = 3.0
TUKEY_WINDOW_S = 15.0
TUKEY_K = 1.5


def timeout_sessions(times: F64, timeout: float, until: float) -> tuple[F64, F64]:
    """(arrive, leave) of "present from the first advert until ``timeout`` after the last"."""
    if times.size == 0:
        return np.empty(0), np.empty(0)
    gap = np.diff(times)
    breaks = np.flatnonzero(gap > timeout)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [times.size - 1]))
    leave = times[ends] + timeout
    leave[-1] = leave[-1] if leave[-1] <= until else np.nan
    return times[starts], leave


class KalmanRssi:
    """kalmanjs-style 1-D Kalman filter (A = C = 1, no control), as room-assistant uses it."""

    __slots__ = ("cov", "q", "r", "x")

    def __init__(
        self,
        process_noise: float = ROOM_ASSISTANT_PROCESS_NOISE,
        measurement_noise: float = ROOM_ASSISTANT_MEASUREMENT_NOISE,
    ) -> None:
        self.r = process_noise
        self.q = measurement_noise
        self.x = float("nan")
        self.cov = float("nan")

    def update(self, z: float) -> float:
        if self.x != self.x:  # first measurement initialises the state
            self.x = z
            self.cov = self.q
            return z
        predicted_cov = self.cov + self.r
        gain = predicted_cov / (predicted_cov + self.q)
        self.x += gain * (z - self.x)
        self.cov = predicted_cov - gain * predicted_cov
        return self.x


class TukeyMedian:
    """Median of the samples within Tukey's fences over the last ``window`` seconds."""

    __slots__ = ("samples", "window")

    def __init__(self, window: float = TUKEY_WINDOW_S) -> None:
        self.window = window
        self.samples: deque[tuple[float, float]] = deque()

    def update(self, t: float, rssi: float) -> float:
        self.samples.append((t, rssi))
        while self.samples[0][0] < t - self.window:
            self.samples.popleft()
        values = np.fromiter((v for _, v in self.samples), dtype=np.float64)
        q1, q3 = np.percentile(values, [25.0, 75.0])
        fence = TUKEY_K * (q3 - q1)
        inside = values[(values >= q1 - fence) & (values <= q3 + fence)]
        return float(np.median(inside))
