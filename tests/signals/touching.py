"""Touches on a relay node as the hub's touch loop makes them: a registered button's gesture
through the composer (``SignalComposer.touch``), not the dashboard's send."""

from __future__ import annotations

import itertools
from typing import Final

from hub.events import Gesture, SignalRecord, TouchEvent
from hub.store.buttons import ButtonRegistry
from tests.relay.node import RelayNode

_ADDRESSES: Final = {"Alex": "C0:FF:EE:00:00:0A", "Sam": "C0:FF:EE:00:00:0B"}
_counters = itertools.count(1)


def touch(node: RelayNode, gesture: Gesture) -> SignalRecord:
    """``gesture`` on the node's person's button; the signal it became."""
    owner = node.config.hub.person
    registry = ButtonRegistry(node.db)
    button = registry.by_address(_ADDRESSES[owner]) or registry.upsert(
        _ADDRESSES[owner], "heartline", bytes(16), owner
    )
    event = TouchEvent(
        button_id=button.id,
        address=button.address,
        owner=owner,
        gesture=gesture,
        battery=None,
        rssi=-50,
        counter=next(_counters),
        at=node.clock.now(),
    )
    record = node.couple.composer.touch(event)
    assert record is not None, "the button's owner lives at this node"
    return record
