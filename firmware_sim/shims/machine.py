"""Host shim of MicroPython's ``machine``: Pin, PWM and ADC that a simulator can drive/inspect."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Final

DUTY_MAX: Final = 65535


class Pin:
    IN: Final = 1
    OUT: Final = 3
    PULL_UP: Final = 1
    PULL_DOWN: Final = 2
    IRQ_FALLING: Final = 1
    IRQ_RISING: Final = 2

    def __init__(self, ident: int | str, mode: int = -1, pull: int = -1, *, value: int = 0) -> None:
        self.ident = ident
        self.mode = mode
        self.pull = pull
        self._value = value
        self._handler: Callable[[Pin], object] | None = None
        self._trigger = 0

    def value(self, new: int | None = None) -> int:
        """Read the level, or (as an output, or the simulator driving an input) set it.
        Setting it fires the irq handler on a matching edge, as the board's GPIO would."""
        if new is not None:
            old, self._value = self._value, 1 if new else 0
            if self._handler is not None and self._value != old:
                edge = self.IRQ_RISING if self._value else self.IRQ_FALLING
                if self._trigger & edge:
                    self._handler(self)
        return self._value

    def irq(
        self, handler: Callable[[Pin], object] | None = None, trigger: int = IRQ_FALLING | IRQ_RISING
    ) -> None:
        self._handler = handler
        self._trigger = trigger

    def __call__(self, new: int | None = None) -> int:
        return self.value(new)

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)


