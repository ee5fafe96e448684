# Battery percentage from the cell voltage, read through a 1:2 divider on an ADC pin.
try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


DIVIDER = const(2)  # two equal resistors halve the LiPo voltage into the ADC range
# Resting LiPo discharge curve, (millivolts, percent), highest first; linear between points.
CURVE = ((4200, 100), (4000, 85), (3850, 60), (3750, 40), (3650, 20), (3500, 5), (3300, 0))

# Low-battery behaviour (device/button.py), by the percentage above.
# Below LOW_PERCENT (about 3.6 V resting) feedback is cut down to save charge: the LED is dimmed
# and glows only for the haptic rhythm, and one amber blink after each touch says "charge me".
# 15 % leaves the wearer days of touches at the power budget's light-sleep average
# (hardware/power-budget.md) to find a charger, and is where phones warn too.
LOW_PERCENT = const(15)
# Below CRITICAL_PERCENT (3.5 V resting) there is no feedback at all, only touch adverts: the
# motor's current would sag a nearly empty cell towards the ESP32-C3's 3.0 V minimum and reset
# the board mid-advert, and the WS2812B is specified from 3.5 V up. What charge is left goes to
# getting touches to the partner.
CRITICAL_PERCENT = const(5)
# Hysteresis: a level, once entered, is left only this many points above its threshold, so a
# cell resting near a threshold does not flicker between dimmed and normal feedback.
HYSTERESIS_PERCENT = const(5)
# One reading is the mean of SAMPLES ADC conversions with the lowest and highest dropped: the
# ESP32-C3's ADC is noisy (tens of mV between conversions) and a single conversion can spike.
SAMPLES = const(8)

NORMAL = const(0)
LOW = const(1)
CRITICAL = const(2)


def percent_from_mv(mv):
    if mv >= CURVE[0][0]:
        return 100
    for i in range(1, len(CURVE)):
        hi_mv, hi_pct = CURVE[i - 1]
        lo_mv, lo_pct = CURVE[i]
        if mv >= lo_mv:
            return lo_pct + (hi_pct - lo_pct) * (mv - lo_mv) // (hi_mv - lo_mv)
    return 0


def read_mv(adc, samples=SAMPLES):
    """The cell's millivolts: a trimmed mean of several conversions (adc.read_uv(), ESP32)."""
    low = high = adc.read_uv()
    total = low
    for _ in range(samples - 1):
        uv = adc.read_uv()
        total += uv
        if uv < low:
            low = uv
        elif uv > high:
            high = uv
    if samples > 2:
        total -= low + high
        samples -= 2
    return total // samples * DIVIDER // 1000


def read_percent(adc):
    """adc has read_uv() (ESP32 machine.ADC); returns 0..100."""
    return percent_from_mv(read_mv(adc))


def level(percent, current=NORMAL):
    """NORMAL, LOW or CRITICAL for a battery percentage; given the current level, a level is
    left only HYSTERESIS_PERCENT above the threshold that entered it."""
    critical_at = CRITICAL_PERCENT + (HYSTERESIS_PERCENT if current == CRITICAL else 0)
    low_at = LOW_PERCENT + (HYSTERESIS_PERCENT if current != NORMAL else 0)
    if percent < critical_at:
        return CRITICAL
    if percent < low_at:
        return LOW
    return NORMAL


class Meter:
    """The battery as the firmware acts on it: the last resting reading and its level.

    Sample it only at rest (motor off, radio quiet): under a transmit burst or the motor's
    current the cell sags, and that is not its charge."""

    def __init__(self, adc):
        self._adc = adc
        self.mv = read_mv(adc)
        self.percent = percent_from_mv(self.mv)
        self.level = level(self.percent)

    def sample(self, under_load=False):
        """Take a reading; returns the percentage. Under load (radio or motor busy) the cell
        can only read low, so such a reading is taken only if it is higher than the last one
        (a charger plugged in), never lower."""
        mv = read_mv(self._adc)
        if under_load and mv <= self.mv:
            return self.percent
        self.mv = mv
        percent = percent_from_mv(mv)
        self.percent = percent
        self.level = level(percent, self.level)
        return percent
