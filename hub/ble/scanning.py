"""One shared scanner per adapter, watched, and recovered step by step when it goes quiet.

The most common failure of BLE bridges on a Pi is silence: scanning stops after hours or days
with no error, or bluetoothd answers ``InProgress`` forever, until someone power-cycles the
adapter. The supervisor notices silence (no advert from *any* device, ours or a neighbour's,
for ``silence_s``) and escalates: restart the scan, then power-cycle the adapter, then give up
loudly (health says what to check) and try again from the start a while later.

But silence is also what an empty home sounds like: when the only devices around are the
people's own buttons and they carry them out, nothing is left to hear. Given ``carried`` (is
this address a device that goes where its owner goes: the hub's registered buttons), the
supervisor first asks whether the silence is explained before it escalates:

* the adapter's own state, where the stack has one (BlueZ: ``Powered``, ``Discovering`` while
  scanning actively, ``PowerState``): an adapter that says it is off or not scanning is a fault;
* a *reference*: any device heard in the REFERENCE_LOOKBACK_S before the silence that is not
  carried (a neighbour's phone or TV, any device that stays put). Had one been heard, it would
  still be heard: the radio is deaf, escalate. Had only carried devices been heard, their owners
  left: health says QUIET ("no one's buttons in range", not an error) and the adapter is left
  alone, but for a scan restart every QUIET_RESCAN_S (cheap, and it clears a stalled discovery
  that nothing else could reveal in a home with nothing else on the air).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Final

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakDBusError, BleakError

from hub.ble.transport import BleTransport
from hub.clock import Clock
from hub.errors import TransportError
from hub.health import BleHealth, BleState
from hub.heartbeats import Heartbeats

_LOGGER = logging.getLogger(__name__)

# BlueZ forgets a device it has not heard for 30 s (TemporaryTimeout in main.conf); react
# before that, so a recovered scan finds the same devices, but not so fast that a quiet
# minute in a quiet home counts as a fault.
DEFAULT_SILENCE_S: Final = 20.0
# After giving up, start over this much later (a USB adapter may come back; bluetoothd may
# be restarted by systemd).
RETRY_AFTER_GIVING_UP_S: Final = 300.0
# bluetoothd answers InProgress while another discovery is starting; it clears within seconds.
IN_PROGRESS_WAIT_S: Final = 2.0
START_ATTEMPTS: Final = 5
# A recovery step (stop, power-cycle, start with retries) may take this long before the next beat.
START_BUDGET_S: Final = 60.0

ERROR_IN_PROGRESS: Final = "org.bluez.Error.InProgress"
ERROR_NOT_READY: Final = "org.bluez.Error.NotReady"

STEPS: Final = ("restart scan", "power-cycle adapter")
# A device heard this long before the silence still tells whether it is explained: a reference
# that was there ten minutes ago is there now (neighbours' devices do not walk off together).
REFERENCE_LOOKBACK_S: Final = 600.0
# In a quiet home, restart the scan this often (never power-cycle): BlueZ discovery that stalled
# silently comes back with a restart, and without a reference nothing else would tell.
QUIET_RESCAN_S: Final = 1800.0
QUIET_DETAIL: Final = "no one's buttons in range"
QUIET_RESCAN: Final = "restart scan (quiet)"


def classify(ex: BaseException) -> str:
    """A short, stable name for a scanner error: in_progress, not_ready, dbus or other."""
    if isinstance(ex, BleakDBusError):
        if ex.dbus_error == ERROR_IN_PROGRESS:
            return "in_progress"
        if ex.dbus_error == ERROR_NOT_READY:
            return "not_ready"
        return "dbus"
    if isinstance(ex, BleakError) and "not ready" in str(ex).lower():
        return "not_ready"
    return "other"


class ScanSupervisor:
    """Owns the hub's scanner; ``health`` says how it is doing (starting, ok, recovering, error)."""

    def __init__(
        self,
        transport: BleTransport,
        on_advert: Callable[[BLEDevice, AdvertisementData], None],
        clock: Clock,
        *,
        silence_s: float = DEFAULT_SILENCE_S,
        heartbeats: Heartbeats | None = None,
        carried: Callable[[str], bool] | None = None,
        quiet_rescan_s: float = QUIET_RESCAN_S,
    ) -> None:
        """``carried(address)``: the device goes where its owner goes (a registered button), so
        its silence may be an empty home. Without it every silence is the radio's fault."""
        self._heartbeats = heartbeats or Heartbeats()
        self._transport = transport
        self._on_advert = on_advert
        self._clock = clock
        self.silence_s = silence_s
        self._check_s = max(0.05, silence_s / 4)
        self._scanner: BleakScanner | None = None
        self._last_heard = clock.monotonic()  # last advert from anyone
        self._acted_at = self._last_heard  # last start or recovery step: each gets a full window
        self.health = BleHealth(BleState.STARTING)
        # "passive" or "active" once the first start has found out what the stack supports.
        self.mode: str | None = None if transport.supports_passive else "active"
        self.recoveries: Counter[str] = Counter()  # by step, for /metrics
        self.errors: Counter[str] = Counter()  # by classify() name
        self._carried = carried
        self.quiet_rescan_s = quiet_rescan_s
        self._recent: dict[str, float] = {}  # address -> last heard, within REFERENCE_LOOKBACK_S

    def _heard(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        now = self._clock.monotonic()
        self._last_heard = now
        if self._carried is not None:
            self._recent[device.address] = now
        self._on_advert(device, advertisement)

    async def run(self) -> None:
        try:
            while True:
                await self._stop()
                try:
                    await self._start()
                except TransportError as ex:
                    _LOGGER.error("%s; trying again in %.0f s", ex, RETRY_AFTER_GIVING_UP_S)
                    self._heartbeats.beat("ble-scanner", RETRY_AFTER_GIVING_UP_S + START_BUDGET_S)
                    await asyncio.sleep(RETRY_AFTER_GIVING_UP_S)
                    continue
                await self._watch()
        finally:
            await self._stop()
            self.health = BleHealth(BleState.STOPPED)

    async def _watch(self) -> None:
        """Return after one escalation round has run out of steps (having given up)."""
        step = 0
        while True:
            self._heartbeats.beat("ble-scanner", self._check_s * 3 + START_BUDGET_S)
            await asyncio.sleep(self._check_s)
            now = self._clock.monotonic()
            silent_for = now - self._last_heard
            if silent_for < self.silence_s:
                if step:
                    _LOGGER.info("BLE adverts are back after '%s'", STEPS[step - 1])
                    step = 0
                elif self.health.state is BleState.QUIET:
                    _LOGGER.info("BLE adverts are back: someone's button is in range again")
                self.health = BleHealth(BleState.OK)
                continue
            if now - self._acted_at < self.silence_s:
                continue  # the last step has not had its full window yet
            if not step and await self._quiet(silent_for):
                if now - self._acted_at >= self.quiet_rescan_s:
                    self.recoveries[QUIET_RESCAN] += 1
                    with contextlib.suppress(TransportError):
                        await self._restart()
                    self._acted_at = self._clock.monotonic()
                    self.health = BleHealth(BleState.QUIET, QUIET_DETAIL)
                continue
            if step == len(STEPS):
                break
            action = STEPS[step]
            step += 1
            self.recoveries[action] += 1
            self.health = BleHealth(BleState.RECOVERING, f"{action} (no adverts for {silent_for:.0f} s)")
            _LOGGER.warning("no BLE adverts for %.0f s; trying to %s", silent_for, action)
            with contextlib.suppress(TransportError):
                if action == "power-cycle adapter":
                    await self._stop()
                    await self._power_cycle()
                await self._restart()
            self._acted_at = self._clock.monotonic()
        self.health = BleHealth(
            BleState.ERROR,
            f"no BLE adverts for {silent_for:.0f} s even after restarting the scan and "
            f"power-cycling the adapter; check `bluetoothctl show` and `journalctl -u bluetooth`",
        )
        _LOGGER.error("%s; trying again in %.0f s", self.health, RETRY_AFTER_GIVING_UP_S)
        self._heartbeats.beat("ble-scanner", RETRY_AFTER_GIVING_UP_S + START_BUDGET_S)
        await asyncio.sleep(RETRY_AFTER_GIVING_UP_S)

    def recent_devices(self) -> set[str]:
        """Addresses heard within REFERENCE_LOOKBACK_S of the last advert (when judging)."""
        return set(self._recent)

    async def _quiet(self, silent_for: float) -> bool:
        """Is this silence an empty home rather than a deaf radio? Sets health when it is."""
        if self._carried is None:
            return False
        why = await self._adapter_fault()
        if why is not None:
            _LOGGER.warning("no BLE adverts for %.0f s and the adapter %s", silent_for, why)
            return False
        since = self._last_heard - REFERENCE_LOOKBACK_S
        for address, at in list(self._recent.items()):
            if at < since:
                del self._recent[address]
        references = [address for address in self._recent if not self._carried(address)]
        if references:
            return False  # a device that stays put went silent with the rest: the radio is deaf
        if self.health.state is not BleState.QUIET:
            _LOGGER.info(
                "no BLE adverts for %.0f s, and the last devices heard were people's buttons "
                "(%s): nobody is in range, the adapter is left alone",
                silent_for,
                ", ".join(sorted(self._recent)) or "none yet",
            )
            self.health = BleHealth(BleState.QUIET, QUIET_DETAIL)
        return True

    async def _adapter_fault(self) -> str | None:
        """What the adapter's own state says is wrong, or None (fine, or nothing to ask)."""
        try:
            state = await self._transport.adapter_state()
        except (TransportError, BleakError, OSError, TimeoutError) as ex:
            self.errors[classify(ex)] += 1
            return f"did not answer ({ex})"
        if state is None:
            return None
        if not state.powered or state.power_state == "off-blocked":
            return f"is off (Powered={state.powered}, PowerState={state.power_state})"
        if self.mode == "active" and not state.discovering:
            return "is not scanning (Discovering=false)"
        return None

    async def _restart(self) -> None:
        await self._stop()
        await self._start()

    async def _start(self) -> None:
        """Start scanning, waiting out InProgress and powering a NotReady adapter on."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                if self.mode is None and await self._try_passive():
                    return
                scanner = self._transport.scanner(self._heard, passive=self.mode == "passive")
                await scanner.start()
            except (BleakError, OSError) as ex:
                kind = classify(ex)
                self.errors[kind] += 1
                self.health = BleHealth(BleState.ERROR, f"starting the scan failed ({kind}: {ex})")
                _LOGGER.warning("starting the BLE scan failed (%s, attempt %d): %s", kind, attempt, ex)
                if kind == "not_ready":
                    await self._power_cycle()
                else:
                    await asyncio.sleep(IN_PROGRESS_WAIT_S if kind == "in_progress" else attempt)
                continue
            self._scanner = scanner
            self._acted_at = self._clock.monotonic()
            self._started()
            return
        raise TransportError(self._transport.spec, f"could not start scanning: {self.health}")

    async def _try_passive(self) -> bool:
        """Decide the scan mode once: passive if BlueZ can monitor adverts, else active."""
        scanner = self._transport.scanner(self._heard, passive=True)
        try:
            await scanner.start()
        except (BleakError, OSError) as ex:
            if classify(ex) in {"in_progress", "not_ready"}:
                raise  # a transient adapter state, not an answer about passive scanning
            self.mode = "active"
            _LOGGER.warning(
                "passive scanning is not available (%s); scanning actively. BlueZ >= 5.56 started "
                "with --experimental enables it and saves the buttons' batteries a little",
                ex,
            )
            return False
        self.mode = "passive"
        _LOGGER.info("scanning passively (BlueZ advertisement monitor on BTHome and Heartline adverts)")
        self._scanner = scanner
        self._acted_at = self._clock.monotonic()
        self._started()
        return True

    def _started(self) -> None:
        """Scanning: ok, unless a recovery round is still deciding whether adverts are back."""
        if self.health.state in {BleState.STARTING, BleState.ERROR}:
            self.health = BleHealth(BleState.OK)

    async def _stop(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            try:
                await scanner.stop()
            except (BleakError, OSError) as ex:
                self.errors[classify(ex)] += 1
                _LOGGER.debug("stopping the scan failed: %s", ex)

    async def _power_cycle(self) -> None:
        try:
            await self._transport.power_cycle()
        except (BleakError, OSError, TransportError) as ex:
            self.errors[classify(ex)] += 1
            _LOGGER.warning("power-cycling the adapter failed: %s", ex)
