"""Poison messages: counted by reason, logged once, then summarised at most once a minute.

A hostile or broken partner hub can send the same bad message thousands of times (or thousands
of different ones); each is acknowledged and counted (``Relay.rejected``, shown as
``relay_<reason>`` in /api/health and /metrics), and the log gets the first of each reason and
then one line per reason per LOG_EVERY_S saying how many more there were, so a flood never
floods the journal.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

_LOGGER = logging.getLogger("hub.relay.relay")

LOG_EVERY_S: Final = 60.0


@dataclass(slots=True)
class _Quiet:
    logged_at: float
    unlogged: int = 0


class PoisonLog:
    """Counts refusals into ``counter`` and logs them without flooding."""

    def __init__(self, counter: Counter[str], monotonic: Callable[[], float]) -> None:
        self._counter = counter
        self._monotonic = monotonic
        self._quiet: dict[str, _Quiet] = {}
        self.lines = 0  # log lines written (a test reads it; the journal is the real reader)

    def refused(
        self, reason: str, where: str, detail: str = "", *, error: BaseException | None = None
    ) -> None:
        """One message refused for ``reason`` (counted); logged if this reason is due a line."""
        self._counter[reason] += 1
        more = self.due(reason)
        if more is None:
            return
        suffix = f": {detail}" if detail else ""
        _LOGGER.warning(
            "refused a relay message on %s (%s%s); acknowledged and dropped%s; the same reason is "
            "logged at most once a minute, every one is counted as relay_%s",
            where,
            reason,
            suffix,
            more,
            reason,
            exc_info=error,
        )

    def due(self, reason: str) -> str | None:
        """None if ``reason`` was logged less than LOG_EVERY_S ago (this one is then only counted);
        otherwise the text to append to its line: how many went unlogged since the last one."""
        now = self._monotonic()
        quiet = self._quiet.get(reason)
        if quiet is not None and now - quiet.logged_at < LOG_EVERY_S:
            quiet.unlogged += 1
            return None
        self._quiet[reason] = _Quiet(now)
        self.lines += 1
        return f" ({quiet.unlogged} more since the last line)" if quiet is not None and quiet.unlogged else ""
