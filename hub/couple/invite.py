"""The invite code: the partner hub's relay settings and the public half of a one-time key.

Code = ``HL2-`` + base32(32-byte code key | SecretBox(code key) of zlib(couple key (32 bytes) |
invite public key (32 bytes, X25519) | CA length (2 bytes) | the relay CA certificate, DER | a
JSON document)). The JSON document holds the broker, ids, the joining hub's password, both
partners' names, the expiry and a nonce. The box only catches a code copied wrong: its key is
in the code. What makes a code work once and expire is on the inviting hub (hub.couple.ledger,
hub.couple.link): the private half of the invite's key, the expiry that counts and whether the
code was used are in its own record, so a code edited to live longer, or used a second time,
cannot make the link every signal travels under. Share the code only with the partner all the
same (it holds the partner hub's relay login). Base32 keeps to QR's alphanumeric alphabet, so
the code fits one QR a terminal can show.
"""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from hub.errors import HeartlineError

PREFIX: Final = "HL2-"
OLD_PREFIXES: Final = ("HL1",)  # codes of an older heartline: the partner needs a new one
_LENGTH_BYTES: Final = 2
DEFAULT_LIFETIME: Final = timedelta(hours=24)
KEY_BYTES: Final = SecretBox.KEY_SIZE
PUBLIC_BYTES: Final = 32  # an X25519 public key


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
    # The public half of the X25519 key the inviting hub made for this code (hub.couple.link).
    invite_public: bytes
    # The relay's CA certificate (DER), written beside the joining hub's config; None when the
    # inviting hub trusts the system's CAs for its broker.
    ca_der: bytes | None = None
    inviter_person: str = ""  # the joining hub's partner
    joiner_person: str = ""  # who lives in the joining home, as the inviting hub knows them

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
        invite_public: bytes,
        now: datetime,
        lifetime: timedelta = DEFAULT_LIFETIME,
        ca_der: bytes | None = None,
        inviter_person: str = "",
        joiner_person: str = "",
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
            invite_public=invite_public,
            ca_der=ca_der,
            inviter_person=inviter_person,
            joiner_person=joiner_person,
        )


def encode(invite: Invite) -> str:
    key = secrets.token_bytes(KEY_BYTES)
    document = {  # short names: every byte makes the QR bigger
        "b": invite.broker,
        "c": invite.couple_id,
        "i": invite.inviter_hub_id,
        "j": invite.joiner_hub_id,
        "p": invite.joiner_password,
        "e": invite.expires_at.isoformat(),
        "n": invite.nonce,
        "ip": invite.inviter_person,
        "jp": invite.joiner_person,
    }
    ca = invite.ca_der or b""
    body = (
        bytes.fromhex(invite.couple_key)
        + invite.invite_public
        + len(ca).to_bytes(_LENGTH_BYTES, "big")
        + ca
        + json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    )
    sealed = bytes(SecretBox(key).encrypt(zlib.compress(body, 9)))
    text = base64.b32encode(key + sealed).decode().rstrip("=")
    # Groups of five are easier to read aloud or type from a phone.
    return PREFIX + "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def _unpack(body: bytes) -> Invite:
    couple_key, rest = body[:KEY_BYTES], body[KEY_BYTES:]
    invite_public, rest = rest[:PUBLIC_BYTES], rest[PUBLIC_BYTES:]
    ca_length = int.from_bytes(rest[:_LENGTH_BYTES], "big")
    ca, rest = rest[_LENGTH_BYTES : _LENGTH_BYTES + ca_length], rest[_LENGTH_BYTES + ca_length :]
    if len(couple_key) != KEY_BYTES or len(invite_public) != PUBLIC_BYTES or len(ca) != ca_length:
        raise ValueError("truncated")
    document = json.loads(rest.decode("utf-8"))
    return Invite(
        broker=str(document["b"]),
        couple_id=str(document["c"]),
        inviter_hub_id=str(document["i"]),
        joiner_hub_id=str(document["j"]),
        couple_key=couple_key.hex(),
        joiner_password=str(document["p"]),
        expires_at=datetime.fromisoformat(str(document["e"])),
        nonce=str(document["n"]),
        invite_public=invite_public,
        ca_der=ca or None,
        inviter_person=str(document["ip"]),
        joiner_person=str(document["jp"]),
    )


def decode(code: str, now: datetime) -> Invite:
    """Open a code; InviteError if it is not one of ours, was altered, or says it has expired
    (the inviting hub checks again against its own record: that check is the one that counts)."""
    text = "".join(code.split()).upper().replace("-", "")
    if text.startswith(OLD_PREFIXES):
        raise InviteError("outdated", "it was made by an older heartline; ask for a new one")
    text = text.removeprefix(PREFIX.rstrip("-"))
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError as ex:
        raise InviteError("malformed", "not a Heartline invite code; copy it again") from ex
    if len(raw) <= KEY_BYTES + SecretBox.NONCE_SIZE + SecretBox.MACBYTES:
        raise InviteError("malformed", "too short; copy the whole code")
    try:
        invite = _unpack(zlib.decompress(SecretBox(raw[:KEY_BYTES]).decrypt(raw[KEY_BYTES:])))
    except CryptoError as ex:
        raise InviteError("tampered", "it was changed after it was made; ask for a new one") from ex
    except (ValueError, KeyError, TypeError, zlib.error) as ex:
        raise InviteError("malformed", "its contents are not an invite; ask for a new one") from ex
    if now >= invite.expires_at:
        when = f"{invite.expires_at:%Y-%m-%d %H:%M %Z}"
        raise InviteError("expired", f"it expired at {when}; ask for a new one")
    return invite
