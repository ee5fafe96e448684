"""End-to-end encrypted envelopes between the partners' hubs (PyNaCl SecretBox).

Wire: ``version u8 (=1) | 24-byte nonce | XSalsa20-Poly1305 ciphertext of a JSON object``.
The broker sees only this opaque blob; names, kinds and times are inside. The JSON carries
``id`` (unique, for de-duplication), ``kind``, ``from`` and ``to`` (hub ids, so a message
cannot be redirected to another hub), ``at`` (ISO time), ``seq`` and a kind-specific ``body``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from hub.errors import EnvelopeError

VERSION: Final = 1
# Far above any real envelope (a few hundred bytes); checked before any decryption work.
MAX_ENVELOPE_BYTES: Final = 4096


class EnvelopeKind(StrEnum):
    SIGNAL = "signal"  # a touch
    RECEIPT = "receipt"  # the fate of a message we received (or a hello's answer)
    HELLO = "hello"  # a newly joined hub's first message, carrying its invite nonce
    PRESENCE = "presence"  # this home's person at home or away, latest wins


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    kind: EnvelopeKind
    sender: str  # hub id
    to: str  # hub id
    at: datetime
    seq: int
    body: Mapping[str, Any] = field(default_factory=dict)


_KINDS: Final = frozenset(kind.value for kind in EnvelopeKind)


def new_message_id() -> str:
    return secrets.token_hex(12)


class EnvelopeCodec:
    """Seals and opens envelopes for one hub with the couple's 32-byte key."""

    def __init__(self, key: bytes, hub_id: str, partner_hub_id: str) -> None:
        self._box = SecretBox(key)
        self._hub_id = hub_id
        self._partner = partner_hub_id

    def seal(self, envelope: Envelope) -> bytes:
        document = {
            "id": envelope.id,
            "kind": envelope.kind.value,
            "from": envelope.sender,
            "to": envelope.to,
            "at": envelope.at.isoformat(),
            "seq": envelope.seq,
            "body": envelope.body,
        }
        plaintext = json.dumps(document, separators=(",", ":")).encode()
        return bytes((VERSION,)) + bytes(self._box.encrypt(plaintext))

    def open(self, payload: bytes) -> Envelope:
        """Open a payload from the partner; EnvelopeError with a stable reason otherwise."""
        if len(payload) > MAX_ENVELOPE_BYTES:
            raise EnvelopeError("oversized")
        if len(payload) < 1 + SecretBox.NONCE_SIZE + SecretBox.MACBYTES or payload[0] != VERSION:
            raise EnvelopeError("malformed")
        try:
            plaintext = self._box.decrypt(payload[1:])
        except CryptoError as ex:
            raise EnvelopeError("bad_key_or_tampered") from ex
        try:
            document = json.loads(plaintext)
            kind = _text(document["kind"])
            fields = (
                _text(document["id"]),
                _text(document["from"]),
                _text(document["to"]),
                datetime.fromisoformat(_text(document["at"])),
                int(document["seq"]),
                dict(document["body"]),
            )
        except (ValueError, KeyError, TypeError) as ex:
            raise EnvelopeError("malformed") from ex
        if kind not in _KINDS:
            raise EnvelopeError("unknown_kind")
        message_id, sender, to, at, seq, body = fields
        envelope = Envelope(
            id=message_id, kind=EnvelopeKind(kind), sender=sender, to=to, at=at, seq=seq, body=body
        )
        if envelope.to != self._hub_id or envelope.sender != self._partner:
            raise EnvelopeError("wrong_recipient")
        if envelope.at.tzinfo is None:
            raise EnvelopeError("malformed")
        return envelope


def _text(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise ValueError("expected a short non-empty string")
    return value
