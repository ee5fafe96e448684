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
# Radio events the BLE irq has copied and not yet handled (device/button.py). The irq runs on
# the BLE stack's own task; it only queues. A hub writes one command per connection, so a
# connect, a write, a disconnect and room for a provisioning write is plenty; more are dropped
# and counted (the hub sees no outcome for its counter and tries again).
MAX_RADIO_EVENTS = const(6)

# Watchdog (device/watchdog.py): machine.WDT resets the board if the event loop stops feeding
# it for WDT_TIMEOUT_MS. Fed every WDT_FEED_MS by a task, so a loop stuck in a task that never
# yields resets the board (a dead main task resets it at once, through the supervisor). The
# slowest honest step is the pairing key pair (~1-2 s of curve arithmetic on a C3), far inside
# the timeout; a feed every 10 s costs a puck one CPU wake more per 10 s.
WDT_TIMEOUT_MS = const(30000)
WDT_FEED_MS = const(10000)

# Factory reset: hold the pad at least this long, then let go. The button ticks and glows red
# when the hold reaches it ("let go now to reset"). It fires on release, not while held, so a
# pad stuck under water or pressed in a pocket (held past FACTORY_RESET_MAX_MS) never wipes the
# key. 10 s matches STUCK_MS: no gesture is reported past it anyway.
FACTORY_RESET_MS = const(10000)
FACTORY_RESET_MAX_MS = const(20000)
# Pairing mode (after a factory reset, or at boot with no key) lasts this long: long enough to
# walk to the hub and run `heartline button pair`, short enough that an unkeyed button is not
# left open to anyone nearby.
PAIRING_WINDOW_MS = const(180000)
# Pairing advert interval: fast, so the hub finds the button within a second; only for the window.
PAIRING_INTERVAL_US = const(200000)
# How often the pairing task checks for work and the window's end while pairing mode is open.
PAIRING_POLL_MS = const(100)
