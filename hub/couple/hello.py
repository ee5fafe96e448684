"""The joined hub's first word to the inviting hub: its invite nonce, so the code works once.

``heartline couple join`` leaves the nonce in the data dir; at every start until the inviting hub
answered, the hub queues one hello carrying it (durably, through the relay's outbox; a hello
already waiting is not queued twice). The answer removes the file, accepted or refused: a refused
code will not be accepted later either, and the log says what to do.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hub.couple.invite import NONCE_FILE
from hub.relay.relay import Relay

_LOGGER = logging.getLogger(__name__)
MAX_NONCE_LENGTH = 64


def stored_nonce(data_dir: Path) -> str | None:
    """The nonce of the code this hub joined with, while its hello is unanswered."""
    try:
        nonce = (data_dir / NONCE_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not nonce or len(nonce) > MAX_NONCE_LENGTH:
        _LOGGER.warning("ignoring an unreadable %s in %s", NONCE_FILE, data_dir)
        return None
    return nonce


def queue_hello(relay: Relay, data_dir: Path) -> bool:
    """At hub start: queue the hello if this hub joined with a code not yet answered.
    True if a hello is (now or still) on its way."""
    nonce = stored_nonce(data_dir)
    if nonce is None:
        return False

    def answered(_accepted: bool, _reason: str | None) -> None:
        (data_dir / NONCE_FILE).unlink(missing_ok=True)

    relay.send_hello(nonce, answered=answered)
    return True
