"""End-to-end encrypted envelopes between the partners' hubs (PyNaCl SecretBox).

Wire: ``version u8 (=1) | 24-byte nonce | XSalsa20-Poly1305 ciphertext of a JSON object``.
The broker sees only this opaque blob; names, kinds and times are inside. The JSON carries
``id`` (unique, for de-duplication), ``kind``, ``from`` and ``to`` (hub ids, so a message
cannot be redirected to another hub), ``at`` (ISO time), ``seq`` and a kind-specific ``body``.

A correctly sealed message is still checked as if a stranger wrote it (the partner's hub may be
compromised, buggy or newer): the plaintext's objects and arrays are counted before the JSON
parser recurses into them, numbers must be finite and in range, strings short and encodable,
dates sane, and every field of the right type. Each body is then checked by its kind's schema
(hub.relay.body) before any handler sees it. Every refusal is an EnvelopeError with a stable
reason; nothing else escapes ``open``.
"""

from __future__ import annotations

import json
import math
import re
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
# Objects and arrays in one plaintext (a real one has two: the envelope and its body). Counted
# before parsing, so nesting can never reach the parser's recursion limit.
MAX_CONTAINERS: Final = 16
# Message ids: ours are 24 hex digits, maybe behind a kind's prefix ("hello-", "presence-").
ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_TEXT_LENGTH: Final = 200
MAX_TIME_LENGTH: Final = 40
# A sequence number fits SQLite's INTEGER (signed 64 bits).
MAX_SEQ: Final = 2**63 - 1
# Digits in any JSON integer (2**63 has 19): longer ones are refused before Python builds them.
MAX_INT_DIGITS: Final = 20
# Dates outside these years are a broken or hostile clock, not a message to keep.
EARLIEST_YEAR: Final = 2000
LATEST_YEAR: Final = 2200
_FIELDS: Final = frozenset({"id", "kind", "from", "to", "at", "seq", "body"})
# JSON strings, removed before counting brackets (a "[" inside a string is not a container).
_JSON_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class EnvelopeKind(StrEnum):
    SIGNAL = "signal"  # a touch
    RECEIPT = "receipt"  # the fate of a message we received (or a hello's answer)
    HELLO = "hello"  # a newly joined hub's first message, carrying its invite nonce
    PRESENCE = "presence"  # this home's person at home or away, latest wins
    WEARABLE = "wearable"  # one of this home's person's wearables (address, key), latest wins
    TOUCH = "touch"  # a touch on the partner's wearable heard here (a visit), for their hub to send
    TOGETHER = "together"  # both people at this home from start (to end): a visit, for their stats
    STATUS = "status"  # the sending hub is online (hub.relay.partner_status), latest wins
    # A command the partner's hub sealed for its visiting person's wearable, to write here.
    COMMAND = "command"


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
        return _parse(plaintext, self._hub_id, self._partner)


def _parse(plaintext: bytes, hub_id: str, partner: str) -> Envelope:
    """The envelope in ``plaintext``, every field checked; EnvelopeError with the reason."""
    document = _document(plaintext)
    kind = document["kind"]
    if not isinstance(kind, str) or kind not in _KINDS:
        raise EnvelopeError("unknown_kind")
    message_id, sender, to = (message_id_or_none(document[key]) for key in ("id", "from", "to"))
    if message_id is None or sender is None or to is None:
        raise EnvelopeError("bad_id")
    if to != hub_id or sender != partner:
        raise EnvelopeError("wrong_recipient")
    seq = document["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise EnvelopeError("malformed")
    if not 0 <= seq <= MAX_SEQ:
        raise EnvelopeError("out_of_range")
    at = sane_time(document["at"])
    if at is None:
        raise EnvelopeError("bad_time")
    body = document["body"]
    if not isinstance(body, dict):
        raise EnvelopeError("malformed")
    return Envelope(id=message_id, kind=EnvelopeKind(kind), sender=sender, to=to, at=at, seq=seq, body=body)


def _document(plaintext: bytes) -> dict[str, Any]:
    """The plaintext as a JSON object with exactly the envelope's fields, parsed safely."""
    try:
        text = plaintext.decode("utf-8")  # only UTF-8: the bracket count below relies on it
    except UnicodeDecodeError as ex:
        raise EnvelopeError("malformed") from ex
    stripped = _JSON_STRING.sub("", text)
    if stripped.count("[") + stripped.count("{") > MAX_CONTAINERS:
        raise EnvelopeError("too_deep")
    try:
        document = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_unique_keys,
        )
    except EnvelopeError:
        raise
    except ValueError as ex:
        raise EnvelopeError("malformed") from ex
    if not isinstance(document, dict) or set(document) != _FIELDS:
        raise EnvelopeError("malformed")
    return document


def message_id_or_none(value: object) -> str | None:
    """``value`` if it is a message (or hub) id: 1-64 ASCII letters, digits, ``_.:-``."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return value
    return None


def sane_time(value: object) -> datetime | None:
    """An ISO 8601 time with its offset, in years EARLIEST_YEAR..LATEST_YEAR; None otherwise."""
    if not isinstance(value, str) or len(value) > MAX_TIME_LENGTH:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None or at.utcoffset() is None or not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
        return None
    return at


def _refuse_constant(_name: str) -> float:
    raise EnvelopeError("non_finite")  # NaN, Infinity, -Infinity: not JSON, and never a value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise EnvelopeError("non_finite")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise EnvelopeError("out_of_range")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise EnvelopeError("malformed")  # a repeated key: which one counts is the parser's whim
    return document
