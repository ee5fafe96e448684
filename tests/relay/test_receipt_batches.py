"""Receipts answering many messages at once (``also``): a burst's fates with the same answer leave
the receiver as one envelope, the sender applies every id in it, and a hostile list is refused.

Both sides run the hub's real couple link on an ``OfflineLink`` (tests.relay.hostile): the
receiver is fed sealed signals in one batch, and what it queued for the sender is read back from
its outbox and opened with the couple's codec."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nacl.secret import SecretBox

from hub.events import Direction, Fate, SignalKind
from hub.relay.envelope import Envelope, EnvelopeKind
from hub.store.signals import SignalLog
from tests.relay.hostile import KEY, RECIPIENT, SENDER, Receiver, genuine, inbound, message_id, receiving_hub
from tests.support.waiting import eventually

BURST = 10


def _receipts_queued(hub: Receiver) -> list[dict[str, Any]]:
    """The receipt documents in the hub's outbox, decrypted with the couple key."""
    rows = hub.db.connection.execute("SELECT payload FROM outbox ORDER BY rowid").fetchall()
    documents = [json.loads(SecretBox(KEY).decrypt(bytes(row["payload"])[1:])) for row in rows]
    return [doc for doc in documents if doc["kind"] == EnvelopeKind.RECEIPT.value]


async def test_a_burst_of_deliveries_is_answered_by_one_receipt(tmp_path: Path) -> None:
    async with receiving_hub(tmp_path) as hub:
        hub.couple.relay.receive([inbound(genuine(i), mid=i + 1) for i in range(BURST)])
        signals = SignalLog(hub.db)
        ids = [message_id(i) for i in range(BURST)]

        def all_delivered() -> bool:
            return all((s := signals.get(i)) is not None and s.fate is Fate.DELIVERED for i in ids)

        await eventually(all_delivered, what="the burst delivered")
        receipts = await eventually(lambda: _receipts_queued(hub), what="the burst's receipt queued")
        assert len(receipts) == 1, receipts
        body = receipts[0]["body"]
        assert [body["ref"], *body["also"]] == ids  # every message answered, in order
        assert (body["fate"], body["channel"]) == ("delivered", "button")
        assert hub.link.acked == BURST


def _receipt(hub: Receiver, refs: Sequence[object], seq: int) -> bytes:
    """A receipt from the partner (SENDER) for this hub's messages, sealed with the couple key."""
    envelope = Envelope(
        id=f"r{seq:023x}",
        kind=EnvelopeKind.RECEIPT,
        sender=SENDER,
        to=RECIPIENT,
        at=datetime.now(UTC),
        seq=seq,
        body={
            "ref": refs[0],
            "also": list(refs[1:]),
            "fate": "delivered",
            "channel": "button",
            "reason": None,
        },
    )
    return hub.couple.relay._codec.seal(envelope)


async def test_the_sender_applies_every_id_and_refuses_a_hostile_list(tmp_path: Path) -> None:
    async with receiving_hub(tmp_path) as hub:
        sent = [hub.couple.composer.send(SignalKind.THINKING_OF_YOU) for _ in range(3)]
        signals = SignalLog(hub.db)
        relay = hub.couple.relay
        # Too many ids, or one that is not an id: refused whole, nothing applied.
        too_many = [sent[0].id, *(f"x{i:023x}" for i in range(101))]
        relay.receive([inbound(_receipt(hub, too_many, 1), mid=1)])
        relay.receive([inbound(_receipt(hub, [sent[0].id, 5], 2), mid=2)])
        assert all(signals.get(s.id).fate is not Fate.DELIVERED for s in sent)  # type: ignore[union-attr]
        assert relay.rejected == {"bad_receipt": 2}
        # A genuine one, with an id this hub never sent and one repeated: each of ours applied once.
        unknown = "u" * 24
        relay.receive(
            [inbound(_receipt(hub, [sent[0].id, sent[1].id, unknown, sent[2].id, sent[1].id], 3), mid=3)]
        )
        for record in sent:
            now = signals.get(record.id)
            assert now is not None
            assert now.direction is Direction.SENT
            assert (now.fate, now.channel and now.channel.value) == (Fate.DELIVERED, "button")
        assert relay.rejected == {"bad_receipt": 3}  # the two refused, and the unknown id
        assert relay.outbox_depth == 0  # every signal left the outbox with its receipt
