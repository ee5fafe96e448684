# The button: touch -> gesture -> encrypted BTHome advert burst; GATT command -> haptics + LED.
#
# Hardware arrives by injection (no module-level singletons), so several buttons can live in
# one process under the simulator:
#   ble          bluetooth.BLE (low-level API)
#   touch        Pin-like, value() -> 1 while touched (TTP223 output)
#   haptic_pwm   PWM-like, duty_u16(v)
#   led          neopixel-like, led[0] = (r, g, b); led.write()
#   battery_adc  ADC-like, read_uv()
#   storage      read(name) -> bytes | None, write(name, data)   (device.flash.FileStorage)
#   clock        ticks_ms(), ticks_diff(a, b), async sleep_ms(ms)  (device.clock.BoardClock)
#   aes          aes(key) -> encrypt_block(16 bytes) -> 16 bytes   (cryptolib.aes(key, 1).encrypt)
#   listener     optional listener(kind, value) for "gesture", "advert", "feedback", "reject";
#                the simulator and a board's debug log use it, the firmware never depends on it.
#
# run() is a coroutine: the touch loop samples every SAMPLE_MS while a touch is in progress
# or an advert burst runs, and otherwise sleeps until the touch IC's output rises (a pin irq
# that only sets a flag), so the CPU can stay in light sleep between touches. Feedback plays
# in its own task. BLE irq callbacks only verify, persist and queue.
import asyncio

from device import battery, bthome, command, gatt, timing
from device.gesture import NONE, GestureRecognizer
from device.haptic import Haptics, colour_for
from device.state import State

# Advertising state.
_ADV_IDLE = 0
_ADV_BURST = 1


