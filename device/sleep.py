# The wearable's power mode: deep sleep between short listen windows, on a stock MicroPython.
#
# Stock MicroPython keeps an ESP32-C3 in modem sleep (~20 mA) whenever the firmware runs: light
# sleep is switched off in ports/esp32/modmachine.c (mp_machine_set_freq sets
# light_sleep_enable = false) and machine.lightsleep() stops the BLE controller. What a released
# image can do is deep sleep (~44 uA on the XIAO board), waking on the touch pad's GPIO level
# (esp32.wake_on_gpio, MicroPython >= v1.27.0; the C3 has no EXT0/EXT1, so v1.23-v1.26 can wake
# a C3 from deep sleep only on the timer) or on the timer. A deep-sleep wake is a reboot:
# main.py runs again, the flash state (device/state.py) and RTC memory survive, RAM does not.
#
# One cycle (Wearable.run):
#   boot -> a session: the normal firmware (Button) runs, advertising the *listen advert* (the
#   idle advert plus the Heartline service data: version, listen period) connectably, so the
#   hub can deliver what it holds for this button -> when nothing is going on for the
#   session's length -> deep sleep for the listen period (timer) or until the pad is touched.
#   A timer wake opens a LISTEN_MS window; a touch wake opens an ACTIVE_MS session.
#   The session lasts while anything is going on: a gesture being timed, a burst, feedback
#   playing, a hub connected, pairing. The hub expects the next window one period after it
#   last heard this button listening (hub/ble/feedback.py, ListenWindows).
#
# The listen period is a setting the hub can change: an authenticated listen command
# (device/command.py OP_LISTEN) in a window. The command handler only records it in memory
# (and the rest of the window advertises it); sleep() writes it to the mode file ("wearable P")
# in task context, just before the deep sleep, and sleeps the new period. Every boot takes the
# period from that file, so every later listen advert carries it too.
#
# What the waking touch means. The first sample is taken BOOT_MS after the pad went high (ROM,
# bootloader, MicroPython start, main.py's first lines), so the start of the waking touch is
# not seen. The rest of the gesture is sampled at once, *before* the radio starts (the slow
# part of the boot), and fed to the same recognizer:
#   * pad still held at the first sample: the touch began BOOT_MS ago; it is timed from there
#     as the always-on firmware times any touch (released before LONG_PRESS_MS: a tap, held
#     on: a long press, a factory-reset hold as usual);
#   * pad already released: the waking touch was a tap, released just now; a second touch
#     within DOUBLE_GAP_MS makes it a double tap, exactly as when awake.
# So a tap, a double tap and a long press mean what the person pressed. The one case that
# cannot be told: a double tap whose second tap is already under the finger at the first
# sample (a gap shorter than BOOT_MS) is heard as one tap: a gentler meaning, never a
# stronger one. The TTP223 raises its output only for a touch it has detected (~60 ms response
# in fast mode), so a blip too short for it never wakes the board; a longer brush is a tap.
# Once awake, every further touch and feedback work as always.
#
# Kept touches (device/keep.py) count their age in the ticks the firmware ran; a timer wake
# adds the period it slept. A touch wake adds nothing (how long it slept is not known: the age
# is then a lower bound, short by less than one period).
try:
    from micropython import const
except ImportError:  # CPython without the simulator's shims

    def const(value):
        return value


from device import bthome, gatt, timing

PUCK = "puck"  # on USB power: always listening (the plain firmware)
WEARABLE = "wearable"  # on a battery: deep sleep between listen windows
MODES = (PUCK, WEARABLE)
MODE_FILE = "power"  # in the state directory: "wearable 60" (mode, listen period s)

# machine.wake_reason() is esp_sleep_get_wakeup_cause() (ports/esp32/modmachine.c,
# machine_wake_reason): ESP-IDF's esp_sleep_source_t. MicroPython names TIMER_WAKE (4) but not
# the GPIO cause the C3 reports after esp32.wake_on_gpio.
WAKE_TIMER = const(4)  # ESP_SLEEP_WAKEUP_TIMER == machine.TIMER_WAKE
WAKE_GPIO = const(7)  # ESP_SLEEP_WAKEUP_GPIO
DEEPSLEEP_RESET = const(4)  # machine.DEEPSLEEP_RESET (mp_machine_reset_cause)
TOUCH_WAKE_LEVEL = True  # esp32.WAKEUP_ANY_HIGH: the TTP223 output is high while touched

