# Every timing the firmware uses, in one place (milliseconds unless the name says _US).
# Values are tuned for a capacitive pad behind 1-2 mm of plastic read through a TTP223-style
# touch IC (see hardware/ble-spec.md); the gesture benchmark is where they get re-tuned.
try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


# Touch sampling period. 10 ms resolves a 40 ms touch in four samples and costs little CPU.
SAMPLE_MS = const(10)
# A raw level must hold this long before it counts: absorbs contact bounce and mains hum.
DEBOUNCE_MS = const(20)
# Touches shorter than this are phantoms (static discharge, a sleeve brushing the pad).
# Sampling stretches a pulse by up to SAMPLE_MS, so this sits above the longest phantom the
# gesture benchmark models (35 ms) plus one sample, and below the shortest deliberate touch
# a TTP223 reports (its fast-mode response alone is ~60 ms). Re-tune with
# `python -m benchmarks.gesture_accuracy`.
MIN_TOUCH_MS = const(50)
# Held this long is a long press; it fires while still held so the user feels it at once.
LONG_PRESS_MS = const(700)
# After a tap, a second touch starting within this gap makes a double tap.
DOUBLE_GAP_MS = const(300)
# Held longer than this is not a person (water on the pad, pressed in a pocket): ignore it
# until the pad is released.
STUCK_MS = const(10000)

# A new event is advertised fast for a short burst so a lossy radio still gets it through:
# 1.5 s at 40 ms is ~37 advertising events.
BURST_MS = const(1500)
BURST_INTERVAL_US = const(40000)
# Between events the button advertises slowly and connectably so the hub can write feedback.
IDLE_INTERVAL_US = const(1000000)

# Feedback LED glow when the command asks for duration 0.
DEFAULT_GLOW_MS = const(3000)
# Longest glow the firmware honours (255 ds = 25.5 s is the wire maximum anyway).
MAX_GLOW_MS = const(25500)
# Commands waiting to be played; more are dropped (the hub re-sends on no confirmation).
MAX_PENDING_FEEDBACK = const(4)
