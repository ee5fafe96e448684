"""``heartline button pair``: pair a Heartline button through the running hub's API.

The hub owns the adapter and the database, so the CLI only asks it (``POST /api/buttons/pair``)
and waits longer than other commands: finding the button can take ``timeout_s`` and the
exchange up to ``hub.ble.pairing.EXCHANGE_TIMEOUT_S`` more.
"""

from __future__ import annotations

from typing import Any, Final

from hub.ble.pairing import EXCHANGE_TIMEOUT_S
from hub.hub_client import HubAnswerError, call_hub

# Room for the HTTP round trip on top of the hub's own bounds.
HTTP_MARGIN_S: Final = 10.0


def button_pair(hub_url: str, owner: str, timeout_s: float) -> int:
    """Ask the hub to pair the button in pairing mode for ``owner``; prints what happened."""
    print(f"looking for a button in pairing mode for up to {timeout_s:g} s ...", flush=True)
    try:
        paired: dict[str, Any] = call_hub(
            hub_url,
            "POST",
            "/api/buttons/pair",
            {"owner": owner, "timeout_s": timeout_s},
            timeout_s=timeout_s + EXCHANGE_TIMEOUT_S + HTTP_MARGIN_S,
        )
    except HubAnswerError as ex:
        raise HubAnswerError(ex.status, ex.detail, prefix="pairing failed") from ex
    print(
        f"paired button {paired['id']}: {paired['address']} for {paired['owner']}; "
        "it buzzed and glowed green to confirm"
    )
    return 0
