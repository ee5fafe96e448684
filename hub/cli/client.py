"""A tiny client for a running hub's local HTTP API, shared by the CLI commands.

The hub owns the database and the Bluetooth adapter, so commands never open either themselves:
they ask the hub, which validates, stores and reloads.
"""

from __future__ import annotations

import json
from typing import Any, Final

from hub.errors import HeartlineError

DEFAULT_HUB: Final = "http://127.0.0.1:8080"
HTTP_TIMEOUT_S: Final = 10.0


class HubUnreachableError(HeartlineError, ConnectionError):
    pass


class HubAnswerError(HeartlineError, RuntimeError):
    """The hub answered with an error; ``detail`` is its one-line explanation."""

    def __init__(self, status: int, detail: str, prefix: str = "the hub refused") -> None:
        super().__init__(f"{prefix}: {detail}")
        self.status = status
        self.detail = detail


class HubUrlError(HeartlineError, ValueError):
    def __init__(self, hub: str) -> None:
        super().__init__(f"--hub must be an http:// or https:// URL, not {hub!r}")


def call_hub(
    hub: str, method: str, path: str, body: dict[str, Any] | None = None, *, timeout_s: float = HTTP_TIMEOUT_S
) -> Any:
    # Imported on the first call: building the parser imports this module, and `--help` need not pay.
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    url = hub.rstrip("/") + path
    if not url.startswith(("http://", "https://")):
        raise HubUrlError(hub)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as ex:
        raise HubAnswerError(ex.code, _detail(ex.read())) from ex
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
