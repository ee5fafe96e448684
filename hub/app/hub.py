"""One home's running hub: every part built and started (``hub.app.builder.open_hub``), and the
narrow face the web app, Home Assistant and systemd use (``hub.app.interface.HubInterface``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub.app.ble_side import BleSide
from hub.app.couple_link import CoupleLink
from hub.ble.care import ButtonCare, cared_button
from hub.bus import Update, UpdateBus
from hub.clock import Clock
from hub.config import HubConfig, Settings, SettingsStore, validate_settings
from hub.delivery.phone import PhoneNotifier
from hub.delivery.quiet_hours import quiet_hours_for
from hub.errors import UnknownOwnerError
from hub.events import Gesture, PartnerPresence, SignalKind, SignalRecord
from hub.health import Counters, Health, PartnerHubStatus, RelayHealth, RelayState
from hub.heartbeats import Heartbeats
from hub.histogram import Histogram
from hub.presence.service import PresenceService
from hub.privacy.export import export_file
from hub.privacy.forget import ForgetSummary, forget
from hub.store.buttons import ButtonRecord
from hub.store.database import Database
from hub.store.signals import SignalLog

_LOGGER = logging.getLogger(__name__)


class CurrentSettings:
    """What the dashboard edits: the config file's values until settings are saved, then the
    stored ones; read by the running parts at each use, so a change applies at once."""

    def __init__(self, settings: Settings) -> None:
        self.value = settings

    def meanings(self) -> dict[Gesture, SignalKind]:
        return self.value.meanings()


class Hub:
    def __init__(
        self,
        *,
        config: HubConfig,
        clock: Clock,
        db: Database,
        bus: UpdateBus,
        heartbeats: Heartbeats,
        settings: CurrentSettings,
        ble: BleSide,
        presence: PresenceService,
        couple: CoupleLink,
        phone: PhoneNotifier,
        publish_latency: Histogram,
        care: ButtonCare | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self.db = db
        self._bus = bus
        self._heartbeats = heartbeats
        self._settings = settings
        self.ble = ble
        self._presence = presence
        self.couple = couple
        self._phone = phone
        self._publish_latency = publish_latency
        self._signals = SignalLog(db)
        self.care = care

    @property
    def config(self) -> HubConfig:
        return self._config

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def settings(self) -> Settings:
        return self._settings.value

    @property
    def presence(self) -> PresenceService:
        return self._presence

    @property
    def heartbeats(self) -> Heartbeats:
        return self._heartbeats

    @property
    def data_dir(self) -> Path:
        return self._config.hub.data_dir

    def update_settings(self, settings: Settings) -> Settings:
        validate_settings(settings)
        SettingsStore(self.db).save(settings)
        self._settings.value = settings
        self._phone.reconfigure(list(settings.notify))
        self.couple.delivery.set_quiet(quiet_hours_for(settings))
        _LOGGER.info("settings changed and applied")
        return settings

    def health(self) -> Health:
        link, relay, ingest = self.couple.link, self.couple.relay, self.ble.ingest
        problem = link.problem
        if problem is not None:
            # Connected with a refused subscription is an error too: nothing can arrive.
            relay_health = RelayHealth(RelayState.ERROR, problem.reason, problem)
        elif link.connected.is_set():
            relay_health = RelayHealth(RelayState.CONNECTED)
        else:
            relay_health = RelayHealth(RelayState.DISCONNECTED)
        rejected = {f"advert_{k}": v for k, v in ingest.rejected.items()}
        rejected.update({f"relay_{k}": v for k, v in relay.rejected.items()})
        return Health(
            ble=self.ble.scanning.health,
            relay=relay_health,
            outbox=relay.outbox_depth,
            ingest_queue=ingest.queue_depth,
            adverts_seen=ingest.adverts_seen,
            rejected=rejected,
            partner=self.partner_hub(),
        )

    def partner_hub(self) -> PartnerHubStatus:
        return self.couple.partner_hub.status

    def partner_presence(self) -> PartnerPresence | None:
        return self.couple.presence.partner

    def counters(self) -> Counters:
        return Counters(
            relay_reconnects=self.couple.link.reconnects,
            recoveries=dict(self.ble.scanning.recoveries),
            scanner_errors=dict(self.ble.scanning.errors),
            fates={fate.value: count for fate, count in self._signals.count_by_fate().items()},
            publish_latency=self._publish_latency,
            adverts_accepted=dict(self.ble.ingest.accepted),
        )

    def updates(self) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Update]]:
        return self._bus.subscribe()

    def recent_signals(self, limit: int = 100) -> list[SignalRecord]:
        return self._signals.recent(limit)

    def send(self, kind: SignalKind) -> SignalRecord:
        return self.couple.composer.send(kind)

    def buttons(self) -> list[ButtonRecord]:
        """With their alerts and, for a sleepy button, the listen period its adverts gave."""
        records = self.ble.registry.all()
        period = self.ble.feedback.windows.period_s
        if self.care is None:
            return [cared_button(r, None, period(r.address)) for r in records]
        return self.care.cared(records, period)

    def add_button(self, address: str, kind: str, key: bytes, owner: str) -> ButtonRecord:
        self._check_owner(owner)
        return self.ble.add_button(address, kind, key, owner)

    def _check_owner(self, owner: str) -> None:
        """UnknownOwnerError unless ``owner`` is one of the couple (nobody's touches go nowhere)."""
        people = (self._config.hub.person, self._config.hub.partner)
        if owner not in people:
            raise UnknownOwnerError(owner, people)

    def remove_button(self, button_id: int) -> bool:
        return self.ble.remove_button(button_id)

    def button_key(self, button_id: int) -> bytes | None:
        record = self.ble.registry.by_id(button_id)
        return record.key if record is not None else None

    async def set_listen_period(self, button_id: int, period_s: int) -> ButtonRecord | None:
        record = self.ble.registry.by_id(button_id)
        if record is None:
            return None
        await self.ble.feedback.set_listen_period(record, period_s)
        return next((b for b in self.buttons() if b.id == button_id), record)

    def listen_bound_s(self, button_id: int) -> float | None:
        record = self.ble.registry.by_id(button_id)
        return self.ble.feedback.listen_bound_s(record.address) if record is not None else None

    async def pair(self, owner: str, timeout_s: float, *, replace: bool = False) -> ButtonRecord:
        self._check_owner(owner)
        return await self.ble.pairing.pair(owner, timeout_s, replace=replace)

    def stats(self, days: int) -> dict[str, Any]:
        from hub.stats.report import stats_report  # noqa: PLC0415 - numpy only when stats are asked

        return stats_report(
            self._presence.store,
            self._signals,
            hub=self._presence.hub,
            now=self._clock.now(),
            tz=ZoneInfo(self.settings.timezone),
            days=days,
            db=self.db,
        )

    def forget(self, before: datetime) -> ForgetSummary:
        # On the event loop: the hub is the database's one writer.
        return forget(self.db, before)

    async def export_json(self, out: Path) -> None:
        # Its own read-only connection in a worker thread (a WAL snapshot): never stalls touches.
        await asyncio.to_thread(export_file, self.db.path, out, "json")
