"""Correctly sealed, hostile envelopes: what a compromised or broken partner hub could send.

Every payload here is sealed with the couple's real key, so it passes decryption and only the
envelope's own checks stand between it and the handlers. ``hostile(rng)`` draws one from every
family (random JSON, a valid envelope with one field made hostile, deep nesting, huge strings,
non-finite and out-of-range numbers, bad dates, lone surrogates, unknown kinds, duplicate keys,
not JSON at all); ``genuine(i)`` is a valid signal for the baseline. A ``Relay`` with
``OfflineLink`` runs the hub's real decode, schema and dispatch path with no broker: the link
only records what the relay acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from nacl.secret import SecretBox

from hub.app.couple_link import CoupleLink, open_couple_link
from hub.broker.config import inbox_topic
from hub.bus import UpdateBus
from hub.clock import SystemClock
from hub.config import parse_config
from hub.delivery.router import Outcome, Waiting
from hub.events import DEFAULT_GESTURE_MEANINGS, Channel, Fate, SignalKind, SignalRecord
from hub.heartbeats import Heartbeats
from hub.relay.envelope import VERSION
from hub.relay.mqtt_link import Inbound, MqttLink
from hub.store.database import Database, open_database
from hub.store.signals import SignalLog
from hub.tasks import running
from tests.support.homes import COUPLE_KEY
from tests.support.mosquitto import COUPLE

SENDER, RECIPIENT = COUPLE.hubs
KEY: Final = bytes.fromhex(COUPLE_KEY)
AT: Final = "2026-02-14T08:00:00+00:00"
# The three envelopes that crash-looped a hub before the envelope schema existed.
CRASHERS: Final = {
    "non_finite": '{"id":"x1","kind":"signal","from":"%s","to":"%s","at":"%s","seq":Infinity,"body":{}}',
    "out_of_range": '{"id":"x2","kind":"signal","from":"%s","to":"%s","at":"%s","seq":18446744073709551616,'
    '"body":{"signal":"thinking_of_you"}}',
    "too_deep": '{"id":"x3","kind":"signal","from":"%s","to":"%s","at":"%s","seq":1,"body":{"a":'
    + "[" * 1500
    + "]" * 1500
    + "}}",
}
_BOX: Final = SecretBox(KEY)


def seal(plaintext: str | bytes) -> bytes:
    data = plaintext.encode("utf-8", "surrogatepass") if isinstance(plaintext, str) else plaintext
    return bytes((VERSION,)) + bytes(_BOX.encrypt(data))


def crasher(reason: str) -> bytes:
    return seal(CRASHERS[reason] % (SENDER, RECIPIENT, AT))


def message_id(index: int) -> str:
    return f"m{index:023x}"


def document(index: int, kind: str = "signal", body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": message_id(index),
        "kind": kind,
        "from": SENDER,
        "to": RECIPIENT,
        "at": AT,
        "seq": index + 1,
        "body": {"signal": "thinking_of_you", "person": "Alex"} if body is None else body,
    }


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def genuine(index: int) -> bytes:
    return seal(_dumps(document(index)))


_BODIES: Final[dict[str, dict[str, Any]]] = {
    "signal": {"signal": "celebrate", "person": "Alex", "felt": "m1"},
    "receipt": {"ref": "m1", "fate": "delivered", "channel": "button", "reason": None},
    "hello": {"nonce": "n" * 32},
    "presence": {"person": "Alex", "present": True, "since": AT},
}
_HOSTILE_VALUES: Final[tuple[str, ...]] = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "18446744073709551616",
    "-1",
    "9" * 400,
    "0.5",
    "true",
    "null",
    "[]",
    "{}",
    '""',
    '"\\ud800"',
    '"\\udfff tail"',
    '"0001-01-01T00:00:00+00:00"',
    '"9999-12-31T23:59:59-23:59"',
    '"2026-02-14T08:00:00"',
    '"yesterday"',
    '"2026-02-14T08:00:00+25:00"',
    '"' + "x" * 3000 + '"',
    '"ping"',
)


def _random_json(rng: random.Random, depth: int = 0) -> str:  # noqa: PLR0911 - one return per shape
    roll = rng.randrange(10 if depth < 4 else 6)
    if roll == 0:
        return str(rng.choice((0, 1, -1, 2**31, 2**63, 2**64, -(2**70))))
    if roll == 1:
        return repr(rng.uniform(-1e308, 1e308))
    if roll == 2:
        return rng.choice(_HOSTILE_VALUES)
    if roll == 3:
        return json.dumps("".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12))))
    if roll == 4:
        return rng.choice(("true", "false", "null"))
    if roll == 5:
        return json.dumps(rng.choice(("signal", "receipt", "hello", "presence", "kiss", SENDER, RECIPIENT)))
    if roll < 8:
        return "[" + ",".join(_random_json(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"
    keys = ("id", "kind", "from", "to", "at", "seq", "body", "signal", "ref", "fate", "nonce", "person")
    items = (
        f"{json.dumps(rng.choice(keys))}:{_random_json(rng, depth + 1)}" for _ in range(rng.randrange(5))
    )
    return "{" + ",".join(items) + "}"


def _one_field_hostile(rng: random.Random, index: int) -> str:
    kind = rng.choice(tuple(_BODIES))
    doc = document(index, kind, dict(_BODIES[kind]))
    marker = "\x00HOSTILE\x00"
    if rng.random() < 0.5:
        doc[rng.choice(tuple(doc))] = marker
    else:
        body_key = rng.choice((*doc["body"], "extra"))
        doc["body"][body_key] = marker
    return _dumps(doc).replace(json.dumps(marker), rng.choice(_HOSTILE_VALUES))


def hostile(rng: random.Random, index: int) -> bytes:
    """One sealed hostile envelope (``index`` keeps its id unique where it has one)."""
    family = rng.randrange(8)
    if family == 0:
        text = _random_json(rng)
    elif family in (1, 2, 3):
        text = _one_field_hostile(rng, index)
    elif family == 4:
        depth = rng.choice((17, 100, 1500, 5000))
        opener, closer = rng.choice((("[", "]"), ('{"a":', "}")))
        text = _dumps(document(index)).replace(
            '"body":{', '"body":{"deep":' + opener * depth + closer * depth + ","
        )
    elif family == 5:
        doc = document(index, rng.choice(("kiss", "", "SIGNAL", "receipt ")))
        text = _dumps(doc)
    elif family == 6:
        valid = _dumps(document(index))
        text = rng.choice((valid[: rng.randrange(len(valid))], valid.replace('"seq"', '"seq":1,"seq"', 1)))
    else:
        return seal(rng.randbytes(rng.randrange(0, 400)))
    return seal(text)


class OfflineLink(MqttLink):
    """The hub's MQTT link that never connects: the relay's input is handed in by the caller,
    and acknowledgements are recorded (``acked``) instead of sent to a broker."""

    acked = 0
    acked_mids: tuple[int, ...] = ()  # in the order acknowledged

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._client._reset_sockets(sockpair_only=True)

    def ack(self, message: Inbound) -> None:
        self.acked += 1
        self.acked_mids = (*self.acked_mids, message.mid)


def inbound(payload: bytes, mid: int = 1) -> Inbound:
    return Inbound(topic=inbox_topic(COUPLE.couple_id, RECIPIENT), payload=payload, mid=mid, qos=1)


class _Reached:
    """Delivery's way to the person: everything reached at once (counted, nothing shown)."""

    def __init__(self) -> None:
        self.reached = 0

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome:
        del signal, look, waiting
        self.reached += 1
        return Outcome(Fate.DELIVERED, Channel.BUTTON, None)

    async def deliver_summary(self, signals: Sequence[SignalRecord], why: str) -> Outcome:
        del signals, why
        return Outcome(Fate.DELIVERED, Channel.BUTTON, None)


