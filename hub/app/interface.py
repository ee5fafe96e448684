"""The one narrow face of a running hub that the web app, Home Assistant and systemd use.

They depend on this Protocol, never on how the hub is built (hub.app.hub implements it), so
the web layer runs no SQL and reaches into no part: what it may ask is exactly what is here.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from hub.bus import Update
from hub.clock import Clock
from hub.config import HubConfig, Settings
from hub.events import PartnerPresence, SignalKind, SignalRecord
from hub.health import Counters, Health, PartnerHubStatus
from hub.heartbeats import Heartbeats
from hub.presence.service import PresenceState
from hub.privacy.forget import ForgetSummary
from hub.store.buttons import ButtonRecord
from hub.store.presence import StoredSession


class PresenceView(Protocol):
    """Who is near this hub now, and the sessions it recorded."""

    def states(self) -> list[PresenceState]: ...

    def state(self, person: str) -> PresenceState: ...

    def devices_of(self, person: str) -> int: ...

    def sessions_since(self, since: datetime) -> list[StoredSession]: ...


class HubInterface(Protocol):
    @property
    def config(self) -> HubConfig: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def presence(self) -> PresenceView: ...

    @property
    def heartbeats(self) -> Heartbeats: ...

    @property
    def data_dir(self) -> Path: ...

    def update_settings(self, settings: Settings) -> Settings:
        """Validate, store and apply at once (SettingsError names a wrong one)."""
        ...

    def health(self) -> Health:
        """How each part is doing; ``reason`` says what is wrong and its fix (None when all is well)."""
        ...

    def partner_hub(self) -> PartnerHubStatus:
        """The partner's hub: online, offline or unknown, and when it was last known online."""
        ...

    def partner_presence(self) -> PartnerPresence | None:
        """What the partner's hub last shared about them (None: nothing shared yet)."""
        ...

    def counters(self) -> Counters: ...

    def updates(self) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Update]]:
        """Every update from now on (signals, touches, the partner's presence), as they happen."""
        ...

    def recent_signals(self, limit: int = 100) -> list[SignalRecord]: ...

    def send(self, kind: SignalKind) -> SignalRecord:
        """Send a signal to the partner, as a touch on this home's button would."""
        ...

    def buttons(self) -> list[ButtonRecord]: ...

    def add_button(self, address: str, kind: str, key: bytes, owner: str) -> ButtonRecord: ...

    def remove_button(self, button_id: int) -> bool: ...

    def button_key(self, button_id: int) -> bytes | None:
        """The button's 16-byte key (its BTHome bindkey), None if there is no such button. Only
        for the couple's own Home Assistant: callers must never log it."""
        ...

    async def set_listen_period(self, button_id: int, period_s: int) -> ButtonRecord | None:
        """Give a sleepy button a new listen period (10..3600 s) in its next window; the button as
        the API lists it once it confirmed, None if there is no such button. FeedbackError:
        ``always_listening`` (a puck, or not heard listening yet), ``missed_window`` (it did not
        listen within ``listen_bound_s``), or why the button refused it."""
        ...

    def listen_bound_s(self, button_id: int) -> float | None:
        """How long ``set_listen_period`` may wait for that button (None: it always listens)."""
        ...

    async def pair(self, owner: str, timeout_s: float, *, replace: bool = False) -> ButtonRecord:
        """Pair the one button in pairing mode (PairingError says whose move it is)."""
        ...

    def stats(self, days: int) -> dict[str, Any]:
        """The couple's numbers over the last ``days`` (hub.stats.report)."""
        ...

    def forget(self, before: datetime) -> ForgetSummary:
        """Delete everything made before ``before`` and compact the database (ForgetError)."""
        ...

    async def export_json(self, out: Path) -> None:
        """Everything this hub stores about the couple, keys left out (ExportError)."""
        ...