DEFAULT_PERIOD_S = const(60)
MIN_PERIOD_S = const(10)
MAX_PERIOD_S = const(3600)
# The boot after a deep-sleep wake, from the pad's rising edge to the first touch sample in
# main.py (the radio starts after the waking gesture is known). Assumption, to be measured on
# the board (hardware/power-budget.md).
BOOT_MS = const(150)
LISTEN_MS = const(2000)  # a timer wake's window: long enough for a hub to hear and connect
LISTEN_INTERVAL_US = const(100000)  # fast while listening: a hub hears it within ~0.1 s
ACTIVE_MS = const(6000)  # awake after a touch wake, for the rest of a gesture and a reply
LINGER_MS = const(1000)  # after a hub leaves or feedback ends: room for the next command
POLL_MS = const(50)  # how often the session checks whether it may end

# Listen advert: flags | short name "HL" | service data for the 128-bit Heartline service UUID.
AD_SERVICE_DATA_128 = const(0x21)
LISTEN_VERSION = const(1)

# RTC memory (machine.RTC().memory(), kept across deep sleep, lost on power-off):
# magic "HLs1" | period s u16le | windows u32le | touch wakes u32le
_RTC_MAGIC = b"HLs1"
_RTC_LEN = const(14)


def uuid_le(text):
    """A 128-bit UUID string as the 16 little-endian bytes the air carries."""
    raw = bytes.fromhex(text.replace("-", ""))
    return bytes(reversed(raw))


def listen_data(period_s):
    """The service data after the UUID: version u8 | listen period s u16le."""
    return bytes((LISTEN_VERSION, period_s & 0xFF, (period_s >> 8) & 0xFF))


def listen_advert(period_s):
    """The connectable advert of a sleepy button while it listens (hardware/ble-spec.md)."""
    body = uuid_le(gatt.SERVICE_UUID) + listen_data(period_s)
    return bthome.idle_advert() + bthome.ad_structure(AD_SERVICE_DATA_128, body)


def parse_listen(data):
    """Listen period in seconds from the service data, or None if it is not a listen record."""
    if len(data) < 3 or data[0] != LISTEN_VERSION:
        return None
    period = data[1] | (data[2] << 8)
    if period < MIN_PERIOD_S or period > MAX_PERIOD_S:
        return None
    return period


def read_mode(storage, default_mode, default_period=DEFAULT_PERIOD_S):
    """(mode, period s) from the mode file written at pairing, else the defaults from main.py."""
    blob = storage.read(MODE_FILE)
    if blob:
        try:
            parts = blob.decode().split()
            mode = parts[0]
            period = int(parts[1]) if len(parts) > 1 else default_period
            if mode in MODES and MIN_PERIOD_S <= period <= MAX_PERIOD_S:
                return mode, period
        except (ValueError, UnicodeError, IndexError):
            pass  # a damaged file: the build's own defaults
    return default_mode, default_period


def write_mode(storage, mode, period_s):
    if mode not in MODES or not MIN_PERIOD_S <= period_s <= MAX_PERIOD_S:
        raise ValueError("mode must be puck or wearable, period 10..3600 s")
    storage.write(MODE_FILE, ("%s %d" % (mode, period_s)).encode())


