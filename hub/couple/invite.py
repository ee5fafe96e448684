"""The invite code: the partner hub's relay settings, sealed and with an expiry inside.

Code = ``HL1-`` + base32(32-byte code key | SecretBox(code key) of a JSON document). The code
is the secret, so show it only to the partner (it holds the couple key). The expiry and the
nonce are inside the authenticated box: a code cannot be edited to live longer, and the
nonce lets the inviting hub recognise (and refuse) a code used a second time.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from hub.errors import HeartlineError

PREFIX: Final = "HL1-"
DEFAULT_LIFETIME: Final = timedelta(hours=24)
KEY_BYTES: Final = SecretBox.KEY_SIZE
# In the joined hub's data dir until the inviting hub answered its hello (hub.couple.hello).
NONCE_FILE: Final = "invite_nonce"


class InviteError(HeartlineError, ValueError):
    """An invite code is malformed, tampered with, expired or already used. ``reason`` is stable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"invite code {reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Invite:
    broker: str
    couple_id: str
    inviter_hub_id: str
    joiner_hub_id: str
    couple_key: str  # 64 hex
    joiner_password: str
    expires_at: datetime
    nonce: str

    @classmethod
    def new(
        cls,
        *,
        broker: str,
        couple_id: str,
        inviter_hub_id: str,
        joiner_hub_id: str,
        couple_key: str,
        joiner_password: str,
        now: datetime,
        lifetime: timedelta = DEFAULT_LIFETIME,
    ) -> Invite:
        return cls(
            broker=broker,
            couple_id=couple_id,
            inviter_hub_id=inviter_hub_id,
            joiner_hub_id=joiner_hub_id,
            couple_key=couple_key,
            joiner_password=joiner_password,
            expires_at=now + lifetime,
            nonce=secrets.token_hex(8),
        )


def encode(invite: Invite) -> str:
    key = secrets.token_bytes(KEY_BYTES)
    document = {
        "broker": invite.broker,
        "couple": invite.couple_id,
        "inviter": invite.inviter_hub_id,
        "joiner": invite.joiner_hub_id,
        "key": invite.couple_key,
        "password": invite.joiner_password,
        "expires": invite.expires_at.isoformat(),
        "nonce": invite.nonce,
    }
    sealed = bytes(SecretBox(key).encrypt(json.dumps(document, separators=(",", ":")).encode()))
    text = base64.b32encode(key + sealed).decode().rstrip("=")
    # Groups of five are easier to read aloud or type from a phone.
    return PREFIX + "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def decode(code: str, now: datetime) -> Invite:
    """Open a code; InviteError if it is not one of ours, was altered, or has expired."""
    text = "".join(code.split()).upper().replace("-", "").removeprefix(PREFIX.rstrip("-"))
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError as ex:
        raise InviteError("malformed", "not a Heartline invite code; copy it again") from ex
    if len(raw) <= KEY_BYTES + SecretBox.NONCE_SIZE + SecretBox.MACBYTES:
        raise InviteError("malformed", "too short; copy the whole code")
    try:
        plaintext = SecretBox(raw[:KEY_BYTES]).decrypt(raw[KEY_BYTES:])
        document = json.loads(plaintext)
        invite = Invite(
            broker=str(document["broker"]),
            couple_id=str(document["couple"]),
            inviter_hub_id=str(document["inviter"]),
            joiner_hub_id=str(document["joiner"]),
            couple_key=str(document["key"]),
            joiner_password=str(document["password"]),
            expires_at=datetime.fromisoformat(str(document["expires"])),
            nonce=str(document["nonce"]),
        )
    except CryptoError as ex:
        raise InviteError("tampered", "it was changed after it was made; ask for a new one") from ex
    except (ValueError, KeyError, TypeError) as ex:
        raise InviteError("malformed", "its contents are not an invite; ask for a new one") from ex
    if now >= invite.expires_at:
        when = f"{invite.expires_at:%Y-%m-%d %H:%M %Z}"
        raise InviteError("expired", f"it expired at {when}; ask for a new one")
    return invite
