"""The couple's link key: what makes an invite code work once.

An invite code carries the couple key, but that key alone only lets a hub say hello. The code
also carries the public half of an X25519 key the inviting hub made for that one invite (the
private half never leaves the inviting hub's ledger). ``couple join`` makes the joining hub's own
X25519 key and derives the **link key** from the two (and the couple key); the first hello
carries the joining hub's public half, so the inviting hub derives the same link key, once,
before the code's expiry in its own ledger. From then on both hubs seal and open every envelope
with the link key; the couple key opens only a hello (and the refusal of one).

A second device joined with the same code derives a link key of its own that the inviting hub
never learns: its hello is refused and everything else it sends fails to open, and what the
inviting hub sends it cannot read. Hubs configured by hand with a shared couple key (no invite
ever issued, no link file) keep sealing with that key, as before.

The link lives in ``couple_link.json`` in the data dir (0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal

from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import Box, PrivateKey, PublicKey

from hub.couple.ledger import InviteLedger
from hub.errors import EnvelopeError, HeartlineError
from hub.relay.envelope import Envelope, EnvelopeCodec, EnvelopeKind

LINK_FILE: Final = "couple_link.json"
FILE_MODE: Final = 0o600
PUBLIC_BYTES: Final = 32
KEY_BYTES: Final = 32
HELLO_PREFIX: Final = "hello-"  # hello ids are marked (hub.couple.hello routes their receipts)
_PERSON: Final = b"heartline-link"  # BLAKE2b personalisation: this derivation and no other

Role = Literal["inviter", "joiner"]


@dataclass(frozen=True, slots=True)
class CoupleLinkState:
    key: bytes  # the link key, 32 bytes
    role: Role
    nonce: str  # the invite it came from
    public: bytes  # the joining hub's X25519 public key (its hello carries it)
    answer: str | None = None  # joiner: None until the inviting hub answered, then accepted|refused:why

    def __repr__(self) -> str:  # the key never reaches a log
        return f"CoupleLinkState(role={self.role!r}, nonce={self.nonce!r}, answer={self.answer!r})"


def derive_link_key(
    couple_key: bytes, shared: bytes, invite_public: bytes, joiner_public: bytes, nonce: str
) -> bytes:
    """Both hubs' link key: BLAKE2b keyed with the couple key over the X25519 secret and both
    public halves and the invite's nonce."""
    data = shared + invite_public + joiner_public + nonce.encode()
    return blake2b(data, key=couple_key, digest_size=32, person=_PERSON, encoder=RawEncoder)


def joiner_link(couple_key: bytes, invite_public: bytes, nonce: str) -> CoupleLinkState:
    """What ``couple join`` keeps: a fresh X25519 key of the joining hub's own, and the link key.
    The private half is used here and forgotten."""
    own = PrivateKey.generate()
    shared = Box(own, PublicKey(invite_public)).shared_key()
    public = bytes(own.public_key)
    key = derive_link_key(couple_key, shared, invite_public, public, nonce)
    return CoupleLinkState(key=key, role="joiner", nonce=nonce, public=public)


def inviter_link(
    couple_key: bytes, invite_secret: bytes, joiner_public: bytes, nonce: str
) -> CoupleLinkState:
    """The inviting hub's side of the same link, from the first hello."""
    secret = PrivateKey(invite_secret)
    shared = Box(secret, PublicKey(joiner_public)).shared_key()
    key = derive_link_key(couple_key, shared, bytes(secret.public_key), joiner_public, nonce)
    return CoupleLinkState(key=key, role="inviter", nonce=nonce, public=joiner_public)


class LinkFileError(HeartlineError, ValueError):
    """The link file cannot be read; the message says what to do."""