@dataclass(frozen=True, slots=True)
class Receiver:
    couple: CoupleLink
    link: OfflineLink
    db: Database

    def stored(self, index: int) -> bool:
        """The genuine signal ``index`` was stored as received."""
        return SignalLog(self.db).get(message_id(index)) is not None


@contextlib.asynccontextmanager
async def receiving_hub(data_dir: Path) -> AsyncIterator[Receiver]:
    """The recipient hub's couple link (``open_couple_link``: relay, the three kinds, delivery,
    its SQLite database) running on an OfflineLink: feed ``link.messages`` or call
    ``couple.relay.receive`` with sealed payloads."""
    config = parse_config(
        {
            "hub": {"person": "Sam", "partner": "Alex", "data_dir": str(data_dir)},
            "relay": {
                "broker": "mqtt://127.0.0.1:9",  # never dialled
                "hub_id": RECIPIENT,
                "partner_hub_id": SENDER,
                "couple_id": COUPLE.couple_id,
                "couple_key": COUPLE_KEY,
                "password": "unused",
            },
            "delivery": {"max_per_minute": 600},
        },
        "fuzz",
    )
    with contextlib.closing(open_database(data_dir)) as db:
        async with (
            open_couple_link(
                config,
                db,
                SystemClock(),
                UpdateBus(),
                Heartbeats(),
                reach=_Reached(),
                meanings=lambda: DEFAULT_GESTURE_MEANINGS,
                quiet=None,
                link_factory=OfflineLink,
            ) as couple,
            running(couple),
        ):
            assert isinstance(couple.link, OfflineLink)
            yield Receiver(couple, couple.link, db)
