"""Button care: tell the owner when a button needs them (a low battery, a day without a word).

The watcher looks over the registered buttons on the hub's clock. An alert is raised once, when
its condition starts, and sends one phone notification through the hub's own phone channel and
one update on the bus (the page refreshes its button list); it clears when the condition ends,
and only then can it be raised again. Raised alerts are kept in the database (``meta``), so a
restart does not notify again for what the owner was already told.

* ``low_battery``: the button reported ``LOW_BATTERY_PERCENT`` or less (the level the dashboard
  colours). It clears at ``RECOVERED_PERCENT`` or more: readings move by a few percent with load
  and temperature, and a button hovering at the line must not notify on every touch.
* ``not_heard``: nothing from the button, neither a touch nor its idle advert, for
  ``NOT_HEARD_S``. It clears when it is heard again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from hub.bus import ButtonUpdate, UpdateBus
from hub.clock import Clock
from hub.store.buttons import ButtonRecord, ButtonRegistry
from hub.store.meta import MetaStore

_LOGGER = logging.getLogger(__name__)

LOW_BATTERY_PERCENT: Final = 20
RECOVERED_PERCENT: Final = 30
NOT_HEARD_S: Final = 24 * 3600.0
# Battery and "last seen" move slowly; once a minute is prompt and costs nothing.
CHECK_INTERVAL_S: Final = 60.0
META_KEY: Final = "button_care"


class AlertKind(StrEnum):
    LOW_BATTERY = "low_battery"
    NOT_HEARD = "not_heard"


@dataclass(frozen=True, slots=True)
class ButtonAlert:
    kind: AlertKind
    text: str  # one line for the owner: what is wrong and what to do
    since: datetime


@dataclass(frozen=True, slots=True, repr=False)  # repr=False: ButtonRecord's keeps the key out
class CaredButton(ButtonRecord):
    """A registered button with what it asks of its owner now (None: all is well), and how long
    a command may wait for it: its listen period if it sleeps between windows (None: it always
    listens, or the hub has not heard it say otherwise)."""

    alert: ButtonAlert | None = None
    listen_period_s: int | None = None


class Notify(Protocol):
    """The hub's phone channel (hub.delivery.phone.PhoneNotifier)."""

    async def notify_text(self, title: str, body: str) -> bool: ...


@dataclass(slots=True)
class _Raised:
    """What is raised for one button: each kind with the moment its condition started."""

    low_battery: datetime | None = None
    not_heard: datetime | None = None


