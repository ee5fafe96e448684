# Haptic rhythms and LED colours for the feedback patterns.
#
# The motor is a coin ERM on a PWM pin (duty_u16); the LED is one WS2812 driven through the
# neopixel interface (led[0] = (r, g, b); led.write()). Each rhythm is a flat tuple of
# (strength %, milliseconds) steps; strength 0 is a pause. Distinct on purpose: a partner should
# tell "thinking of you" from "I need you" with eyes closed.
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
    # 1-5). 6 reset_armed: one short tick, "let go now to reset".
    ((100, 60),),
    # 7 reset: two falling pulses, "forgotten; pairing mode is open".
    ((100, 200), (0, 150), (50, 300)),
    # 8 low_battery: no motor, one 200 ms amber blink after a touch, "charge me".
    ((0, 200),),
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
)

CUE_RESET_ARMED = const(6)
CUE_RESET = const(7)
CUE_LOW_BATTERY = const(8)

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


class Haptics:
    def __init__(self, pwm, led, clock):
        self._pwm = pwm
        self._led = led
        self._clock = clock
        self.playing = False  # a deep sleep waits for the pattern to end (device/sleep.py)

    def _motor(self, strength):
        self._pwm.duty_u16(_FULL * strength // 100)

    def _colour(self, rgb):
        self._led[0] = rgb
        self._led.write()

    def off(self):
        self._motor(0)
        self._colour((0, 0, 0))

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
        self._colour(rgb)
        self.playing = True
        try:
            for strength, ms in RHYTHMS[pattern]:
                self._motor(strength)
                await self._clock.sleep_ms(ms)
            self._motor(0)
            await self._clock.sleep_ms(glow - rhythm_ms(pattern))
        finally:
            self.playing = False
            self.off()
