"""The inviting hub's record of invite codes: issued, and redeemed at most once."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from hub.couple.invite import Invite, InviteError

LEDGER_FILE = "invites.json"


class InviteLedger:
    """A small JSON file beside the hub's database (the CLI runs without the daemon)."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LEDGER_FILE

    def _load(self) -> dict[str, dict[str, str | None]]:
        try:
            data: dict[str, dict[str, str | None]] = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def _save(self, data: dict[str, dict[str, str | None]]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(self._path)

    def issued(self, invite: Invite) -> None:
        data = self._load()
        data[invite.nonce] = {"expires": invite.expires_at.isoformat(), "used": None}
        self._save(data)

    def redeem(self, nonce: str, now: datetime, *, by: str | None = None) -> None:
        """Mark a code used (when the partner's hub first says hello with its nonce). ``by``: the
        hello's message id; the same hello redeeming again (its first answer was never stored,
        e.g. the hub stopped in between) is not a second use."""
        data = self._load()
        entry = data.get(nonce)
        if entry is None:
            raise InviteError("unknown", "this hub never issued that code")
        if entry["used"] is not None and by is not None and entry.get("by") == by:
            return
        if entry["used"] is not None:
            raise InviteError("used", f"it was already used at {entry['used']}")
        if now >= datetime.fromisoformat(str(entry["expires"])):
            raise InviteError("expired", "it expired before it was used")
        entry["used"] = now.isoformat()
        entry["by"] = by
        self._save(data)

    def redeemed_by(self, message_id: str) -> bool:
        """True if the hello with this message id redeemed a code."""
        return any(entry.get("by") == message_id for entry in self._load().values())