class PWM:
    def __init__(
        self,
        pin: Pin,
        *,
        freq: int = 1000,
        duty_u16: int = 0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16
        self._now = now
        self.trace: list[tuple[float, int]] = []  # (time, duty) on every change

    def freq(self, value: int | None = None) -> int:
        if value is not None:
            self._freq = value
        return self._freq

    def duty_u16(self, value: int | None = None) -> int:
        if value is not None:
            if not 0 <= value <= DUTY_MAX:
                raise ValueError("duty_u16 must be 0..65535")
            if value != self._duty or not self.trace:
                self.trace.append((self._now(), value))
            self._duty = value
        return self._duty

    def deinit(self) -> None:
        self.duty_u16(0)


class ADC:
    """The battery ADC: what the pin sees, read as an ESP32-C3's ADC1 reads it.

    Each conversion is noisy (gaussian, ``noise_uv`` sigma: Espressif quotes tens of mV of
    spread between single conversions on the C3's ADC even after calibration), now and then
    spikes by ``SPIKE_UV`` (a conversion caught by a switching edge), and sags by ``sag_uv``
    while ``load()`` is true: the radio's transmit bursts draw ~20-30 mA more from a cell with
    a few hundred milliohms of internal resistance and a protection FET in series. All of it
    from a seeded generator: the same seed, the same readings. ``noise_uv=0`` and no load is
    the exact pin voltage."""

    ATTN_0DB: Final = 0
    ATTN_11DB: Final = 3
    NOISE_UV: Final = 10_000  # at the pin: 20 mV at the cell through the 1:2 divider
    SAG_UV: Final = 40_000  # at the pin while the radio transmits: 80 mV at the cell
    SPIKE_UV: Final = 100_000
    SPIKE_EVERY: Final = 32  # about one conversion in this many

    def __init__(
        self,
        pin: Pin | int,
        *,
        microvolts: int = 2_000_000,
        noise_uv: int = 0,
        sag_uv: int = 0,
        load: Callable[[], bool] | None = None,
        seed: int = 0,
    ) -> None:
        self.pin = pin
        # At the ADC pin, i.e. after the 1:2 divider: 2.0 V here is a 4.0 V cell.
        self.microvolts = microvolts
        self.noise_uv = noise_uv
        self.sag_uv = sag_uv
        self.load = load
        self._random = random.Random(seed)
        self.conversions = 0

    def atten(self, value: int) -> None:
        del value

    def read_uv(self) -> int:
        self.conversions += 1
        uv = self.microvolts
        if self.load is not None and self.load():
            uv -= self.sag_uv
        if self.noise_uv:
            uv += int(self._random.gauss(0.0, self.noise_uv))
            if self._random.randrange(self.SPIKE_EVERY) == 0:
                uv += self._random.choice((-self.SPIKE_UV, self.SPIKE_UV))
        return max(uv, 0)

    def read_u16(self) -> int:
        # Full scale ~3.1 V at 11 dB attenuation on the ESP32-C3.
        return min(DUTY_MAX, self.read_uv() * DUTY_MAX // 3_100_000)


# --- watchdog and reset (device/watchdog.py) --------------------------------------------------


class BoardResetError(BaseException):
    """machine.reset() or the watchdog: the board reboots. A BaseException, as deep sleep is,
    so the firmware's own ``except Exception`` cannot swallow a reset; the host reboots it."""

    def __init__(self, cause: int, why: str) -> None:
        super().__init__(why)
        self.cause = cause


class WDT:
    """machine.WDT(timeout=ms): once started it cannot be stopped; feed() it or the board
    resets (ports/esp32/machine_wdt.c: the ESP-IDF task watchdog, panic on expiry). The host
    checks ``expired()`` on its own clock and reboots the board."""

    def __init__(
        self,
        id: int = 0,  # noqa: A002 - the board's keyword
        timeout: int = 5000,
        *,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        del id
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        self.timeout_ms = timeout
        self._now = now
        self.fed_at = now()
        self.feeds = 0

    def feed(self) -> None:
        self.fed_at = self._now()
        self.feeds += 1

    def overdue_s(self, speed: float = 1.0) -> float:
        """Seconds of host time past the timeout (negative: time left)."""
        return self._now() - self.fed_at - self.timeout_ms / 1000 / speed


Watchdog = WDT  # the class, for annotations inside SleepBoard (whose method is named WDT)

# --- deep sleep (device/sleep.py) -------------------------------------------------------------
# What ports/esp32/modmachine.c answers, as numbers: mp_machine_reset_cause's reset_reason_t and
# machine_wake_reason's esp_sleep_get_wakeup_cause() (ESP-IDF esp_sleep_source_t).
PWRON_RESET: Final = 1
HARD_RESET: Final = 2
WDT_RESET: Final = 3
DEEPSLEEP_RESET: Final = 4
SOFT_RESET: Final = 5
WAKE_UNDEFINED: Final = 0
EXT0_WAKE: Final = 2
PIN_WAKE: Final = EXT0_WAKE
EXT1_WAKE: Final = 3
TIMER_WAKE: Final = 4
TOUCHPAD_WAKE: Final = 5
ULP_WAKE: Final = 6
GPIO_WAKE: Final = 7  # ESP_SLEEP_WAKEUP_GPIO: not named by MicroPython, returned on a C3
RTC_USER_MEM_MAX: Final = 2048  # MICROPY_HW_RTC_USER_MEM_MAX (ports/esp32/machine_rtc.c)
# esp_deep_sleep_enable_gpio_wakeup on an ESP32-C3 takes GPIO0-5 only (the VDD3P3_RTC domain).
C3_DEEP_SLEEP_WAKE_PINS: Final = frozenset(range(6))


class DeepSleepEnteredError(BaseException):
    """machine.deepsleep() never returns on a board: the run ends here, the host reboots it.
    A BaseException, so the firmware's own ``except Exception`` cannot swallow the reset."""

    def __init__(self, sleep_ms: int | None, wake_pins: frozenset[int], wake_level: bool) -> None:
        super().__init__(f"deep sleep for {sleep_ms} ms")
        self.sleep_ms = sleep_ms
        self.wake_pins = wake_pins
        self.wake_level = wake_level


class _RtcMemory:
    """machine.RTC(): only memory(), which survives deep sleep (not a power-off)."""

    def __init__(self, board: SleepBoard) -> None:
        self._board = board

    def memory(self, data: bytes | None = None) -> bytes | None:
        if data is None:
            return self._board.rtc_memory
        if len(data) > RTC_USER_MEM_MAX:
            raise ValueError("buffer too long")
        self._board.rtc_memory = bytes(data)
        return None


class SleepBoard:
    """One board's sleep and reset state, injected where the firmware takes the ``machine``
    module: ``deepsleep``, ``wake_reason``, ``reset_cause``, ``RTC``. The host sets what the
    next boot reports (``booted``) and keeps RTC memory across deep sleeps."""

    DEEPSLEEP_RESET: Final = DEEPSLEEP_RESET
    PWRON_RESET: Final = PWRON_RESET
    TIMER_WAKE: Final = TIMER_WAKE

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self.rtc_memory = b""
        self._now = now
        self.watchdog: Watchdog | None = None  # started by the firmware; gone at the next boot
        self.resets = 0
        self.wake_pins: frozenset[int] = frozenset()
        self.wake_level = True
        self._reset = PWRON_RESET
        self._wake = WAKE_UNDEFINED

    def booted(self, reset_cause: int, wake_reason: int = WAKE_UNDEFINED) -> None:
        self._reset = reset_cause
        self._wake = wake_reason

    def power_off(self) -> None:
        """RTC memory is kept across deep sleep, not across losing power."""
        self.rtc_memory = b""
        self.booted(PWRON_RESET)

    def reset_cause(self) -> int:
        return self._reset

    def wake_reason(self) -> int:
        return self._wake

    def RTC(self) -> _RtcMemory:  # noqa: N802 - the board's name
        return _RtcMemory(self)

    def set_wake_on_gpio(self, pins: tuple[Pin | int, ...], level: bool) -> None:
        self.wake_pins = frozenset(int(p.ident) if isinstance(p, Pin) else int(p) for p in pins)
        self.wake_level = bool(level)

    def deepsleep(self, ms: int | None = None) -> None:
        if not self.wake_pins <= C3_DEEP_SLEEP_WAKE_PINS:
            raise ValueError("wake-up pin not supported")  # machine_sleep_helper, as on a C3
        wake_pins, self.wake_pins = self.wake_pins, frozenset()  # the next boot sets them again
        raise DeepSleepEnteredError(ms, wake_pins, self.wake_level)

    def WDT(self, id: int = 0, timeout: int = 5000) -> Watchdog:  # noqa: N802, A002 - the board's names
        self.watchdog = Watchdog(id, timeout, now=self._now)
        return self.watchdog

    def reset(self) -> None:
        """machine.reset(): never returns; the host reboots the board (cause HARD_RESET)."""
        self.resets += 1
        raise BoardResetError(HARD_RESET, "machine.reset()")

    def lightsleep(self, ms: int | None = None) -> None:
        del ms
        raise OSError("machine.lightsleep() stops the BLE controller; device/sleep.py uses deepsleep")


_DEFAULT_BOARD: Final = SleepBoard()  # for a firmware that imports machine itself (one board)


def deepsleep(ms: int | None = None) -> None:
    _DEFAULT_BOARD.deepsleep(ms)


def reset_cause() -> int:
    return _DEFAULT_BOARD.reset_cause()


def reset() -> None:
    _DEFAULT_BOARD.reset()


def wake_reason() -> int:
    return _DEFAULT_BOARD.wake_reason()


def RTC() -> _RtcMemory:  # noqa: N802 - the board's name
    return _DEFAULT_BOARD.RTC()