class Button:
    def __init__(self, ble, touch, haptic_pwm, led, battery_adc, storage, clock, aes,
                 listener=None):
        self._ble = ble
        self._touch = touch
        self._adc = battery_adc
        self._clock = clock
        self._aes = aes
        self._listener = listener
        self._haptics = Haptics(haptic_pwm, led, clock)
        self.state = State(storage)
        self._encrypt = aes(self.state.key) if self.state.key else None
        self._gestures = GestureRecognizer(clock.ticks_diff)
        self._mac = b""
        self._handles = (0, 0, 0)
        self._battery = 100
        self._adv = _ADV_IDLE
        self._burst_started = 0
        self._pending = []
        self._wake = asyncio.Event()
        self._conns = set()
        # Set by the touch pin's rising-edge irq. ThreadSafeFlag on a board (safe from a hard
        # irq); the hosts' pin irqs run on the event loop, where an Event does the same job.
        self._touched = asyncio.ThreadSafeFlag() if hasattr(asyncio, "ThreadSafeFlag") else asyncio.Event()
        self._edge_wake = hasattr(touch, "irq")
        if self._edge_wake:
            touch.irq(handler=self._on_touch_edge, trigger=touch.IRQ_RISING)

    # --- boot -----------------------------------------------------------------------------

    def provision(self, key):
        """Store the 16-byte key (factory or provisioning characteristic)."""
        if len(key) != gatt.KEY_LEN:
            raise ValueError("key must be 16 bytes")
        self.state.key = bytes(key)
        self.state.save()
        self._encrypt = self._aes(self.state.key)

    def _boot(self):
        self._ble.active(True)
        self._mac = bytes(self._ble.config("mac")[1])
        self._ble.irq(self._irq)
        self._handles = gatt.register(self._ble)
        self._battery = battery.read_percent(self._adc)
        self._haptics.off()
        self._publish_state()
        self._advertise_idle()

    async def run(self):
        self._boot()
        await asyncio.gather(self._touch_loop(), self._feedback_loop())

    # --- touch -> advert ------------------------------------------------------------------

    async def _touch_loop(self):
        clock = self._clock
        while True:
            now = clock.ticks_ms()
            code = self._gestures.update(self._touch.value(), now)
            if code != NONE:
                self._announce(code, now)
            if self._adv == _ADV_BURST and clock.ticks_diff(now, self._burst_started) >= timing.BURST_MS:
                self._advertise_idle()
            if self._edge_wake and self._adv == _ADV_IDLE and self._gestures.idle():
                await self._touched.wait()  # nothing to time: sleep until the pad is touched
                if hasattr(self._touched, "clear"):
                    self._touched.clear()
            else:
                await clock.sleep_ms(timing.SAMPLE_MS)

    def _on_touch_edge(self, pin):
        self._touched.set()  # irq context: no allocation, just wake the touch loop

    def _announce(self, code, now):
        self._emit("gesture", code)
        if self._encrypt is None:
            return  # not provisioned: nothing may go on the air unencrypted
        state = self.state
        self._battery = battery.read_percent(self._adc)
        state.adv_counter += 1
        state.packet_id = (state.packet_id + 1) & 0xFF
        state.save()  # durable before it is on the air: a counter is never reused
        data = bthome.advert(self._encrypt, self._mac, state.adv_counter, state.packet_id,
                             self._battery, code)
        self._ble.gap_advertise(timing.BURST_INTERVAL_US, adv_data=data)
        self._adv = _ADV_BURST
        self._burst_started = now
        self._emit("advert", data)

    def _advertise_idle(self):
        self._ble.gap_advertise(timing.IDLE_INTERVAL_US, adv_data=bthome.idle_advert())
        self._adv = _ADV_IDLE

    # --- GATT -----------------------------------------------------------------------------

    def _irq(self, event, data):
        if event == gatt.IRQ_CENTRAL_CONNECT:
            self._conns.add(data[0])
        elif event == gatt.IRQ_CENTRAL_DISCONNECT:
            self._conns.discard(data[0])
            # MicroPython stops advertising on connect; resume so others can find us.
            if self._adv == _ADV_IDLE:
                self._advertise_idle()
        elif event == gatt.IRQ_GATTS_WRITE:
            handle = data[1]
            if handle == self._handles[0]:
                return self._on_command(self._ble.gatts_read(handle))
            if handle == self._handles[2]:
                return self._on_provision(self._ble.gatts_read(handle))
        return gatt.ATT_OK

    def _reject(self, reason, status):
        self.state.rejected[reason] += 1
        self._publish_state()
        self._emit("reject", reason)
        return status

    def _on_command(self, frame):
        if self._encrypt is None:
            return self._reject(command.REASON_BAD_MIC, gatt.ATT_INSUFFICIENT_AUTHENTICATION)
        try:
            counter, pattern, rgb, ds = command.unpack_feedback(self._encrypt, self._mac, frame)
        except command.CommandError as err:
            if err.reason == command.REASON_MALFORMED:
                return self._reject(err.reason, gatt.ATT_INVALID_ATTRIBUTE_LENGTH)
            return self._reject(err.reason, gatt.ATT_INSUFFICIENT_AUTHENTICATION)
        if counter <= self.state.cmd_counter:
            return self._reject("replay", gatt.ATT_INSUFFICIENT_AUTHENTICATION)
        self.state.cmd_counter = counter
        self.state.save()  # durable before acting: a replay after reboot is still refused
        self._publish_state()
        if len(self._pending) < timing.MAX_PENDING_FEEDBACK:
            self._pending.append((pattern, rgb, ds))
            self._wake.set()
        return gatt.ATT_OK

    def _on_provision(self, value):
        # Only an unprovisioned button takes a key; re-keying needs a factory reset (later).
        if self._encrypt is not None:
            return gatt.ATT_WRITE_NOT_PERMITTED
        if len(value) != gatt.KEY_LEN:
            return gatt.ATT_INVALID_ATTRIBUTE_LENGTH
        self.provision(value)
        return gatt.ATT_OK

    def _publish_state(self):
        state = self.state
        value = gatt.state_value(state.cmd_counter, self._battery, state.rejected_total())
        self._ble.gatts_write(self._handles[1], value)

    # --- feedback -------------------------------------------------------------------------

    async def _feedback_loop(self):
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                pattern, rgb, ds = self._pending.pop(0)
                rgb = colour_for(pattern, rgb)
                self._emit("feedback", (pattern, rgb, ds))
                await self._haptics.play(pattern, rgb, ds)

    def _emit(self, kind, value):
        if self._listener is not None:
            self._listener(kind, value)