class Wearable:
    """Runs a Button for one session, then deep-sleeps the board; main() runs it again on wake.

    board  the machine module (deepsleep, wake_reason, reset_cause, RTC)
    esp32  the esp32 module (wake_on_gpio)
    touch  the touch pad's Pin (its level at boot, and the deep-sleep wake pin: GPIO0-5 on a C3)
    """

    def __init__(self, button, board, esp32, touch, clock, period_s=DEFAULT_PERIOD_S):
        self._button = button
        self._board = board
        self._esp32 = esp32
        self._touch = touch
        self._clock = clock
        self.period_s = period_s
        self._storage = button.storage
        self._new_period = None  # from a listen command; written to flash before the sleep
        button.on_listen_period = self._on_listen_period
        self.windows = 0
        self.touch_wakes = 0
        self.woke_by_touch = False

    def _on_listen_period(self, period_s):
        # The command handler's context: memory only. The rest of this window already advertises
        # the new period, so a hub that hears it expects the next window when it will come.
        self._new_period = period_s
        self._button.idle_data = listen_advert(period_s)

    def _load_rtc(self):
        mem = self._board.RTC().memory()
        if len(mem) == _RTC_LEN and mem[:4] == _RTC_MAGIC:
            self.windows = int.from_bytes(mem[6:10], "little")
            self.touch_wakes = int.from_bytes(mem[10:14], "little")

    def _save_rtc(self):
        mem = (
            _RTC_MAGIC
            + self.period_s.to_bytes(2, "little")
            + self.windows.to_bytes(4, "little")
            + self.touch_wakes.to_bytes(4, "little")
        )
        self._board.RTC().memory(mem)

    def _replay_waking_touch(self, now):
        # Feed the gesture recognizer what the boot hid: a touch that began BOOT_MS ago, and
        # (if the pad is already up) its release just now. Same recognizer, same rules.
        gestures = self._button.gestures
        ticks_add = self._clock.ticks_add
        began = ticks_add(now, -BOOT_MS)
        gestures.update(1, began)
        gestures.update(1, ticks_add(began, timing.DEBOUNCE_MS))
        if not self._touch.value():
            released = ticks_add(now, -timing.DEBOUNCE_MS)
            gestures.update(0, released)
            gestures.update(0, now)

    async def run(self):
        import asyncio

        board = self._board
        # The mode file is the period's home (a listen command may have changed it since the
        # value this runner was built with); main.py reads the same file for the mode.
        self.period_s = read_mode(self._storage, WEARABLE, self.period_s)[1]
        self._load_rtc()
        woke = board.reset_cause() == DEEPSLEEP_RESET
        self.woke_by_touch = woke and board.wake_reason() == WAKE_GPIO
        button = self._button
        button.idle_data = listen_advert(self.period_s)
        button.idle_interval_us = LISTEN_INTERVAL_US
        code = 0
        if self.woke_by_touch:
            self.touch_wakes += 1
            self._save_rtc()
            self._replay_waking_touch(self._clock.ticks_ms())
            code = await self._finish_waking_gesture()
            length = ACTIVE_MS
        else:
            self.windows += 1
            self._save_rtc()
            if woke:
                button.age_kept(self.period_s * 1000)  # a timer wake: it slept one period
            length = LISTEN_MS if woke else ACTIVE_MS  # power-on: a while to pair or be found
        task = asyncio.create_task(button.run())
        try:
            await self._clock.sleep_ms(0)  # let the button boot (radio, state)
            if code:
                button.announce(code)
            await self._session(length)
        finally:
            task.cancel()

    async def _finish_waking_gesture(self):
        # Sample the pad until the recognizer has a gesture or nothing is in progress; the
        # touch loop takes over from the same recognizer state afterwards.
        gestures = self._button.gestures
        clock = self._clock
        while True:
            code = gestures.update(self._touch.value(), clock.ticks_ms())
            if code or gestures.idle():
                return code
            await clock.sleep_ms(timing.SAMPLE_MS)

    async def _session(self, length):
        clock = self._clock
        until = clock.ticks_add(clock.ticks_ms(), length)
        while True:
            now = clock.ticks_ms()
            if self._button.busy():
                until = max_deadline(clock, until, clock.ticks_add(now, LINGER_MS))
            elif clock.ticks_diff(now, until) >= 0:
                break
            await clock.sleep_ms(POLL_MS)
        self.sleep()

    def sleep(self):
        """Radio off, wake on the pad or after one listen period; never returns on a board."""
        self._button.power_down()
        self._apply_new_period()
        self._esp32.wake_on_gpio((self._touch,), TOUCH_WAKE_LEVEL)
        self._board.deepsleep(self.period_s * 1000)

    def _apply_new_period(self):
        period, self._new_period = self._new_period, None
        if period is None or period == self.period_s:
            return
        try:
            write_mode(self._storage, WEARABLE, period)  # durable before the sleep that uses it
        except OSError:
            return  # flash refused: keep the old period; the next listen advert says which
        self.period_s = period
        self._save_rtc()


def max_deadline(clock, a, b):
    return b if clock.ticks_diff(b, a) > 0 else a
