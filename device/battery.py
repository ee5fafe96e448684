# Battery percentage from the cell voltage, read through a 1:2 divider on an ADC pin.
try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


DIVIDER = const(2)  # two equal resistors halve the LiPo voltage into the ADC range
# Resting LiPo discharge curve, (millivolts, percent), highest first; linear between points.
CURVE = ((4200, 100), (4000, 85), (3850, 60), (3750, 40), (3650, 20), (3500, 5), (3300, 0))


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
