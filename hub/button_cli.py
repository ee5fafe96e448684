"""``heartline button add|list|remove``: manage a running hub's buttons through its local API.

Keys travel only in the request to the hub (stored 0600, never logged or echoed back).
"""

from __future__ import annotations

import json

from hub.hub_client import call_hub


def button_add(hub: str, *, address: str, key: str, owner: str, kind: str) -> int:
    created = call_hub(
        hub, "POST", "/api/buttons", {"kind": kind, "address": address, "key": key, "owner": owner}
    )
    print(
        f"registered button {created['id']}: {created['address']} ({created['kind']}) for {created['owner']}"
    )
    return 0


def button_list(hub: str, *, as_json: bool) -> int:
    buttons = call_hub(hub, "GET", "/api/buttons")
    if as_json:
        print(json.dumps(buttons, indent=2))
        return 0
    if not buttons:
        print("no buttons registered; add one with `heartline button add`")
        return 0
    print(f"{'id':>3}  {'address':17}  {'kind':9}  {'owner':12}  {'battery':>7}  last seen")
    for b in buttons:
        battery = f"{b['battery']}%" if b["battery"] is not None else "-"
        seen = b["last_seen"] or "never"
        print(f"{b['id']:>3}  {b['address']:17}  {b['kind']:9}  {b['owner'][:12]:12}  {battery:>7}  {seen}")
    return 0


def button_remove(hub: str, *, button_id: int) -> int:
    call_hub(hub, "DELETE", f"/api/buttons/{button_id}")
    print(f"removed button {button_id}")
    return 0
