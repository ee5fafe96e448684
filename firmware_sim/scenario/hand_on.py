"""A visiting wearable's touch, one signal however many hubs heard it (as the relay makes it).

The hubs share their people's wearables, so a wearable is heard by its owner's hub and by the
hub of a home its owner visits. Each hub acknowledges touches heard in range lazily
(``device/keep.py``), so a wearable carried from one home to the other still keeps touches the
first hub heard: the second hub collects them from its kept list as touches it never heard. A
running hub does not send those: the host's hub hands a visitor's touch on to the owner's hub
with its advert counter (``hub.signals.visits``), and the owner's hub sends it only if the
counter is newer than any it heard or was handed (``AdvertIngest.heard_elsewhere``); a touch the
owner's hub later collects itself is, for the same reason, not new to it. A scenario has no
relay between its hubs, so the runner asks this gate instead, exactly as the owner's hub would.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.ble.ingest import AdvertIngest
from hub.events import TouchEvent


class HandOn:
    """``signal(heard_at, owner_home, event)``: True if the touch is one to send."""

    def __init__(self, ingest_of: Callable[[str], AdvertIngest]) -> None:
        self._ingest_of = ingest_of
        self.already_sent = 0  # touches a host's hub heard that the owner's hub had sent

    def signal(self, heard_at: str, owner_home: str, event: TouchEvent) -> bool:
        if heard_at == owner_home or event.counter is None:
            return True  # the owner's own hub: its ingest already takes each counter once
        if self._ingest_of(owner_home).heard_elsewhere(event.address, event.counter):
            return True
        self.already_sent += 1  # the relay's "touch_already_sent": one press, one signal
        return False
