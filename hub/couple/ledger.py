"""The inviting hub's record of invite codes: issued, and redeemed at most once, before expiry.

Each entry keeps the private half of the invite's X25519 key (hub.couple.link) until the code
is used: the code alone cannot make a link, and this record, not the code, says when the code
expires and whether it was used.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.couple.invite import InviteError

if TYPE_CHECKING:
    from hub.couple.invite import Invite

LEDGER_FILE: Final = "invites.json"
FILE_MODE: Final = 0o600

Entry = dict[str, str | None]


class InviteLedger:
    """A small JSON file beside the hub's database (the CLI runs without the daemon)."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LEDGER_FILE

    def _load(self) -> dict[str, Entry]:
        try:
            data: dict[str, Entry] = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def _save(self, data: dict[str, Entry]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{self._path.name}.", dir=self._path.parent)
        try:
            os.fchmod(fd, FILE_MODE)  # private from the first byte: it holds invite secrets
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            Path(tmp).replace(self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def any(self) -> bool:
        """True once this hub issued an invite: the couple key then opens hellos only."""
        return self._path.exists() and bool(self._load())  # asked per message: no file, no read

    def issued(self, invite: Invite, secret: bytes) -> None:
        """Record a new code with the private half of its X25519 key."""
        data = self._load()
        data[invite.nonce] = {
            "expires": invite.expires_at.isoformat(),
            "used": None,
            "by": None,
            "secret": secret.hex(),
        }
        self._save(data)

    def check(self, nonce: str, now: datetime, *, by: str | None = None) -> bytes | None:
        """The invite's secret if the code may be redeemed now; None if ``by`` (a hello's message
        id) already redeemed it (the same hello again is not a second use). InviteError otherwise."""
        entry = self._load().get(nonce)
        if entry is None:
            raise InviteError("unknown", "this hub never issued that code")
        if entry["used"] is not None:
            if by is not None and entry.get("by") == by:
                return None
            raise InviteError("used", f"it was already used at {entry['used']}")
        if now >= datetime.fromisoformat(str(entry["expires"])):
            raise InviteError("expired", "it expired before it was used")
        secret = entry.get("secret")
        if not secret:
            raise InviteError("unknown", "this hub keeps no secret for that code")
        return bytes.fromhex(secret)

    def redeem(self, nonce: str, now: datetime, *, by: str | None = None) -> None:
        """Mark a code used (checked as by :meth:`check`) and forget its secret."""
        if self.check(nonce, now, by=by) is None:
            return
        data = self._load()
        data[nonce].update(used=now.isoformat(), by=by, secret=None)
        self._save(data)

    def redeemed_by(self, message_id: str) -> bool:
        """True if the hello with this message id redeemed a code."""
        return any(entry.get("by") == message_id for entry in self._load().values())
