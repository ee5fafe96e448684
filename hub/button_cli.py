"""``heartline button add|list|remove``: manage a running hub's buttons through its local API.

The hub owns the database and the Bluetooth adapter, so the CLI never opens either itself: it
asks the hub, which validates, stores (keys 0600, never logged or echoed) and reloads ingest.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Final

from hub.errors import HeartlineError

DEFAULT_HUB: Final = "http://127.0.0.1:8080"
HTTP_TIMEOUT_S: Final = 10.0


class HubUnreachableError(HeartlineError, ConnectionError):
    pass


class HubUrlError(HeartlineError, ValueError):
    def __init__(self, hub: str) -> None:
        super().__init__(f"--hub must be an http:// or https:// URL, not {hub!r}")


def _call(hub: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = hub.rstrip("/") + path
    if not url.startswith(("http://", "https://")):
        raise HubUrlError(hub)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as ex:
        detail = _detail(ex.read())
        raise HeartlineError(f"the hub refused: {detail}") from ex
    except (urllib.error.URLError, TimeoutError, OSError) as ex:
        raise HubUnreachableError(
            f"cannot reach the hub at {hub} ({getattr(ex, 'reason', ex)}); is `heartline hub` running? "
            "pass --hub with its address"
        ) from ex
    return json.loads(raw) if raw else None


def _detail(raw: bytes) -> str:
    try:
        detail = json.loads(raw).get("detail")
    except (ValueError, AttributeError):
        return raw.decode(errors="replace")[:200]
    if isinstance(detail, list):  # FastAPI validation errors: name the field and the problem
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    return str(detail)


def button_add(hub: str, *, address: str, key: str, owner: str, kind: str) -> int:
    created = _call(
        hub, "POST", "/api/buttons", {"kind": kind, "address": address, "key": key, "owner": owner}
    )
    print(
        f"registered button {created['id']}: {created['address']} ({created['kind']}) for {created['owner']}"
    )
    return 0


def button_list(hub: str, *, as_json: bool) -> int:
    buttons = _call(hub, "GET", "/api/buttons")
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
    _call(hub, "DELETE", f"/api/buttons/{button_id}")
    print(f"removed button {button_id}")
    return 0
