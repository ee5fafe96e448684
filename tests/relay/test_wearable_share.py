"""The people's wearables shared over the real relay: registered at the partner's hub as the
partner's, removed when unshared, and a claim on this home's own button refused and counted."""

from __future__ import annotations

from pathlib import Path

from hub.presence.wearables import WearableExchange, WearableSharer
from hub.store.buttons import ButtonRegistry
from tests.relay.node import describe, started_pair
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually

SAM_WEARABLE = ("C0:FF:EE:00:00:0B", bytes.fromhex("f0e0d0c0b0a090807060504030201000"))
ALEX_BUTTON = ("C0:FF:EE:00:00:0A", bytes.fromhex("000102030405060708090a0b0c0d0e0f"))


async def test_a_wearable_is_shared_registered_as_the_partners_and_unshared(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    alex, sam = await started_pair(mosquitto_broker, tmp_path)
    changes: list[str] = []
    WearableExchange(
        relay=alex.relay, db=alex.db, person="Alex", partner="Sam", changed=lambda: changes.append("a")
    )
    sam_side = WearableExchange(
        relay=sam.relay, db=sam.db, person="Sam", partner="Alex", changed=lambda: None
    )
    sharer = WearableSharer(sam_side, sam.db, "Sam")
    sams = ButtonRegistry(sam.db)
    alexs = ButtonRegistry(alex.db)
    alexs.upsert(ALEX_BUTTON[0], "heartline", ALEX_BUTTON[1], "Alex")
    with sam.db.transaction():
        sams.upsert(SAM_WEARABLE[0], "heartline", SAM_WEARABLE[1], "Sam")
    assert sharer.tick() == 1
    assert sharer.tick() == 0  # nothing changed: nothing sent

    known = await eventually(
        lambda: alexs.by_address(SAM_WEARABLE[0]), what=f"Sam's wearable; {describe(alex)}"
    )
    assert (known.owner, known.key, known.kind) == ("Sam", SAM_WEARABLE[1], "heartline")
    await eventually(lambda: changes, what="Alex's hub told of the change")

    # Sam's hub claims Alex's own button: refused at Alex's hub, counted, Alex's key kept.
    with sam.db.transaction():
        sams.upsert(ALEX_BUTTON[0], "heartline", bytes(16), "Sam")
    assert sharer.tick() == 1
    await eventually(lambda: alex.relay.rejected.get("wearable_conflict"), what="the claim refused")
    alex_button = alexs.by_address(ALEX_BUTTON[0])
    assert alex_button is not None
    assert (alex_button.owner, alex_button.key) == ("Alex", ALEX_BUTTON[1])

    # Removed at Sam's hub: forgotten at Alex's.
    record = sams.by_address(SAM_WEARABLE[0])
    assert record is not None
    with sam.db.transaction():
        sams.remove(record.id)
    assert sharer.tick() == 1
    await eventually(lambda: alexs.by_address(SAM_WEARABLE[0]) is None, what="Sam's wearable forgotten")
    await alex.stop()
    await sam.stop()
