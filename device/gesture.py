# Gesture recognition over a sampled touch level: tap, double tap, long press.
#
# Fed one sample at a time (level, now_ms); pure state machine with no board access, so the
# unix port and CPython run it unchanged. Debounce first (a level counts once it held for
# DEBOUNCE_MS; a touch runs from its first contact to its final release, so chatter or a
# dropout at either end does not shorten it), then phantom rejection (touches shorter than MIN_TOUCH_MS
# are dropped; a pad held past STUCK_MS is ignored until released). A double tap's gap does
# not time out while a new touch is still being debounced.
# Gesture codes are the BTHome button event values so they go on the air unchanged.
try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


from device import timing

NONE = const(0)
TAP = const(0x01)
DOUBLE_TAP = const(0x02)
LONG_PRESS = const(0x04)
NAMES = {TAP: "tap", DOUBLE_TAP: "double_tap", LONG_PRESS: "long_press"}

_IDLE = const(0)
_DOWN = const(1)  # touched, not yet a long press
_GAP = const(2)  # one tap released, waiting to see if a second follows
_HELD = const(3)  # long press reported, waiting for release
_STUCK = const(4)  # held implausibly long, waiting for release


def _plain_diff(a, b):
    return a - b


class GestureRecognizer:
    def __init__(self, ticks_diff=_plain_diff):
        self._diff = ticks_diff
        self._raw = False
        self._raw_since = 0
        self._stable = False
        self._leading = False  # raw left the stable level and has not settled back yet
        self._lead_at = 0  # when it first left
        self._state = _IDLE
        self._down_at = 0
        self._up_at = 0
        self._taps = 0
        self._pending = NONE
        self._started = False
        self.phantoms = 0  # touches rejected as too short, for diagnostics and benchmarks

    def update(self, level, now):
        """Feed one sample; returns a gesture code or NONE."""
        if self._pending:
            code = self._pending
            self._pending = NONE
            return code
        level = bool(level)
        if not self._started:
            self._started = True
            self._raw_since = now
        if level != self._raw:
            self._raw = level
            self._raw_since = now
            if level != self._stable and not self._leading:
                self._leading = True
                self._lead_at = now
        elif (
            self._leading
            and level == self._stable
            and (self._diff(now, self._raw_since) >= timing.DEBOUNCE_MS)
        ):
            self._leading = False  # it settled back: that was a glitch, forget when it began
        if self._raw != self._stable and self._diff(now, self._raw_since) >= timing.DEBOUNCE_MS:
            self._stable = self._raw
            self._leading = False
            if self._stable:
                return self._on_down(self._lead_at)  # first contact, before any chatter
            return self._on_up(self._raw_since)  # final release, after any chatter
        return self._on_tick(now)

    def idle(self):
        """Nothing in progress: pad released and settled, no gesture pending or being timed."""
        return (
            self._state == _IDLE
            and not self._raw
            and not self._stable
            and not self._leading
            and self._pending == NONE
        )

    def held_ms(self, now):
        """How long the current (debounced) touch has lasted, or -1 if the pad is released."""
        if self._stable and self._state in (_DOWN, _HELD, _STUCK):
            return self._diff(now, self._down_at)
        return -1

    def _on_down(self, t):
        if self._state == _IDLE:
            self._taps = 0
        if self._state in (_IDLE, _GAP):
            self._state = _DOWN
            self._down_at = t
        return NONE

    def _on_up(self, t):
        state = self._state
        if state == _DOWN:
            if self._diff(t, self._down_at) < timing.MIN_TOUCH_MS:
                self.phantoms += 1
                # A blip does not count as a tap, nor end a pending double tap.
                self._state = _GAP if self._taps else _IDLE
                return NONE
            self._taps += 1
            if self._taps >= 2:
                self._state = _IDLE
                return DOUBLE_TAP
            self._state = _GAP
            self._up_at = t
            return NONE
        if state in (_HELD, _STUCK):
            self._state = _IDLE
        return NONE

    def _on_tick(self, now):
        state = self._state
        if state == _DOWN and self._diff(now, self._down_at) >= timing.LONG_PRESS_MS:
            self._state = _HELD
            if self._taps:  # a tap, then a long press: report both, in order
                self._pending = LONG_PRESS
                return TAP
            return LONG_PRESS
        if state == _GAP and not self._leading and self._diff(now, self._up_at) > timing.DOUBLE_GAP_MS:
            self._state = _IDLE
            return TAP
        if state == _HELD and self._diff(now, self._down_at) >= timing.STUCK_MS:
            self._state = _STUCK
        return NONE
