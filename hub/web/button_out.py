"""The one public shape of a registered button in the API: everything but its key, and what
its care asks of the owner now (``hub.ble.care``), and a sleepy button's listen period."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from hub.ble.care import CaredButton
from hub.store.buttons import ButtonRecord


class ButtonOut(BaseModel):
    id: int
    address: str
    kind: str
    owner: str
    battery: int | None
    rssi: int | None
    last_seen: str | None
    alert: Literal["low_battery", "not_heard"] | None = None
    alert_text: str | None = None  # one line for the owner: what is wrong and what to do
    # Seconds between a sleepy button's listen windows (a command waits up to this long);
    # null: it always listens (or the hub has not yet heard its listen advert since it started).
    listen_period_s: int | None = None


def button_out(record: ButtonRecord) -> ButtonOut:
    # The hub's button list carries each button's alert; a record fresh from pairing has none.
    alert = record.alert if isinstance(record, CaredButton) else None
    period = record.listen_period_s if isinstance(record, CaredButton) else None
    return ButtonOut(
        id=record.id,
        address=record.address,
        kind=record.kind,
        owner=record.owner,
        battery=record.battery,
        rssi=record.rssi,
        last_seen=record.last_seen.isoformat() if record.last_seen else None,
        alert=alert.kind.value if alert is not None else None,
        alert_text=alert.text if alert is not None else None,
        listen_period_s=period,
    )
