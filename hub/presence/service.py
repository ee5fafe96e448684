"""What the hub owns: the engine, its sessions in SQLite, and the current state per person.

Wiring (hub/app/builder.py):

* every advert the scanner reports, from any device: ``service.on_advert`` (a BLE side
  listener), which is ``service.observe(address, rssi, clock.monotonic(), listen_period_s)``
  (O(1), a few microseconds; adverts of unknown devices keep the radio's deaf-time right; a
  listen advert's period makes its device sleepy, see ``hub.presence.engine``);
* about once a second: ``service.tick()`` (leave decisions, restart grace, clock-step check,
  periodic last-seen writes);
* reads: ``service.state(person)``, ``service.states()``, ``service.sessions_since(...)``.

Times: the engine runs on ``clock.monotonic()``; wall times are derived as monotonic + the
current wall-minus-monotonic offset. When that offset jumps (an NTP step on a Pi without an RTC)
every session of this run is re-dated from its monotonic instants.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from device import gatt, sleep
from hub.clock import Clock
from hub.presence import params as P  # noqa: N812 - the constants read best as P.NAME
from hub.presence.engine import PresenceEngine, Transition, TransitionKind
from hub.store.database import Database
from hub.store.presence import PresenceStore, StoredSession

_LOGGER = logging.getLogger(__name__)

# A wall-clock step larger than this between ticks is a correction (NTP), not drift.
CLOCK_STEP_S: Final = 2.0
# Write an open session's last-seen time at most this often: after a power cut the session is
# closed at its last write, so at most a minute of presence is lost, for one write a minute.
LAST_SEEN_FLUSH_S: Final = 60.0
# After a restart, a session left open by the previous run is resumed if its person is back
# within this long of their last-seen time (a reboot takes about a minute); otherwise it is
# closed at that last-seen time. Same span as merging a garden flap, for the same reason.
RESUME_GAP_S: Final = P.MERGE_GAP_S


@dataclass(frozen=True, slots=True)
class PresenceState:
    person: str
    present: bool
    since: datetime | None  # when they arrived (present) or left (away); None: not seen yet
    leaving: bool = False  # present, but silent long enough that a departure is being confirmed

    @property
    def word(self) -> Literal["home", "leaving", "away"]:
        """One word for the dashboard and the API: home, leaving or away."""
        if self.leaving:
            return "leaving"
        return "home" if self.present else "away"


class PresenceService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        people_devices: dict[str, list[str]],
        hub: str = "home",
    ) -> None:
        devices = {address: person for person, addresses in people_devices.items() for address in addresses}
        self._devices = devices
        self.engine = PresenceEngine(devices)
        self.store = PresenceStore(db)
        self._db = db
        self._clock = clock
        self.hub = hub
        self.run_id = uuid.uuid4().hex
        self._started = clock.monotonic()
        self._offset = self._wall_offset()
        self._open: dict[str, int] = {}  # person -> open session row id
        self._flushed: dict[str, float] = {}
        self._since: dict[str, float] = {}  # person -> monotonic instant of the last change
        self._inherited: dict[str, int] = {}  # person -> session left open by an earlier run
        for session in self.store.open_sessions(hub):
            if session.person in self.engine.trackers:
                self._inherited[session.person] = session.id
            else:  # a person no longer configured: nobody will ever close it
                with db.transaction():
                    self._close_at_last_seen(session.id)

    def track(self, person: str, addresses: list[str]) -> None:
        """Listen for exactly these devices of ``person`` from now on (the partner's wearables,
        shared by their hub, so a visit is seen here)."""
        self._devices = {a: p for a, p in self._devices.items() if p != person}
        self._devices.update({address.upper(): person for address in addresses})
        self.engine.track(person, addresses)

    # -- hot path -------------------------------------------------------------------------
    def on_advert(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """Every advert from anyone (a scanner listener: no I/O unless a person came or went)."""
        self.observe(
            device.address.upper(),
            advertisement.rssi,
            self._clock.monotonic(),
            listen_period_s(advertisement),
        )

    def observe(self, address: str, rssi: float, t: float, listen_period: float | None = None) -> None:
        transition = self.engine.observe(address, rssi, t, listen_period)
        if transition is not None:
            self._apply(transition)

    # -- once a second --------------------------------------------------------------------
    def tick(self) -> None:
        now = self._clock.monotonic()
        self._check_clock_step()
        for transition in self.engine.tick(now):
            self._apply(transition)
        if self._inherited and now - self._started > RESUME_GAP_S:
            with self._db.transaction():
                for session_id in self._inherited.values():
                    self._close_at_last_seen(session_id)
            self._inherited.clear()
        for person, session_id in self._open.items():
            last = self.engine.trackers[person].last_t
            if last - self._flushed.get(person, -1e18) >= LAST_SEEN_FLUSH_S:
                self.store.touch(session_id, self._wall(last), last)
                self._flushed[person] = last

    # -- reads ----------------------------------------------------------------------------
    def state(self, person: str) -> PresenceState:
        present = self.engine.is_present(person)
        since = self._since.get(person)
        leaving = self.engine.is_leaving(person, self._clock.monotonic())
        return PresenceState(person, present, None if since is None else self._wall(since), leaving)

    def listen_period_s(self, address: str) -> float | None:
        """The listen period presence knows for a sleepy device; None: it listens always."""
        return self.engine.listen_period_s(address)

    def devices_of(self, person: str) -> int:
        """How many devices of ``person`` this hub listens for."""
        return sum(1 for owner in self._devices.values() if owner == person)

    def has_left(self, person: str) -> bool:
        """Presence knows ``person`` left (not merely "not heard yet": no device, or not seen)."""
        if not self.devices_of(person):
            return False
        state = self.state(person)
        return not state.present and state.since is not None

    def sessions_since(self, since: datetime) -> list[StoredSession]:
        """This hub's sessions that were open at or after ``since``."""
        return self.store.sessions(hub=self.hub, since=since)

    def states(self) -> list[PresenceState]:
        return [self.state(person) for person in sorted(self.engine.trackers)]

    # -- internals ------------------------------------------------------------------------
    def _wall_offset(self) -> float:
        return self._clock.now().timestamp() - self._clock.monotonic()

    def _wall(self, mono: float) -> datetime:
        return datetime.fromtimestamp(mono + self._offset, UTC)

    def _check_clock_step(self) -> None:
        offset = self._wall_offset()
        if abs(offset - self._offset) <= CLOCK_STEP_S:
            return
        _LOGGER.warning(
            "wall clock stepped by %+.1f s; re-dating this run's presence sessions", offset - self._offset
        )
        self._offset = offset
        with self._db.transaction():
            self.store.restamp(self.run_id, offset)

    def _apply(self, tr: Transition) -> None:
        person = tr.subject
        since = self._wall(tr.since)
        self._since[person] = tr.since
        with self._db.transaction():
            if tr.kind is TransitionKind.LEAVE:
                session_id = self._open.pop(person, None)
                self._flushed.pop(person, None)
                if session_id is not None:
                    self.store.close(session_id, since, tr.confidence, "left", tr.since)
                _LOGGER.info("%s left at %s", person, since.isoformat())
                return
            inherited = self._inherited.pop(person, None)
            if inherited is not None:
                previous = self.store.get(inherited)
                if previous is not None and (since - previous.last_seen_at).total_seconds() <= RESUME_GAP_S:
                    arrived_mono = previous.arrived_at.timestamp() - self._offset
                    self.store.adopt(inherited, self.run_id, arrived_mono, tr.since)
                    self._open[person] = inherited
                    self._since[person] = arrived_mono
                    _LOGGER.info("%s still here after the restart; session %d resumed", person, inherited)
                    return
                self._close_at_last_seen(inherited)
            if tr.kind is TransitionKind.RESUME:
                last = self.store.last_closed(person, self.hub)
                if last is not None and last.close_reason == "left":
                    self.store.reopen(last.id, self.run_id)
                    self._open[person] = last.id
                    self._since[person] = last.arrived_at.timestamp() - self._offset
                    return
            self._open[person] = self.store.open_session(person, self.hub, since, self.run_id, tr.since)
            _LOGGER.info("%s arrived at %s", person, since.isoformat())

    def _close_at_last_seen(self, session_id: int) -> None:
        """Close a session an earlier run left open; call inside a transaction."""
        session = self.store.get(session_id)
        if session is None:
            return
        self.store.close(session_id, session.last_seen_at, session.confidence, "restart", None)
        _LOGGER.info(
            "session %d of %s closed at its last sighting %s after a restart",
            session_id,
            session.person,
            session.last_seen_at.isoformat(),
        )


def listen_period_s(advertisement: AdvertisementData) -> int | None:
    """The listen period of a listen advert (hardware/ble-spec.md), or None for any other."""
    data = advertisement.service_data.get(gatt.SERVICE_UUID)
    return None if data is None else sleep.parse_listen(data)
