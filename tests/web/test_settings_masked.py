"""``/api/settings`` never shows a notification URL's password or token; the page saved back with
the masked URLs keeps the stored secrets, and a URL typed anew replaces its secret."""

from __future__ import annotations

import httpx

from tests.support.homes import Homes
from tests.web.test_settings import valid_settings

SECRET_URLS = [
    "ntfys://alex:s3cret-pass@ntfy.example.org/our-topic",
    "ntfy://ntfy.sh/topic?token=tk_0123456789abcdefghij",
    "json://hook:other-secret@127.0.0.1:9/notify",
]


async def test_secrets_are_masked_and_kept(client: httpx.AsyncClient, homes: Homes) -> None:
    body = {**valid_settings(), "notify": SECRET_URLS}
    saved = await client.put("/a/api/settings", json=body)
    assert saved.status_code == 200, saved.text
    shown = await client.get("/a/api/settings")
    for secret in ("s3cret-pass", "tk_0123456789abcdefghij", "other-secret"):
        assert secret not in saved.text
        assert secret not in shown.text
    assert shown.json()["notify"][0] == "ntfys://alex:****@ntfy.example.org/our-topic"
    assert shown.json()["notify"][1].startswith("ntfy://ntfy.sh/topic?token=")
    # The page saves what it was shown: the stored secrets stay.
    assert (await client.put("/a/api/settings", json=shown.json())).status_code == 200
    assert homes.hub_a.settings.notify == tuple(SECRET_URLS)
    # A URL typed again replaces its secret; the others are kept.
    typed = [*shown.json()["notify"][:2], "json://hook:new-secret@127.0.0.1:9/notify"]
    assert (await client.put("/a/api/settings", json={**body, "notify": typed})).status_code == 200
    assert homes.hub_a.settings.notify == (*SECRET_URLS[:2], typed[2])
