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
#   clock        ticks_ms(), ticks_diff(a, b), ticks_add(t, ms), async sleep_ms(ms)
#                (device.clock.BoardClock; ticks wrap, so every deadline is a ticks_add)
#   aes          aes(key) -> encrypt_block(16 bytes) -> 16 bytes   (cryptolib.aes(key, 1).encrypt)
#   listener     optional listener(kind, value) for "gesture", "advert", "feedback", "reject",
#                "cue" (a local haptic cue's name), "pairing" (a provisioning status name) and
#                "withheld" (a feedback pattern not played on a critical battery);
#                the simulator and a board's debug log use it, the firmware never depends on it.
#   random_bytes optional n -> n random bytes for the pairing key pair (default os.urandom,
#                the ESP32's hardware RNG, which is truly random while the radio is on).
#   led_power    optional Pin-like, value(1) powers the LED (its load switch); off while dark.
#
# Pairing (hardware/ble-spec.md, "Provisioning"): an unkeyed button at boot, or any button after
# a factory reset (hold >= FACTORY_RESET_MS, then let go), opens pairing mode for
# PAIRING_WINDOW_MS: it makes an X25519 key pair, advertises "HL-PAIR", and takes exactly one
# hub public key on the provisioning characteristic; both sides derive the button key from the
# shared secret, so the key itself never crosses the air. The slow curve arithmetic runs in its
# own task, never in the BLE irq.
#
# run() is a coroutine: the touch loop samples every SAMPLE_MS while a touch is in progress
# or an advert burst runs, and otherwise sleeps until the touch IC's output rises (a pin irq
# that only sets a flag), so the CPU can stay in light sleep between touches. Feedback plays
# in its own task.
#
# The BLE irq runs on the BLE stack's own task (NimBLE's FreeRTOS task on an ESP32), not in the
# asyncio loop, on a small stack; an exception out of it makes MicroPython drop the handler for
# good. So the irq only copies what it was given (bytes(...)) into a small bounded queue and
# sets an asyncio.ThreadSafeFlag (a plain asyncio.Event set from another task does not wake a
# sleeping loop); it cannot raise (it counts what went wrong instead). The radio task verifies
# commands, persists counters, writes the state characteristic and acts. Since a write is
# acknowledged before it is verified, every command write's outcome (accepted, or refused and
# why, by the counter the frame claimed) is published in the state characteristic.
#
# Low battery (thresholds in device/battery.py): below LOW_PERCENT feedback plays dimmed and
# without the lingering glow, and each touch is followed by one amber blink ("charge me");
# below CRITICAL_PERCENT nothing is played (commands are still verified and their counters
# persisted), but touches are advertised exactly as before: a touch always reaches the partner.
# The factory-reset cues still play (dimmed), or a person could not tell when to let go.
#
# Out of range (device/keep.py): every touch is advertised and kept, with its age, until a hub
# acknowledges it (OP_ACK). The idle advert says how many are kept; a hub that hears it writes
# OP_ACK with the last touch it has and reads the rest from the kept characteristic.
import asyncio

try:
    from os import urandom
except ImportError:  # a port without os.urandom has no usable entropy for pairing
    urandom = None

from device import battery, bthome, command, gatt, keep, pairing, timing, x25519
from device.gesture import NONE, GestureRecognizer
from device.haptic import CUE_LOW_BATTERY, CUE_RESET, CUE_RESET_ARMED, Haptics, colour_for
from device.state import State

# Advertising state.
_ADV_IDLE = 0
_ADV_BURST = 1

# Factory-reset hold, as the touch loop tracks it.
_HOLD_NONE = 0
_HOLD_ARMED = 1  # held past FACTORY_RESET_MS: letting go now resets
_HOLD_TOO_LONG = 2  # held past FACTORY_RESET_MAX_MS: not a person, wait for release


