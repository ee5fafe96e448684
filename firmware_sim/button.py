"""A simulated Heartline button: the unmodified ``device/`` firmware on CPython, on the air.

Each :class:`SimButton` builds its own set of shimmed hardware (touch pin, motor PWM, LED,
battery ADC, radio, clock, flash directory) and runs ``device.button.Button.run()`` as a task
on the caller's event loop, so two buttons and a hub can share one loop. The radio is a TCP
connection to an air server speaking :mod:`firmware_sim.air.protocol` (role peripheral).

Under the host the firmware's touch loop samples the shimmed pin every ``SAMPLE_MS`` with
``await clock.sleep_ms``; :meth:`SimButton.press` drives that pin with a realistic touch trace
(contact bounce included) and returns when the firmware reports the gesture it recognised.

``key=None`` is a button fresh from the factory: no key, in pairing mode from power-on, waiting
for a hub to pair it (``hub.ble.pairing``). :meth:`SimButton.hold` drives the long hold that
factory-resets a button.

The board is as strict as an ESP32-C3 (``firmware_sim/shims``): the BLE irq runs on its own
thread and is dropped for good if it raises, flash writes take time and are refused from the
irq, the battery ADC is noisy and sags while the radio transmits, ticks start just before
they wrap, oversize writes are cut to the characteristic's buffer, and adverts connect only if
they are connectable. The firmware runs under its watchdog (``device/watchdog.py``): a task that
raises or a loop that stops feeding ``machine.WDT`` reboots the board, as it would a real one
(``board_resets`` counts them); flash survives, RAM does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Final, Literal, Self

from firmware_sim.air import protocol
from firmware_sim.shims import install as install_shims

install_shims()

from device import command, gesture, pairing, sleep, timing  # noqa: E402 - firmware imports need the shims first
from device.button import Button  # noqa: E402
from firmware_sim.shims import bluetooth, cryptolib, esp32, machine, neopixel  # noqa: E402
from firmware_sim.shims.clock import LoopClock  # noqa: E402
from firmware_sim.shims.flash import BoardFlash  # noqa: E402

_watchdog: ModuleType | None
try:
    _watchdog = importlib.import_module("device.watchdog")
except ImportError:  # a firmware from before its watchdog: it runs unsupervised
    _watchdog = None

_LOGGER = logging.getLogger(__name__)

Gesture = Literal["tap", "double_tap", "long_press"]
PowerMode = Literal["puck", "wearable"]
Rgb = tuple[int, int, int]

CONNECT_TIMEOUT_S: Final = 5.0  # the air is a local process; longer means it is not running
# A gesture is recognised at most DOUBLE_GAP_MS (300 ms) after the trace ends; 3 s of
# firmware time leaves room for a loaded CI machine. A faster clock does not shorten the wait
# below 3 real seconds: a busy machine delays the answer in real time, whatever the speed.
RECOGNISE_TIMEOUT_S: Final = 3.0
# What wait_for_output() and wait_for_pairing() allow by default: the outcome takes
# milliseconds, the bound is for a machine busy with other work.
WAIT_S: Final = 30.0
KEY_LEN: Final = 16
# A board's boot after a reset (ROM, bootloader, MicroPython, main.py), in firmware time.
RESET_BOOT_MS: Final = 300

# Touch traces in firmware milliseconds: (level, duration) steps. Each touch starts with
# contact bounce shorter than the firmware's 20 ms debounce.
_BOUNCE: Final = ((1, 3), (0, 2), (1, 2), (0, 2))
TRACES: Final[dict[str, tuple[tuple[int, int], ...]]] = {
    "tap": (*_BOUNCE, (1, 110), (0, 1)),
    "double_tap": (*_BOUNCE, (1, 100), (0, 140), *_BOUNCE, (1, 100), (0, 1)),
    "long_press": (*_BOUNCE, (1, 1000), (0, 1)),
}


class SimButtonError(RuntimeError):
    """The simulated button could not do what was asked; the message says why."""


class GestureMismatchError(SimButtonError):
    """The firmware recognised a different gesture from the one the trace was meant to be."""

    def __init__(self, wanted: str, got: str) -> None:
        super().__init__(f"pressed {wanted!r} but the firmware recognised {got!r}")
        self.wanted = wanted
        self.got = got


@dataclass(slots=True, frozen=True)
class Feedback:
    """One feedback command the firmware played: pattern, LED colour, when (monotonic s)."""

    pattern: str
    rgb: Rgb
    deciseconds: int
    at: float


@dataclass(slots=True)
class PowerLog:
    """What a wearable's board did between deep sleeps (loop seconds), for the energy model."""

    awake: list[tuple[float, float]] = field(default_factory=list)  # boot to deep sleep
    touch_wakes: int = 0
    timer_wakes: int = 0
    awake_since: float | None = None
    asleep: bool = False
    slept: asyncio.Event = field(default_factory=asyncio.Event)  # set at every deep sleep

    def woke(self, at: float) -> None:
        self.awake_since = at
        self.asleep = False

    def fell_asleep(self, at: float) -> None:
        if self.awake_since is not None:
            self.awake.append((self.awake_since, at))
        self.awake_since = None
        self.asleep = True
        self.slept.set()

    def close(self, at: float) -> None:
        if self.awake_since is not None:
            self.awake.append((self.awake_since, at))
            self.awake_since = at

    @property
    def awake_s(self) -> float:
        return sum(end - start for start, end in self.awake)

    @property
    def boots(self) -> int:
        return len(self.awake)