class ButtonCare:
    def __init__(
        self,
        registry: ButtonRegistry,
        clock: Clock,
        phone: Notify,
        bus: UpdateBus,
        meta: MetaStore,
        *,
        timezone: Callable[[], str] = lambda: "UTC",
        interval_s: float = CHECK_INTERVAL_S,
        person: str | None = None,
    ) -> None:
        self._registry = registry
        # Only this home's person's buttons: a visiting partner's wearable is their hub's care.
        self._person = person
        self._clock = clock
        self._phone = phone
        self._bus = bus
        self._meta = meta
        self._timezone = timezone
        self._interval_s = interval_s
        self._raised = self._load()
        # Adverts heard from registered buttons (monotonic s): idle adverts prove a button is
        # alive though they are not stored; only touches update the registry's last_seen.
        self._known: frozenset[str] = frozenset()
        self._heard: dict[str, float] = {}
        # When care began to watch each button (those registered at the start: from the start):
        # a day of silence counts from then at the earliest.
        self._started_at = clock.now()
        self._checked = False
        self._watching_since: dict[int, datetime] = {}

    # -- the hot path: every advert the scanner hears -------------------------------------

    def on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        del advertisement
        address = device.address.upper()
        if address in self._known:
            self._heard[address] = self._clock.monotonic()

    # -- the watch ------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._interval_s)

    def cared(
        self, records: list[ButtonRecord], listen_period_s: Callable[[str], float | None] = lambda _: None
    ) -> list[ButtonRecord]:
        """The records with their alerts (and listen periods, by address), for the API's list."""
        out: list[ButtonRecord] = []
        for record in records:
            raised = self._raised.get(record.id)
            alert = self._shown(record, raised) if raised is not None else None
            out.append(cared_button(record, alert, listen_period_s(record.address)))
        return out

    async def check(self) -> list[ButtonAlert]:
        """Look at every button now; raise and clear alerts. Returns the alerts raised now."""
        now = self._clock.now()
        records = [r for r in self._registry.all() if self._person is None or r.owner == self._person]
        self._known = frozenset(r.address for r in records)
        ids = {r.id for r in records}
        for gone in set(self._raised) - ids:
            del self._raised[gone]
        raised_now: list[tuple[ButtonRecord, ButtonAlert]] = []
        changed: list[ButtonRecord] = []
        for record in records:
            state = self._raised.get(record.id, _Raised())
            before = (state.low_battery, state.not_heard)
            self._watch_silence(record, state, now)
            _watch_battery(record, state, now)
            if (state.low_battery, state.not_heard) == before:
                continue
            changed.append(record)
            self._raised[record.id] = state
            if state.low_battery is not None and before[0] is None:
                raised_now.append((record, self._alert(record, AlertKind.LOW_BATTERY, state)))
            if state.not_heard is not None and before[1] is None:
                raised_now.append((record, self._alert(record, AlertKind.NOT_HEARD, state)))
        self._raised = {k: v for k, v in self._raised.items() if v.low_battery or v.not_heard}
        self._checked = True
        if not changed:
            return []
        self._save()  # durable before the owner is told: told at most once, even across a crash
        for record in changed:
            shown = self._shown(record, self._raised.get(record.id, _Raised()))
            self._bus.publish(
                ButtonUpdate(
                    button=record.id,
                    owner=record.owner,
                    alert=shown.kind.value if shown else None,
                    alert_text=shown.text if shown else None,
                )
            )
            _LOGGER.info(
                "button %d (%s): %s", record.id, record.owner, shown.text if shown else "all well again"
            )
        for record, alert in raised_now:
            await self._tell(record, alert)
        return [alert for _, alert in raised_now]

    # -- inside ------------------------------------------------------------------------------

    def _watch_silence(self, record: ButtonRecord, state: _Raised, now: datetime) -> None:
        """Raise ``not_heard`` after a day of silence; only a real hearing clears it (a restart
        forgets the idle adverts it heard, and must neither clear nor repeat an alert)."""
        day = timedelta(seconds=NOT_HEARD_S)
        heard = self._really_heard(record, now)
        if state.not_heard is not None:
            if heard is not None and now - heard < day:
                state.not_heard = None
            return
        # Silence counts from the last hearing, and from when care first saw the button at the
        # earliest: a hub that was off for a week did not hear a week of silence.
        watching = self._watching_since.setdefault(record.id, now if self._checked else self._started_at)
        quiet_since = max(heard, watching) if heard is not None else watching
        if now - quiet_since >= day:
            state.not_heard = heard or watching

    def _really_heard(self, record: ButtonRecord, now: datetime) -> datetime | None:
        """The last time the button was heard: a stored touch, or an advert since the start."""
        candidates = [record.last_seen] if record.last_seen is not None else []
        heard = self._heard.get(record.address)
        if heard is not None:
            candidates.append(now - timedelta(seconds=self._clock.monotonic() - heard))
        return max(candidates, default=None)

    def _shown(self, record: ButtonRecord, raised: _Raised) -> ButtonAlert | None:
        if raised.not_heard is not None:
            return self._alert(record, AlertKind.NOT_HEARD, raised)
        if raised.low_battery is not None:
            return self._alert(record, AlertKind.LOW_BATTERY, raised)
        return None

    def _alert(self, record: ButtonRecord, kind: AlertKind, raised: _Raised) -> ButtonAlert:
        if kind is AlertKind.LOW_BATTERY:
            assert raised.low_battery is not None
            level = f"{record.battery} %" if record.battery is not None else "low"
            return ButtonAlert(kind, f"battery low ({level}): charge or replace it soon", raised.low_battery)
        assert raised.not_heard is not None
        when = raised.not_heard.astimezone(self._zone()).strftime("%d %b %H:%M")
        return ButtonAlert(kind, f"not heard since {when}: is it in range and charged?", raised.not_heard)

    def _zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self._timezone())
        except (KeyError, ValueError):  # settings validate it; a bad one still shows a time
            return ZoneInfo("UTC")

    async def _tell(self, record: ButtonRecord, alert: ButtonAlert) -> None:
        title = f"{record.owner}'s button"
        body = alert.text[0].upper() + alert.text[1:]
        body += "" if body.endswith("?") else "."
        try:
            sent = await self._phone.notify_text(title, body)
        except Exception:  # a phone service's failure must not stop the watch
            _LOGGER.exception("button %d: the phone notification failed", record.id)
            return
        if not sent:
            _LOGGER.info("button %d: no phone notification (none configured, or refused)", record.id)

    def _load(self) -> dict[int, _Raised]:
        text = self._meta.get(META_KEY)
        if not text:
            return {}
        try:
            raw: dict[str, dict[str, str | None]] = json.loads(text)
            return {
                int(button_id): _Raised(
                    low_battery=_when(kinds.get(AlertKind.LOW_BATTERY.value)),
                    not_heard=_when(kinds.get(AlertKind.NOT_HEARD.value)),
                )
                for button_id, kinds in raw.items()
            }
        except (ValueError, TypeError, AttributeError):
            _LOGGER.warning("button care: the stored alerts are unreadable; starting afresh")
            return {}

    def _save(self) -> None:
        self._meta.put(
            META_KEY,
            json.dumps(
                {
                    str(button_id): {
                        AlertKind.LOW_BATTERY.value: _iso(state.low_battery),
                        AlertKind.NOT_HEARD.value: _iso(state.not_heard),
                    }
                    for button_id, state in self._raised.items()
                }
            ),
        )


def cared_button(
    record: ButtonRecord, alert: ButtonAlert | None, listen_period_s: float | None
) -> CaredButton:
    values = {f.name: getattr(record, f.name) for f in fields(ButtonRecord)}
    period = round(listen_period_s) if listen_period_s is not None else None
    return CaredButton(**values, alert=alert, listen_period_s=period)


def _watch_battery(record: ButtonRecord, state: _Raised, now: datetime) -> None:
    """Raise ``low_battery`` at the low level; clear it only well above (hysteresis)."""
    battery = record.battery
    if battery is None:
        return  # never reported: nothing to say
    if state.low_battery is None and battery <= LOW_BATTERY_PERCENT:
        state.low_battery = now
    elif state.low_battery is not None and battery >= RECOVERED_PERCENT:
        state.low_battery = None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
