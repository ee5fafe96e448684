"""Phone notifications through apprise (any apprise URL; ntfy is the recommended one)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from hub.events import SignalKind

_LOGGER = logging.getLogger(__name__)

# A notification service that has not answered in this time is treated as failed.
NOTIFY_TIMEOUT_S: Final = 15.0

# Warm, short, and never more than the partner's first name.
MESSAGES: Final = {
    SignalKind.THINKING_OF_YOU: ("Thinking of you", "{partner} is thinking of you."),
    SignalKind.CELEBRATE: ("Proud of you", "{partner} is celebrating you."),
    SignalKind.NEED_YOU: ("{partner} needs you", "{partner} could use you right now."),
    SignalKind.FELT_IT: ("Felt it", "{partner} felt your touch."),
    SignalKind.SHARED_MOMENT: (
        "A shared moment",
        "You and {partner} reached out at the same moment.",
    ),
}


class PhoneNotifier:
    def __init__(self, urls: list[str]) -> None:
        self.configured = False
        self._apprise: Any = None
        self.reconfigure(urls)

    def reconfigure(self, urls: list[str]) -> None:
        """Notify these URLs from now on (an empty list turns phone notifications off)."""
        if not urls:
            self._apprise, self.configured = None, False
            return  # apprise and its ~100 plugins cost ~17 MB of a Pi Zero's memory: load on need
        import apprise  # noqa: PLC0415

        notifier = apprise.Apprise()
        configured = False
        for url in urls:
            if notifier.add(url):
                configured = True
            else:
                # The URL itself may hold a token: name only its scheme.
                _LOGGER.error(
                    "notification URL with scheme %r is not valid for apprise", url.split(":", 1)[0]
                )
        self._apprise, self.configured = notifier, configured

    async def notify(self, kind: SignalKind, partner: str) -> bool:
        """Send one notification; True if every configured service accepted it."""
        title, body = MESSAGES[kind]
        return await self.notify_text(title.format(partner=partner), body.format(partner=partner))

    async def notify_text(self, title: str, body: str) -> bool:
        """Send one notification with this title and body; True if every service accepted it."""
        if not self.configured:
            return False
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races
            # the answer, and the delivery loop would then never stop.
            async with asyncio.timeout(NOTIFY_TIMEOUT_S):
                return bool(await asyncio.to_thread(self._apprise.notify, body=body, title=title))
        except TimeoutError:
            _LOGGER.warning("phone notification timed out after %.0f s", NOTIFY_TIMEOUT_S)
            return False
