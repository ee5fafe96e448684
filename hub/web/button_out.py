"""The one public shape of a registered button in the API: everything but its key."""

from __future__ import annotations

from pydantic import BaseModel

from hub.store.buttons import ButtonRecord


class ButtonOut(BaseModel):
    id: int
    address: str
    kind: str
    owner: str
    battery: int | None
    rssi: int | None
    last_seen: str | None


def button_out(record: ButtonRecord) -> ButtonOut:
    return ButtonOut(
        id=record.id,
        address=record.address,
        kind=record.kind,
        owner=record.owner,
        battery=record.battery,
        rssi=record.rssi,
        last_seen=record.last_seen.isoformat() if record.last_seen else None,
    )