class Button:
    def __init__(
        self,
        ble,
        touch,
        haptic_pwm,
        led,
        battery_adc,
        storage,
        clock,
        aes,
        listener=None,
        random_bytes=None,
        led_power=None,
    ):
        self._ble = ble
        self._touch = touch
        self._adc = battery_adc
        self._clock = clock
        self._aes = aes
        self._listener = listener
        self._haptics = Haptics(haptic_pwm, led, clock, self._cell_mv, led_power)
        self.state = State(storage)
        self._encrypt = aes(self.state.key) if self.state.key else None
        self._gestures = GestureRecognizer(clock.ticks_diff)
        self._mac = b""
        self._handles = (0, 0, 0, 0)
        self._kept_base = clock.ticks_ms()  # ticks the kept touches' ages count from
        self._meter = None  # battery.Meter, from boot
        self._battery = 100
        self._outcome = (0, gatt.OUTCOME_NONE)  # (counter claimed, OUTCOME_*) of the last write
        self._writes = 0  # command writes handled since boot
        self._adv = _ADV_IDLE
        self._burst_started = 0
        # What goes on the air between events; device/sleep.py swaps in its listen advert.
        self.idle_data = bthome.idle_advert()
        self.idle_interval_us = timing.IDLE_INTERVAL_US
        # A wearable's listen-period command (device/sleep.py sets it; None: a puck refuses it).
        # Called from the command handler: it may only record the period, never write flash.
        self.on_listen_period = None
        self.storage = storage  # device/sleep.py keeps the power mode file beside the state
        self._pending = []
        self._wake = asyncio.ThreadSafeFlag()
        # Radio events as the irq copied them: (event, conn, handle, value bytes or None).
        self._radio_events = []
        self._radio_flag = asyncio.ThreadSafeFlag()
        self.irq_errors = 0  # exceptions the irq caught (it must never raise)
        self.irq_dropped = 0  # radio events dropped because the queue was full
        self._conns = set()
        self._random = random_bytes if random_bytes is not None else urandom
        self._hold = _HOLD_NONE
        self._pairing = pairing.CLOSED
        self._pair_until = 0
        self._pair_secret = None
        self._pair_public = None
        self._hub_public = None
        self._pair_wake = asyncio.ThreadSafeFlag()
        self._touched = asyncio.ThreadSafeFlag()  # set by the touch pin's rising-edge irq
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
        self._ble.config(gap_name=bthome.gap_name(self._mac))
        self._scan_response = bthome.scan_response(self._mac)
        self._ble.irq(self._irq)
        self._handles = gatt.register(self._ble)
        self._meter = battery.Meter(self._adc)  # at boot the radio is quiet, the motor off
        self._battery = self._meter.percent
        self._haptics.off()
        self._publish_state()
        if self.state.key is None:
            self._open_pairing()  # a button with no key is in pairing mode from power-on
        self._publish_pairing()
        self._advertise_idle()

    async def run(self):
        self._boot()
        await asyncio.gather(
            self._touch_loop(), self._feedback_loop(), self._pairing_loop(), self._radio_loop()
        )

    @property
    def pairing_status(self):
        return self._pairing

    # --- hooks for the wearable's power mode (device/sleep.py) ----------------------------

    @property
    def gestures(self):
        return self._gestures

    def age_kept(self, ms):
        """Time that passed while the firmware did not run (a wearable's timer-woken deep sleep)."""
        for entry in self.state.kept:
            entry[2] += ms

    def announce(self, code):
        """Advertise a gesture recognised before the radio was up (the touch that woke it)."""
        self._announce(code, self._clock.ticks_ms())

    def busy(self):
        """Something is going on that a deep sleep would cut short."""
        return (
            not self._gestures.idle()
            or self._adv != _ADV_IDLE
            or bool(self._pending)
            or bool(self._radio_events)
            or self._haptics.playing
            or bool(self._conns)
            or self._pairing in (pairing.PREPARING, pairing.OPEN, pairing.DERIVING)
        )

    def power_down(self):
        """Motor, LED and radio off, before the board deep-sleeps."""
        self._haptics.off()
        for conn in list(self._conns):
            self._ble.gap_disconnect(conn)
        self._ble.gap_advertise(None)
        self._ble.active(False)

    # --- touch -> advert ------------------------------------------------------------------

    async def _touch_loop(self):
        clock = self._clock
        while True:
            now = clock.ticks_ms()
            code = self._gestures.update(self._touch.value(), now)
            if code != NONE:
                self._announce(code, now)
            self._watch_hold(now)
            if self._adv == _ADV_BURST and clock.ticks_diff(now, self._burst_started) >= timing.BURST_MS:
                self._advertise_idle()
                self._sample_battery()  # the burst is over: the cell is at rest again
            if self._edge_wake and self._adv == _ADV_IDLE and self._gestures.idle():
                await self._touched.wait()  # nothing to time: sleep until the pad is touched
            else:
                await clock.sleep_ms(timing.SAMPLE_MS)

    def _on_touch_edge(self, pin):
        self._touched.set()  # irq context: no allocation, just wake the touch loop

    def _announce(self, code, now):
        self._emit("gesture", code)
        if self._encrypt is None:
            return  # not provisioned: nothing may go on the air unencrypted
        state = self.state
        # The last resting reading: sampled now, during a burst or a hub's connection, the
        # cell would read its sag under the radio's load, not its charge.
        self._sample_battery(self._adv != _ADV_IDLE or bool(self._conns))
        self._rebase_kept(now)
        if len(state.kept) >= keep.MAX_KEPT:
            state.dropped += 1  # the oldest are kept; this one is counted, and the hub told
            state.save()
            self._emit("dropped", state.dropped)
            return
        state.adv_counter += 1
        state.packet_id = (state.packet_id + 1) & 0xFF
        state.kept.append([state.adv_counter, code, 0])  # until a hub acknowledges it
        state.save()  # durable before it is on the air: a counter is never reused
        data = bthome.advert(
            self._encrypt, self._mac, state.adv_counter, state.packet_id, self._battery, code
        )
        self._ble.gap_advertise(timing.BURST_INTERVAL_US, adv_data=data, resp_data=self._scan_response)
        self._adv = _ADV_BURST
        self._burst_started = now
        self._emit("advert", data)
        if self._meter.level == battery.LOW:
            self._cue(CUE_LOW_BATTERY)  # after the advert is on the air, never before it

    def _advertise_idle(self):
        if self._pairing == pairing.OPEN:
            self._ble.gap_advertise(timing.PAIRING_INTERVAL_US, adv_data=pairing.pairing_advert())
        else:
            state = self.state
            count = len(state.kept) or (1 if state.dropped else 0)
            self._ble.gap_advertise(
                self.idle_interval_us,
                adv_data=keep.marker_advert(self.idle_data, count),
                resp_data=self._scan_response,
            )
        self._adv = _ADV_IDLE

    def _rebase_kept(self, now):
        # Ages grow by the ticks since the last rebase; saved with them, a reboot keeps them.
        elapsed = self._clock.ticks_diff(now, self._kept_base)
        self._kept_base = now
        if elapsed > 0:
            for entry in self.state.kept:
                entry[2] += elapsed

    # --- factory reset and pairing --------------------------------------------------------

    def _watch_hold(self, now):
        held = self._gestures.held_ms(now)
        if held < 0:
            if self._hold == _HOLD_ARMED:
                self.factory_reset()
            self._hold = _HOLD_NONE
        elif self._hold == _HOLD_NONE and held >= timing.FACTORY_RESET_MS:
            self._hold = _HOLD_ARMED
            self._cue(CUE_RESET_ARMED)
        elif self._hold == _HOLD_ARMED and held >= timing.FACTORY_RESET_MAX_MS:
            self._hold = _HOLD_TOO_LONG  # stuck pad or a pocket, not a person: keep the key

    def factory_reset(self):
        """Forget the key and every counter, then open pairing mode."""
        state = self.state
        state.key = None
        state.adv_counter = 0  # a new key starts new nonce spaces on both sides
        state.packet_id = 0
        state.cmd_counter = 0
        for reason in state.rejected:
            state.rejected[reason] = 0
        state.kept = []  # touches under the old key: no hub could read them any more
        state.dropped = 0
        state.save()
        state.save()  # both slots: the old key is not left behind in the other one
        self._encrypt = None
        self._pending = []
        self._publish_state()
        self._emit("reset", None)
        self._cue(CUE_RESET)
        self._open_pairing()

    def _open_pairing(self):
        self._pair_secret = None
        self._pair_public = None
        self._hub_public = None
        self._pair_until = self._clock.ticks_add(self._clock.ticks_ms(), timing.PAIRING_WINDOW_MS)
        self._set_pairing(pairing.PREPARING)

    def _set_pairing(self, status):
        self._pairing = status
        self._publish_pairing()
        self._pair_wake.set()
        self._emit("pairing", pairing.STATUS_NAMES[status])
        if self._adv == _ADV_IDLE and not self._conns:
            self._advertise_idle()  # the pairing advert starts or stops with OPEN

    def _publish_pairing(self):
        public = self._pair_public if self._pairing != pairing.CLOSED else None
        self._ble.gatts_write(self._handles[2], pairing.status_value(self._pairing, public))

    async def _pairing_loop(self):
        clock = self._clock
        while True:
            status = self._pairing
            if status in (pairing.CLOSED, pairing.PAIRED):
                await self._pair_wake.wait()
                continue
            if status == pairing.OPEN:
                if clock.ticks_diff(clock.ticks_ms(), self._pair_until) >= 0:
                    self._close_pairing()  # the window ran out; hold 10 s to open it again
                else:
                    await clock.sleep_ms(timing.PAIRING_POLL_MS)
                continue
            if status == pairing.PREPARING:
                self._make_key_pair()
            elif status == pairing.DERIVING:
                self._finish_pairing()
            await clock.sleep_ms(0)  # let the radio and touch tasks run after a slow step

    def _make_key_pair(self):
        if self._random is None:
            self._close_pairing()  # no entropy source: pairing would be guessable, so refuse it
            return
        secret = self._random(x25519.KEY_LEN)
        self._pair_public = x25519.public_key(secret)  # ~1-2 s on an ESP32-C3
        self._pair_secret = secret
        self._set_pairing(pairing.OPEN)

    def _finish_pairing(self):
        try:
            shared = x25519.scalarmult(self._pair_secret, self._hub_public)
            key = pairing.derive_key(shared, self._mac, self._pair_public, self._hub_public)
        except ValueError:
            self._close_pairing()  # a low-order point: someone is meddling; hold 10 s to retry
            return
        self._pair_secret = None
        self.state.cmd_counter = 0
        self.provision(key)
        self._publish_state()
        self._set_pairing(pairing.PAIRED)

    def _close_pairing(self):
        self._pair_secret = None
        self._hub_public = None
        self._set_pairing(pairing.CLOSED)

    def _cue(self, cue):
        self._emit("cue", cue)
        if len(self._pending) < timing.MAX_PENDING_FEEDBACK:
            self._pending.append((cue, (0, 0, 0), 0, True))
            self._wake.set()

    # --- GATT -----------------------------------------------------------------------------

    def _irq(self, event, data):
        # The BLE stack's task, not the loop: copy, queue, signal; never raise, never write
        # flash, never touch asyncio but the ThreadSafeFlag. The tuple's memoryviews are only
        # valid during this call, hence bytes(...).
        try:
            value = None
            handle = 0
            if event == gatt.IRQ_GATTS_WRITE:
                handle = data[1]
                value = bytes(self._ble.gatts_read(handle))
            elif event != gatt.IRQ_CENTRAL_CONNECT and event != gatt.IRQ_CENTRAL_DISCONNECT:
                return gatt.ATT_OK
            if len(self._radio_events) < timing.MAX_RADIO_EVENTS:
                self._radio_events.append((event, data[0], handle, value))
            else:
                self.irq_dropped += 1
            self._radio_flag.set()
        except Exception:  # noqa: BLE001 - an exception here would disable the handler for good
            self.irq_errors += 1
        return gatt.ATT_OK

    async def _radio_loop(self):
        while True:
            await self._radio_flag.wait()
            while self._radio_events:
                event, conn, handle, value = self._radio_events.pop(0)
                self._on_radio(event, conn, handle, value)
                await self._clock.sleep_ms(0)  # one event at a time: the touch loop runs between

    def _on_radio(self, event, conn, handle, value):
        if event == gatt.IRQ_CENTRAL_CONNECT:
            self._conns.add(conn)
        elif event == gatt.IRQ_CENTRAL_DISCONNECT:
            self._conns.discard(conn)
            # MicroPython stops advertising on connect; resume so others can find us.
            if self._adv == _ADV_IDLE:
                self._advertise_idle()
        elif handle == self._handles[0]:
            self._writes += 1
            self._on_command(value)
        elif handle == self._handles[2]:
            self._on_provision(value)

    def _reject(self, reason, counter):
        self.state.rejected[reason] += 1
        self._outcome = (counter, gatt.outcome_code(reason))
        self._publish_state()
        self._emit("reject", reason)

    def _on_command(self, frame):
        # The counter the frame claims (its clear header), so the hub can find its outcome.
        claimed = int.from_bytes(frame[1:5], "little") if len(frame) >= command.HEADER_LEN else 0
        if self._encrypt is None:
            return self._reject(command.REASON_BAD_MIC, claimed)
        try:
            counter, op, fields = command.unpack_command(self._encrypt, self._mac, frame)
        except command.CommandError as err:
            return self._reject(err.reason, claimed)
        if counter <= self.state.cmd_counter:
            return self._reject("replay", counter)
        if op == command.OP_LISTEN and self.on_listen_period is None:
            return self._reject(command.REASON_UNSUPPORTED, counter)
        self.state.cmd_counter = counter
        if op == command.OP_ACK:
            self._on_ack(fields[0], fields[1])
        self.state.save()  # durable before acting: a replay after reboot is still refused
        self._outcome = (counter, gatt.OUTCOME_ACCEPTED)
        if op == command.OP_ACK:
            self._publish_kept(counter)  # before the outcome: the hub reads it once accepted
        self._publish_state()
        if op == command.OP_ACK:
            self._emit("ack", len(self.state.kept))
        elif op == command.OP_LISTEN:
            self.on_listen_period(fields[0])
        elif len(self._pending) < timing.MAX_PENDING_FEEDBACK:
            pattern, rgb, ds = fields
            self._pending.append((pattern, rgb, ds, False))
            self._wake.set()
        return None

    def _on_ack(self, heard, dropped):
        # The hub has every touch up to `heard` (device/keep.py): forget them, and the dropped
        # ones it counted. Saved by the caller, with the command counter.
        state = self.state
        self._rebase_kept(self._clock.ticks_ms())
        state.kept = [entry for entry in state.kept if entry[0] > heard]
        state.dropped = state.dropped - dropped if state.dropped > dropped else 0

    def _publish_kept(self, answered):
        # Sealed under the nonce of the command it answers (a fresh counter each time); with
        # no command to answer, an empty value: there is nothing a hub could verify.
        value = b""
        if answered:
            self._rebase_kept(self._clock.ticks_ms())
            clear = keep.plaintext(self.state.kept, self.state.dropped)
            value = keep.seal(self._encrypt, self._mac, answered, clear)
        self._ble.gatts_write(self._handles[3], value)

    def _on_provision(self, value):
        # One hub public key per pairing window; a keyed button, a closed window, or a second
        # write is refused. Re-keying takes a factory reset: a person holding the button.
        # The stack has already stored the written bytes as the attribute's value; put the
        # status back at once, so nobody can plant a fake "button public key" for a hub to read.
        if self._pairing != pairing.OPEN:
            self._publish_pairing()
            return
        try:
            self._hub_public = pairing.parse_hub_key(value)
        except ValueError:
            self._publish_pairing()
            return
        self._set_pairing(pairing.DERIVING)  # the pairing task does the slow part

    def _publish_state(self):
        state = self.state
        outcome_counter, outcome = self._outcome
        value = gatt.state_value(
            state.cmd_counter, self._battery, state.rejected_total(), outcome_counter, outcome, self._writes
        )
        self._ble.gatts_write(self._handles[1], value)

    # --- feedback -------------------------------------------------------------------------

    async def _feedback_loop(self):
        while True:
            await self._wake.wait()
            while self._pending:
                pattern, rgb, ds, local = self._pending.pop(0)
                rgb = colour_for(pattern, rgb)
                level = self._battery_level()
                if level == battery.CRITICAL and pattern != CUE_RESET_ARMED and pattern != CUE_RESET:
                    self._emit("withheld", pattern)  # the charge left is for touch adverts
                    continue
                if not local:
                    self._emit("feedback", (pattern, rgb, ds))
                await self._haptics.play(pattern, rgb, ds, level != battery.NORMAL)

    def _cell_mv(self):
        # The cell's resting voltage, for the motor's duty (device/haptic.py): read now if the
        # radio is quiet, else the last resting reading (under the radio's load it reads low).
        self._sample_battery(self._adv != _ADV_IDLE or bool(self._conns))
        return self._meter.mv

    def _battery_level(self):
        # Sampled with the motor off (between patterns). While a hub is connected (it just
        # wrote this command) or a burst runs the cell sags: only a better reading counts.
        self._sample_battery(self._adv != _ADV_IDLE or bool(self._conns))
        return self._meter.level

    def _sample_battery(self, under_load=False):
        percent = self._meter.sample(under_load)
        if percent != self._battery:
            self._battery = percent
            self._publish_state()

    def _emit(self, kind, value):
        if self._listener is not None:
            self._listener(kind, value)
