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


def read_percent(adc):
    """adc has read_uv() (ESP32 machine.ADC); returns 0..100."""
    return percent_from_mv(adc.read_uv() * DIVIDER // 1000)


def level(percent):
    """NORMAL, LOW or CRITICAL for a battery percentage."""
    if percent < CRITICAL_PERCENT:
        return CRITICAL
    if percent < LOW_PERCENT:
        return LOW
    return NORMAL