class _AirLink:
    """The radio's output as air protocol lines on one TCP connection."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def send(self, message: dict[str, Any]) -> None:
        if not self._writer.is_closing():
            self._writer.write(protocol.encode(message))


class SimButton:
    def __init__(
        self,
        *,
        air: tuple[str, int],
        address: str,
        key: bytes | None,
        x: float = 0.0,
        y: float = 0.0,
        state_dir: Path,
        tx_power: int = -4,
        speed: float = 1.0,
        battery_mv: int = 4000,
        slow_repeat_s: float = 0.0,
        power_mode: PowerMode = "puck",
        listen_period_s: int = sleep.DEFAULT_PERIOD_S,
    ) -> None:
        if key is not None and len(key) != KEY_LEN:
            raise ValueError("a button key is 16 bytes (or None for an unprovisioned button)")
        command.mac_bytes(address)  # raises ValueError on a malformed address
        self._air = air
        self._address = address.upper()
        self._key = bytes(key) if key is not None else None
        self._x, self._y = x, y
        self._state_dir = state_dir
        self._tx_power = tx_power
        self._speed = speed
        self._battery_mv = battery_mv
        self._slow_repeat_s = slow_repeat_s
        self._outputs: list[Feedback] = []
        self._output_added = asyncio.Event()
        self._gesture_waiters: list[asyncio.Future[str]] = []
        self.adverts: list[bytes] = []  # every new event advert the firmware built
        self.gestures: list[str] = []  # every gesture the firmware recognised
        self.cues: list[int] = []  # local haptic cues the firmware played (device.haptic.CUE_*)
        self.pairing_log: list[str] = []  # provisioning status names, in order (device.pairing)
        self.resets = 0  # factory resets the firmware performed
        self._pairing_changed = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._ble: bluetooth.BLE | None = None
        self._firmware: Button | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._clock: LoopClock | None = None
        self.radio_activity = bluetooth.RadioActivity()  # replaced by the radio's at start()
        self.touch = machine.Pin(1, machine.Pin.IN)
        self.motor = machine.PWM(machine.Pin(2), now=_loop_time)
        self.led = neopixel.NeoPixel(machine.Pin(3), 1, now=_loop_time)
        self.battery = machine.ADC(
            machine.Pin(4),
            microvolts=battery_mv * 1000 // 2,
            noise_uv=machine.ADC.NOISE_UV,
            sag_uv=machine.ADC.SAG_UV,
            load=self._radio_busy,
            seed=zlib.crc32(address.upper().encode()),
        )
        if power_mode not in sleep.MODES:
            raise ValueError(f"power_mode must be one of {sleep.MODES}")
        self.power_mode: PowerMode = power_mode
        self.listen_period_s = listen_period_s
        # Deep sleep, wake reason, RTC memory (wearable); the watchdog and reset (every button).
        self.board = machine.SleepBoard(now=_loop_time)
        self.board_resets = 0  # board resets: a firmware task raised, or the watchdog bit
        self.watchdog_resets = 0
        self.flash: BoardFlash | None = None
        self.esp32 = esp32.Esp32(self.board)
        self.power = PowerLog()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Join the air and boot the firmware."""
        if self._firmware is not None:
            raise SimButtonError(f"{self._address} is already started")
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reader, writer = await asyncio.open_connection(*self._air, limit=protocol.MAX_LINE + 1)
                writer.write(
                    protocol.encode(
                        {
                            "op": "hello",
                            "role": "peripheral",
                            "addr": self._address,
                            "x": self._x,
                            "y": self._y,
                            "tx_power": self._tx_power,
                        }
                    )
                )
                welcome = protocol.decode(await reader.readline())
        except (OSError, TimeoutError, ValueError) as ex:
            raise SimButtonError(
                f"{self._address} could not join the air at {self._air[0]}:{self._air[1]}; "
                "is the air server running?"
            ) from ex
        if welcome["op"] != "welcome":
            writer.close()
            raise SimButtonError(f"air refused {self._address}: {welcome}")
        self._writer = writer
        self._clock = LoopClock(self._speed)
        self._ble = bluetooth.BLE(
            _AirLink(writer), self._address, speed=self._speed, slow_repeat_s=self._slow_repeat_s
        )
        self.radio_activity = self._ble.activity
        self._state_dir.mkdir(parents=True, exist_ok=True)
        self.flash = BoardFlash(str(self._state_dir), speed=self._speed, stall=_stall)
        firmware = self._new_firmware()
        if self._key is None:
            pass  # unprovisioned (or keep whatever key pairing gave it): the firmware decides
        elif firmware.state.key is None:
            firmware.provision(self._key)  # factory provisioning
        elif firmware.state.key != self._key:
            writer.close()
            raise SimButtonError(
                f"{self._state_dir} holds a different key for {self._address}; "
                "use a fresh state_dir or the original key"
            )
        self._firmware = firmware
        run = self._run_firmware(firmware) if self.power_mode == "puck" else self._run_wearable(firmware)
        self._tasks = [
            asyncio.create_task(run, name=f"firmware {self._address}"),
            asyncio.create_task(self._read_air(reader), name=f"air rx {self._address}"),
        ]
        _LOGGER.debug("%s: booted, state in %s", self._address, self._state_dir)

    async def stop(self) -> None:
        """Power off: stop the firmware and leave the air. Persisted state stays."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._ble is not None:
            await self._ble.aclose()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._writer = None
        self._firmware = None
        for waiter in self._gesture_waiters:
            waiter.cancel()
        self._gesture_waiters.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what a person does -----------------------------------------------------------------

    async def press(self, gesture_name: Gesture) -> None:
        """Touch the pad with a realistic trace; return once the firmware recognised it."""
        trace = TRACES.get(gesture_name)
        if trace is None:
            raise ValueError(f"unknown gesture {gesture_name!r}")
        clock = self._require_clock()
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._gesture_waiters.append(waiter)
        try:
            for level, ms in trace:
                self.touch.value(level)
                await asyncio.sleep(ms / 1000 / clock.speed)  # the person's time, not a wake
            async with asyncio.timeout(RECOGNISE_TIMEOUT_S / min(self._speed, 1.0)):
                got = await waiter
        except TimeoutError as ex:
            raise SimButtonError(
                f"{self._address}: the firmware recognised no gesture for a {gesture_name}"
            ) from ex
        finally:
            self.touch.value(0)
            if waiter in self._gesture_waiters:
                self._gesture_waiters.remove(waiter)
        if got != gesture_name:
            raise GestureMismatchError(gesture_name, got)

    async def hold(self, seconds: float) -> None:
        """Hold the pad for ``seconds`` of firmware time, then let go (factory reset: >= 10 s).
        Returns once the firmware has sampled the release."""
        clock = self._require_clock()
        await self.play_trace((*_BOUNCE, (1, int(seconds * 1000))))
        # The touch loop samples every SAMPLE_MS; give it a few samples to see the release.
        await asyncio.sleep(5 * timing.SAMPLE_MS / 1000 / clock.speed)

    async def wait_for_pairing(self, status: str, within_s: float = WAIT_S) -> None:
        """Wait until the firmware's provisioning status is ``status`` (a device.pairing name)."""
        if status not in pairing.STATUS_NAMES:
            raise ValueError(f"unknown pairing status {status!r}")
        try:
            async with asyncio.timeout(within_s):
                while self.pairing_status != status:
                    self._pairing_changed.clear()
                    await self._pairing_changed.wait()
        except TimeoutError as ex:
            raise SimButtonError(
                f"{self._address} stayed {self.pairing_status!r}, not {status!r}, for {within_s} s"
            ) from ex

    @property
    def pairing_status(self) -> str:
        """The firmware's provisioning status: closed, preparing, open, deriving or paired."""
        if self._firmware is None:
            raise SimButtonError(f"{self._address} is not running")
        return pairing.STATUS_NAMES[self._firmware.pairing_status]

    @property
    def key(self) -> bytes | None:
        """The key the firmware holds now (tests compare it with the hub's; never log it)."""
        if self._firmware is None:
            raise SimButtonError(f"{self._address} is not running")
        return self._firmware.state.key

    async def play_trace(self, steps: tuple[tuple[int, int], ...]) -> None:
        """Drive the touch pad with ``(level, ms)`` steps in firmware time; ends released.
        Unlike press(), this does not wait for (or check) what the firmware recognised."""
        clock = self._require_clock()
        try:
            for level, ms in steps:
                self.touch.value(level)
                await asyncio.sleep(ms / 1000 / clock.speed)  # the person's time, not a wake
        finally:
            self.touch.value(0)

    @property
    def cpu_wakes(self) -> int:
        """How often the firmware's clock slept and woke (touch samples, rhythm steps)."""
        return self._clock.wakes if self._clock is not None else 0

    async def move(self, x: float, y: float) -> None:
        self._x, self._y = x, y
        if self._writer is not None:
            self._writer.write(protocol.encode({"op": "move", "x": x, "y": y}))
            await self._writer.drain()

    def set_battery(self, millivolts: int) -> None:
        """Cell voltage the battery ADC sees (through the board's 1:2 divider)."""
        self.battery.microvolts = millivolts * 1000 // 2

    # --- what can be observed ---------------------------------------------------------------

    async def wait_for_output(self, count: int = 1, within_s: float = WAIT_S) -> Feedback:
        """Wait until at least ``count`` feedbacks have played; returns the ``count``-th."""
        try:
            async with asyncio.timeout(within_s):
                while len(self._outputs) < count:
                    self._output_added.clear()
                    await self._output_added.wait()
        except TimeoutError as ex:
            raise SimButtonError(
                f"{self._address} played {len(self._outputs)} feedbacks, not {count}, within {within_s} s"
            ) from ex
        return self._outputs[count - 1]

    async def wait_for_pattern(self, pattern: str, within_s: float = WAIT_S) -> Feedback:
        """Wait until the button has played ``pattern`` (at any time since it started)."""
        try:
            async with asyncio.timeout(within_s):
                while True:
                    for played in self._outputs:
                        if played.pattern == pattern:
                            return played
                    self._output_added.clear()
                    await self._output_added.wait()
        except TimeoutError as ex:
            played_names = ", ".join(f.pattern for f in self._outputs) or "nothing"
            raise SimButtonError(
                f"{self._address} did not play {pattern!r} within {within_s:g} s (it played: {played_names})"
            ) from ex

    @property
    def address(self) -> str:
        return self._address

    @property
    def outputs(self) -> list[Feedback]:
        return list(self._outputs)

    @property
    def rejections(self) -> dict[str, int]:
        if self._firmware is None:
            raise SimButtonError(f"{self._address} is not running")
        return dict(self._firmware.state.rejected)

    @property
    def last_command_counter(self) -> int:
        if self._firmware is None:
            raise SimButtonError(f"{self._address} is not running")
        return self._firmware.state.cmd_counter

    @property
    def motor_trace(self) -> list[tuple[float, int]]:
        """Every motor duty change as (monotonic s, duty_u16)."""
        return list(self.motor.trace)

    @property
    def led_trace(self) -> list[tuple[float, Rgb]]:
        """Every LED write as (monotonic s, rgb)."""
        return list(self.led.shown)

    # --- internals --------------------------------------------------------------------------

    def _require_clock(self) -> LoopClock:
        if self._clock is None:
            raise SimButtonError(f"{self._address} is not started")
        return self._clock

    def _on_firmware_event(self, kind: str, value: Any) -> None:
        if kind == "gesture":
            name = gesture.NAMES.get(int(value), "unknown")
            self.gestures.append(name)
            for waiter in self._gesture_waiters:
                if not waiter.done():
                    waiter.set_result(name)
        elif kind == "advert":
            self.adverts.append(bytes(value))
        elif kind == "feedback":
            pattern, rgb, ds = value
            self._outputs.append(
                Feedback(
                    command.pattern_name(pattern),
                    (rgb[0], rgb[1], rgb[2]),
                    ds,
                    asyncio.get_running_loop().time(),
                )
            )
            self._output_added.set()
        elif kind == "reject":
            _LOGGER.info("%s: rejected a command (%s)", self._address, value)
        elif kind == "cue":
            self.cues.append(int(value))
        elif kind == "reset":
            self.resets += 1
        elif kind == "pairing":
            self.pairing_log.append(str(value))
            self._pairing_changed.set()

    @property
    def irq_failures(self) -> int:
        """Times the radio dropped the firmware's irq handler because it raised."""
        return self._ble.irq_failures if self._ble is not None else 0

    def _radio_busy(self) -> bool:
        return self._ble is not None and self._ble.transmitting()

    async def _run_firmware(self, firmware: Button) -> None:
        while True:
            self._firmware = firmware
            cause = await self._run_board(firmware.run())
            if cause is None:
                return  # the firmware returned: on a board, the REPL
            await self._reboot(cause)
            firmware = self._new_firmware()

    async def _run_board(self, main: Any) -> int | None:
        """Run one boot's firmware as main.py does, under its watchdog; returns the cause of
        the reset that ended it (None if it returned). Deep sleep passes through."""
        if _watchdog is None:
            try:
                await main
            except Exception:
                _LOGGER.exception("%s: firmware crashed", self._address)
                raise
            return None
        clock = self._require_clock()
        wdt = self.board.WDT(timeout=timing.WDT_TIMEOUT_MS)
        run = asyncio.create_task(_watchdog.supervise(main, wdt, clock), name=f"main {self._address}")
        dog = asyncio.create_task(self._watch(wdt, clock.speed), name=f"wdt {self._address}")
        try:
            await asyncio.wait((run, dog), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (run, dog):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if not run.cancelled() and run.done() and run.exception() is None:
            return None
        if dog.done() and not dog.cancelled():
            self.watchdog_resets += 1
            _LOGGER.warning("%s: watchdog not fed for %d ms: reset", self._address, timing.WDT_TIMEOUT_MS)
            return machine.WDT_RESET
        error = run.exception()
        if isinstance(error, machine.DeepSleepEnteredError | machine.BoardResetError):
            raise error
        # What device.watchdog.run_supervised does with it: print, then machine.reset().
        _LOGGER.error("%s: firmware failed, resetting the board", self._address, exc_info=error)
        try:
            self.board.reset()
        except machine.BoardResetError as reset:
            return reset.cause
        return machine.HARD_RESET

    async def _watch(self, wdt: machine.WDT, speed: float) -> None:
        """Returns when the watchdog expires (it wakes only at the deadline of the last feed)."""
        while True:
            left = -wdt.overdue_s(speed)
            if left <= 0:
                return
            await asyncio.sleep(left)

    async def _reboot(self, cause: int) -> None:
        self.board_resets += 1
        if self._ble is not None:
            self._ble.reset()
        await asyncio.sleep(RESET_BOOT_MS / 1000 / self._speed)
        self.board.booted(cause)

    # --- the wearable's deep sleep (device/sleep.py) ---------------------------------------

    async def wait_for_deep_sleep(self, within_s: float = WAIT_S) -> None:
        """Wait until the wearable is (or next goes) in deep sleep."""
        try:
            async with asyncio.timeout(within_s):
                while not self.power.asleep:
                    self.power.slept.clear()
                    await self.power.slept.wait()
        except TimeoutError as ex:
            raise SimButtonError(f"{self._address} did not deep-sleep within {within_s:g} s") from ex

    def _new_firmware(self) -> Button:
        """A fresh boot: the firmware's RAM is gone; flash and RTC memory are kept."""
        assert self._ble is not None
        assert self._clock is not None
        assert self.flash is not None
        return Button(
            self._ble,
            self.touch,
            self.motor,
            self.led,
            self.battery,
            self.flash,
            self._clock,
            _aes,
            self._on_firmware_event,
        )

    async def _run_wearable(self, firmware: Button) -> None:
        loop = asyncio.get_running_loop()
        clock = self._require_clock()
        self.power.woke(loop.time())
        while True:
            self._firmware = firmware
            runner = sleep.Wearable(firmware, self.board, self.esp32, self.touch, clock, self.listen_period_s)
            try:
                cause = await self._run_board(runner.run())
            except machine.DeepSleepEnteredError as entered:
                request = entered
            else:
                if cause is None:
                    return  # the firmware returned: on a board, the REPL
                await self._reboot(cause)
                firmware = self._new_firmware()
                continue
            self.power.fell_asleep(loop.time())
            await asyncio.sleep(0)  # the old firmware's tasks finish their cancellation
            reason = await self._sleep(request, clock.speed)
            self.power.woke(loop.time())
            if reason == machine.GPIO_WAKE:
                self.power.touch_wakes += 1
            else:
                self.power.timer_wakes += 1
            # The boot: ROM, MicroPython, imports. The person's finger does what it does meanwhile.
            await asyncio.sleep(sleep.BOOT_MS / 1000 / clock.speed)
            self.board.booted(machine.DEEPSLEEP_RESET, reason)
            firmware = self._new_firmware()

    async def _sleep(self, request: machine.DeepSleepEnteredError, speed: float) -> int:
        """Deep sleep until the timer or a wake pin at its level; returns the wake reason."""
        pin = self.touch
        if request.wake_pins and pin.ident in request.wake_pins:
            if bool(pin.value()) == request.wake_level:
                return machine.GPIO_WAKE  # a level wake fires at once
            touched = asyncio.Event()
            pin.irq(handler=lambda _pin: touched.set(), trigger=machine.Pin.IRQ_RISING)
            timeout = None if request.sleep_ms is None else request.sleep_ms / 1000 / speed
            try:
                async with asyncio.timeout(timeout):
                    await touched.wait()
            except TimeoutError:
                return machine.TIMER_WAKE
            finally:
                pin.irq(handler=None)
            return machine.GPIO_WAKE
        if request.sleep_ms is None:
            await asyncio.Event().wait()  # nothing can wake it: power it off (stop())
        await asyncio.sleep((request.sleep_ms or 0) / 1000 / speed)
        return machine.TIMER_WAKE

    async def _read_air(self, reader: asyncio.StreamReader) -> None:
        ble = self._ble
        writer = self._writer
        assert ble is not None
        assert writer is not None
        while line := await reader.readline():
            try:
                message = protocol.decode(line)
            except ValueError:
                _LOGGER.warning("%s: dropping a malformed air line", self._address)
                continue
            reply = self._dispatch(ble, message)
            if reply is not None:
                writer.write(protocol.encode(reply))
        _LOGGER.info("%s: the air closed the connection", self._address)

    def _dispatch(self, ble: bluetooth.BLE, message: dict[str, Any]) -> dict[str, Any] | None:
        op = message["op"]
        if self.power.asleep and op in {"connect", "write", "read"}:
            return _radio_off(message)
        try:
            if op == "connect":
                if not ble.deliver_connect(int(message["conn"]), str(message.get("central", ""))):
                    return {"op": "disconnect", "conn": int(message["conn"])}  # not connectable
            elif op == "disconnect":
                ble.deliver_disconnect(int(message["conn"]))
            elif op == "write":
                status = ble.deliver_write(
                    int(message["conn"]), int(message["handle"]), bytes.fromhex(message["data"])
                )
                return {"op": "rsp", "req": message["req"], "status": status, "data": ""}
            elif op == "read":
                status, data = ble.deliver_read(int(message["handle"]))
                return {"op": "rsp", "req": message["req"], "status": status, "data": data.hex()}
            else:
                _LOGGER.debug("%s: ignoring air op %r", self._address, op)
        except (KeyError, TypeError, ValueError) as ex:
            _LOGGER.warning("%s: bad %r from the air: %s", self._address, op, ex)
            if "req" in message:
                return {"op": "rsp", "req": message["req"], "status": protocol.ATT_UNLIKELY_ERROR, "data": ""}
        return None


def _radio_off(message: dict[str, Any]) -> dict[str, Any] | None:
    """A deep-sleeping board's radio is off: a central that reaches it is dropped at once."""
    if message["op"] == "connect":
        return {"op": "disconnect", "conn": int(message["conn"])}
    return {"op": "rsp", "req": message["req"], "status": protocol.ATT_UNLIKELY_ERROR, "data": ""}


def _loop_time() -> float:
    """Event-loop time for output traces (virtual in a scenario); monotonic off the loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


def _stall(seconds: float) -> None:
    """The CPU is busy for ``seconds`` (a flash write): real time, or a virtual-time loop's."""
    advance = getattr(asyncio.get_running_loop(), "advance", None)  # VirtualTimeLoop
    if advance is not None:
        advance(seconds)
    else:
        time.sleep(seconds)


def _aes(key: bytes) -> Any:
    """The firmware's aes factory: key -> 16-byte block encrypt (cryptolib.aes(key, 1))."""
    return cryptolib.aes(key, cryptolib.MODE_ECB).encrypt