def read_link(data_dir: Path) -> CoupleLinkState | None:
    """The link in ``data_dir`` (None if there is none); LinkFileError if it is unreadable."""
    path = data_dir / LINK_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        role: Role = "inviter" if raw["role"] == "inviter" else "joiner"
        state = CoupleLinkState(
            key=bytes.fromhex(raw["key"]),
            role=role,
            nonce=str(raw["nonce"]),
            public=bytes.fromhex(raw["public"]),
            answer=raw.get("answer"),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as ex:
        raise LinkFileError(
            f"{path} is unreadable ({type(ex).__name__}); ask the partner for a new invite code "
            "and join again with `heartline couple join CODE --force`"
        ) from ex
    if len(state.key) != KEY_BYTES:
        raise LinkFileError(
            f"{path} holds no 32-byte key; join again with `heartline couple join CODE --force`"
        )
    return state


def write_link(data_dir: Path, state: CoupleLinkState) -> None:
    """Atomically, 0600 from the first byte."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {
        "key": state.key.hex(),
        "role": state.role,
        "nonce": state.nonce,
        "public": state.public.hex(),
        "answer": state.answer,
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{LINK_FILE}.", dir=data_dir)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(data_dir / LINK_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_answer(data_dir: Path, answer: str) -> None:
    """The joining hub heard the inviting hub's answer: kept, so the hello is not sent again."""
    state = read_link(data_dir)
    if state is not None:
        write_link(data_dir, replace(state, answer=answer))


class CoupleCodec(EnvelopeCodec):
    """The relay's codec for one hub: the link key once there is one, the couple key for hellos.

    * No link and no invite ever issued (hubs configured by hand): the couple key, every kind.
    * The inviting hub: before the first hello, it seals with the couple key; from its first
      invite on, the couple key opens a hello and nothing else (``not_joined``).
    * Both, once linked: the link key seals and opens everything, but a hello (the joining hub's
      first word) and the refusal of one (a device that never had the link) use the couple key.
    """

    def __init__(self, couple_key: bytes, hub_id: str, partner_hub_id: str, data_dir: Path) -> None:
        super().__init__(couple_key, hub_id, partner_hub_id)
        self._couple_key = couple_key
        self._ids = (hub_id, partner_hub_id)
        self._link: EnvelopeCodec | None = None
        self._ledger = InviteLedger(data_dir)
        self.state = read_link(data_dir)
        if self.state is not None:
            self._link = EnvelopeCodec(self.state.key, hub_id, partner_hub_id)
        self._guarded = self.state is not None and self.state.role == "inviter"

    @property
    def couple_key(self) -> bytes:
        return self._couple_key

    def linked(self, state: CoupleLinkState) -> None:
        """Use this link from now on (the inviting hub accepted a hello)."""
        self.state = state
        self._link = EnvelopeCodec(state.key, *self._ids)
        self._guarded = self._guarded or state.role == "inviter"

    @property
    def guarded(self) -> bool:
        """True once this hub issued an invite (``couple invite`` may run while the hub runs, so
        the ledger is looked at until then): the couple key then opens hellos only."""
        if not self._guarded and self._ledger.any():
            self._guarded = True
        return self._guarded

    def seal(self, envelope: Envelope) -> bytes:
        if self._link is None or _under_couple_key(envelope):
            return super().seal(envelope)
        return self._link.seal(envelope)

    def open(self, payload: bytes) -> Envelope:
        if self._link is not None:
            try:
                return self._link.open(payload)
            except EnvelopeError as ex:
                if ex.reason != "bad_key_or_tampered":
                    raise
        envelope = super().open(payload)
        if envelope.kind is not EnvelopeKind.HELLO and self.guarded:
            # Sealed with the code's couple key, not the link: a device joined with a used or
            # expired code, or one that never said hello.
            raise EnvelopeError("not_joined")
        return envelope


def _under_couple_key(envelope: Envelope) -> bool:
    if envelope.kind is EnvelopeKind.HELLO:
        return True
    body = envelope.body
    return (
        envelope.kind is EnvelopeKind.RECEIPT
        and str(body.get("ref", "")).startswith(HELLO_PREFIX)
        and body.get("fate") == "failed"
    )
