"""Phone notifications through apprise (any apprise URL; ntfy is the recommended one).

A notification carries its title and text and nothing that makes the phone fetch anything: the
apprise asset has no image URL, logo or image path, so no service is handed apprise's default icon
(an address on a public code host each phone would then load). ntfy notifications carry a
priority and tags by meaning ("I need you" is high priority); a priority or tags the URL itself
sets are kept. docs/privacy.md lists what each service receives.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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

# ntfy's priority (min, low, default, high, max) and tags (shown as emoji) by what a
# notification means; anything else (a morning's summary, a button's battery) is "general".
GENERAL: Final = "general"
NTFY_MEANINGS: Final[dict[str, tuple[str, str]]] = {
    SignalKind.THINKING_OF_YOU.value: ("default", "heart"),
    SignalKind.CELEBRATE.value: ("default", "tada"),
    SignalKind.NEED_YOU.value: ("high", "sos"),
    SignalKind.FELT_IT.value: ("low", "hugs"),
    SignalKind.SHARED_MOMENT.value: ("default", "two_hearts"),
    GENERAL: ("default", "bell"),
}
NTFY_SCHEMES: Final = frozenset({"ntfy", "ntfys"})
MASK: Final = "****"


def with_meaning(url: str, meaning: str) -> str:
    """``url`` with ntfy's priority and tags for ``meaning`` (other services: unchanged)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in NTFY_SCHEMES or meaning not in NTFY_MEANINGS:
        return url
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    priority, tags = NTFY_MEANINGS[meaning]
    query.setdefault("priority", priority)
    if "tags" not in query:
        query.setdefault("xtags", tags)
    return urlunsplit(parts._replace(query=urlencode(query)))


def masked_url(url: str) -> str:
    """``url`` as typed, with its passwords and tokens hidden. apprise knows, for each service,
    which parts are secret: the parts its privacy view hides are masked here as it masks them
    (``****``, ``t...n``). A URL apprise cannot read, or one whose secrets are not found as typed,
    is shown as apprise's privacy view, or hidden whole."""
    import apprise  # noqa: PLC0415

    plugin: Any = apprise.Apprise.instantiate(url, asset=_quiet_asset(apprise))
    if not plugin:
        return f"{url.partition(':')[0]}://{MASK}"
    private = str(plugin.url(privacy=True))
    secrets = {
        plain: hidden
        for plain, hidden in zip(_SPLIT.split(str(plugin.url())), _SPLIT.split(private), strict=False)
        if plain != hidden and plain
    }
    parts = _SPLIT.split(url)  # the delimiters stay, at the odd places
    if not set(secrets) <= set(parts[::2]):
        return private
    return "".join(secrets.get(part, part) if i % 2 == 0 else part for i, part in enumerate(parts))


_SPLIT: Final = re.compile(r"([/:@?&=])")


def unmask_urls(offered: Sequence[str], stored: Sequence[str]) -> list[str]:
    """URLs to store from ones a client sent back: a masked URL, exactly as :func:`masked_url`
    showed it, stands for the stored URL it hides (so saving the settings keeps its secret)."""
    if not stored:
        return list(offered)
    masks = [(masked_url(url), url) for url in stored]

    def original(index: int, url: str) -> str:
        if index < len(masks) and masks[index][0] == url:  # the same place first: two URLs may
            return masks[index][1]  # look alike once masked
        return next((plain for mask, plain in masks if mask == url), url)

    return [original(i, url) for i, url in enumerate(offered)]


def _quiet_asset(apprise: Any) -> Any:
    """No image of any kind: no URL a phone would fetch, no file uploaded with the text."""
    return apprise.AppriseAsset(image_url_mask="", image_url_logo="", image_path_mask=False)


class PhoneNotifier:
    def __init__(self, urls: list[str]) -> None:
        self.configured = False
        self._urls: list[str] = []
        self._by_meaning: dict[str, Any] = {}
        self.reconfigure(urls)

    def reconfigure(self, urls: list[str]) -> None:
        """Notify these URLs from now on (an empty list turns phone notifications off)."""
        self._by_meaning = {}
        if not urls:
            self._urls, self.configured = [], False
            return  # apprise and its ~100 plugins cost ~17 MB of a Pi Zero's memory: load on need
        notifier = self._notifier(urls, GENERAL)
        self._urls, self.configured = list(urls), notifier is not None

    def _notifier(self, urls: Sequence[str], meaning: str) -> Any:
        """An apprise object for ``meaning`` (None if no URL is valid), kept for the next time."""
        if meaning in self._by_meaning:
            return self._by_meaning[meaning]
        import apprise  # noqa: PLC0415

        notifier = apprise.Apprise(asset=_quiet_asset(apprise))
        configured = False
        for url in urls:
            if notifier.add(with_meaning(url, meaning)):
                configured = True
            elif meaning == GENERAL:  # said once, when the URLs are set
                # The URL itself may hold a token: name only its scheme.
                _LOGGER.error(
                    "notification URL with scheme %r is not valid for apprise", url.split(":", 1)[0]
                )
        self._by_meaning[meaning] = notifier if configured else None
        return self._by_meaning[meaning]

    async def notify(self, kind: SignalKind, partner: str) -> bool:
        """Send one notification; True if every configured service accepted it."""
        title, body = MESSAGES[kind]
        return await self.notify_text(
            title.format(partner=partner), body.format(partner=partner), meaning=kind.value
        )

    async def notify_text(self, title: str, body: str, *, meaning: str = GENERAL) -> bool:
        """Send one notification with this title and body; True if every service accepted it."""
        if not self.configured:
            return False
        notifier = self._notifier(self._urls, meaning)
        if notifier is None:
            return False
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races
            # the answer, and the delivery loop would then never stop.
            async with asyncio.timeout(NOTIFY_TIMEOUT_S):
                return bool(await asyncio.to_thread(notifier.notify, body=body, title=title))
        except TimeoutError:
            _LOGGER.warning("phone notification timed out after %.0f s", NOTIFY_TIMEOUT_S)
            return False
