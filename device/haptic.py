# Haptic rhythms and LED colours for the feedback patterns.
#
# The motor is a coin ERM on a PWM pin (duty_u16); the LED is one WS2812 driven through the
# neopixel interface (led[0] = (r, g, b); led.write()). Each rhythm is a flat tuple of
# (strength %, milliseconds) steps; strength 0 is a pause. Distinct on purpose: a partner should
# tell "thinking of you" from "I need you" with eyes closed.
#
# Both run straight from the LiPo (hardware/README.md), whose voltage falls from 4.2 V to 3.5 V
# as it drains. An ERM's speed, and so its felt strength, follows its average voltage, so the
# duty is scaled by MOTOR_NOMINAL_MV / the cell's voltage: a strength means the same buzz on a
# full cell and a nearly empty one. The LED's supply goes through a load switch (led_power, a
# Pin): a dark WS2812 still draws current, so it is powered only while it glows.
try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


from device import timing

_FULL = const(65535)

RHYTHMS = (
    (),
    # 1 thinking_of_you: a heartbeat, "lub-dub", twice.
    ((80, 70), (0, 90), (60, 70), (0, 450), (80, 70), (0, 90), (60, 70)),
    # 2 celebrate: five quick bright pulses.
    ((100, 40), (0, 60), (100, 40), (0, 60), (100, 40), (0, 60), (100, 40), (0, 60), (100, 40)),
    # 3 need_you: three long strong pulses.
    ((100, 400), (0, 200), (100, 400), (0, 200), (100, 400)),
    # 4 felt_it: one soft acknowledgement.
    ((50, 150),),
    # 5 shared_moment: a swell, three pulses growing longer.
    ((70, 100), (0, 120), (85, 200), (0, 120), (100, 320)),
    # Local cues, played by the firmware itself and never by a command (command.py only accepts
    # 1-5 and 9). 6 reset_armed: one short tick, "let go now to reset".
    ((100, 60),),
    # 7 reset: two falling pulses, "forgotten; pairing mode is open".
    ((100, 200), (0, 150), (50, 300)),
    # 8 low_battery: no motor, one 200 ms amber blink after a touch, "charge me".
    ((0, 200),),
    # 9 arrived (a command): no motor, a soft glow, "your touch reached them".
    ((0, 600),),
)

# Colour used when a command asks for black (0, 0, 0): the pattern's own colour.
COLOURS = (
    (0, 0, 0),
    (255, 40, 90),  # thinking_of_you: warm pink
    (255, 190, 0),  # celebrate: gold
    (160, 0, 255),  # need_you: violet
    (40, 255, 120),  # felt_it: soft green
    (255, 120, 20),  # shared_moment: amber
    (255, 0, 0),  # reset_armed: red
    (0, 60, 255),  # reset / pairing mode: blue
    (255, 100, 0),  # low_battery: amber
    (90, 40, 30),  # arrived: a soft warm glow
)

CUE_RESET_ARMED = const(6)
CUE_RESET = const(7)
CUE_LOW_BATTERY = const(8)

# The voltage a strength is felt at: the lowest cell voltage at which feedback plays at all
# (device/battery.py, CRITICAL_PERCENT: 3.5 V resting), so every strength can still be reached
# there and feels the same above it; a full cell plays 100 % at 3500/4200 = 83 % duty. It also
# keeps the motor's average voltage at or under 3.5 V, nearer a coin ERM's ~3 V rating.
MOTOR_NOMINAL_MV = const(3500)
# From switching the LED's supply on to its first data frame. An assumption to measure on the
# board: the load switch's rise time and the WS2812B's power-on reset are far shorter.
LED_POWER_SETTLE_MS = const(1)

# On a low battery (device/battery.py) every colour is divided by this: a WS2812B draws its
# current per channel in proportion to the value written, so a quarter of the value is about a
# quarter of the LED's charge, and still visible indoors.
LOW_DIM = const(4)


def colour_for(pattern, rgb):
    """The colour a command shows: its own, or the pattern's when it asks for black."""
    if rgb[0] == 0 and rgb[1] == 0 and rgb[2] == 0:
        return COLOURS[pattern]
    return rgb


def rhythm_ms(pattern):
    total = 0
    for step in RHYTHMS[pattern]:
        total += step[1]
    return total


def motor_duty(strength, cell_mv):
    """duty_u16 for a strength (0-100 %) on a cell at cell_mv: scaled by MOTOR_NOMINAL_MV/cell_mv,
    capped at full duty. An unknown voltage (None or not positive) plays the strength unscaled."""
    duty = _FULL * strength // 100
    if cell_mv is None or cell_mv <= 0:
        return duty
    return min(_FULL, duty * MOTOR_NOMINAL_MV // cell_mv)


class Haptics:
    """cell_mv: optional callable, the cell's latest voltage in mV (or None when unknown), read
    once per pattern with the motor off. led_power: optional Pin switching the LED's supply
    (1 = on); without it the LED is taken to be always powered."""

    def __init__(self, pwm, led, clock, cell_mv=None, led_power=None):
        self._pwm = pwm
        self._led = led
        self._clock = clock
        self._cell_mv = cell_mv
        self._led_power = led_power
        self._powered = led_power is None
        self._mv = None
        if led_power is not None:
            led_power.value(0)
        self.playing = False  # a deep sleep waits for the pattern to end (device/sleep.py)

    def _motor(self, strength):
        self._pwm.duty_u16(motor_duty(strength, self._mv))

    def _colour(self, rgb):
        self._led[0] = rgb
        self._led.write()

    async def _glow(self, rgb):
        if rgb[0] == 0 and rgb[1] == 0 and rgb[2] == 0:
            return  # nothing to show: the LED stays dark, and unpowered if it is gated
        if not self._powered:
            self._led_power.value(1)
            self._powered = True
            await self._clock.sleep_ms(LED_POWER_SETTLE_MS)
        self._colour(rgb)

    def off(self):
        self._motor(0)
        if self._led_power is None:
            self._colour((0, 0, 0))
        elif self._powered:
            # Dark first, then cut the supply. An unpowered WS2812 is never sent a frame: its
            # data pulses would feed it through the DIN pin's protection diode.
            self._colour((0, 0, 0))
            self._led_power.value(0)
            self._powered = False

    async def play(self, pattern, rgb, deciseconds, low=False):
        """Glow and play one rhythm; returns when the glow ends. Leaves motor and LED off.

        low (a low battery): the LED is dimmed by LOW_DIM and glows only while the rhythm
        plays, not for the asked duration. The rhythm itself is unchanged, so each pattern
        still feels like itself with eyes closed; the glow is where the charge goes."""
        rgb = colour_for(pattern, rgb)
        glow = deciseconds * 100 if deciseconds else timing.DEFAULT_GLOW_MS
        glow = min(max(glow, rhythm_ms(pattern)), timing.MAX_GLOW_MS)
        if low:
            rgb = (rgb[0] // LOW_DIM, rgb[1] // LOW_DIM, rgb[2] // LOW_DIM)
            glow = rhythm_ms(pattern)
        self._mv = self._cell_mv() if self._cell_mv is not None else None  # motor off: resting
        self.playing = True
        try:
            await self._glow(rgb)
            for strength, ms in RHYTHMS[pattern]:
                self._motor(strength)
                await self._clock.sleep_ms(ms)
            self._motor(0)
            await self._clock.sleep_ms(glow - rhythm_ms(pattern))
        finally:
            self.playing = False
            self.off()
