"""No 5xx from any input: bodies no JSON encoder can echo get a plain 422, presses on one simulated
button take turns, and a full disk is a 507 with one line, then heals by itself."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from hub.store.database import DiskFullError
from hub.store.meta import MetaStore
from tests.support.homes import Homes
from tests.support.waiting import eventually

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/a/api/sim/wearables/a-button/place", b'{"distance_m": NaN}'),
        ("/a/api/sim/wearables/a-button/place", b'{"distance_m": 1e999}'),
        ("/a/api/sim/buttons/a-button/press", b'{"gesture": -Infinity}'),
        ("/a/api/signals", b'{"kind": "\\ud800"}'),
        ("/a/api/signals", b'{"\\udfff": 1}'),
        ("/a/api/signals", b"[" * 5000 + b"]" * 5000),
    ],
)
async def test_unserialisable_input_is_a_plain_client_error(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers=JSON)
    assert response.status_code in (400, 422), response.text
    detail = json.loads(response.content)["detail"]  # strict UTF-8 JSON, nothing of the input echoed
    assert "input" not in json.dumps(detail)


@pytest.mark.slow  # three presses in real firmware time
async def test_concurrent_presses_on_one_button_each_get_their_gesture(
    client: httpx.AsyncClient, homes: Homes
) -> None:
    gestures = ("tap", "double_tap", "long_press")
    presses = [client.post("/a/api/sim/buttons/a-button/press", json={"gesture": g}) for g in gestures]
    answers = await asyncio.gather(*presses)
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    sent = [s.kind.value for s in reversed(homes.hub_a.recent_signals(10))]
    assert sent == ["thinking_of_you", "celebrate", "need_you"]


async def _quiet(homes: Homes) -> None:
    """The hubs' start-up exchange (their people's wearables) receipted, so a receipt arriving
    later frees no outbox row in the middle of a test that filled the disk."""
    await eventually(
        lambda: homes.hub_a.health().outbox == 0 and homes.hub_b.health().outbox == 0,
        what="the hubs' start-up messages receipted",
    )


async def test_a_full_disk_is_507_loses_nothing_and_recovers(client: httpx.AsyncClient, homes: Homes) -> None:
    # An honest full disk: SQLite's own page limit on the hub's real database file, so the write
    # fails inside SQLite exactly as ENOSPC would (SQLITE_FULL), with no root and no tmpfs.
    await _quiet(homes)
    db = homes.hub_a.db.connection
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    accepted: list[str] = []
    answer = None
    for _ in range(2000):  # a few free pages fill up within tens of signals
        answer = await client.post("/a/api/signals", json={"kind": "celebrate"})
        if answer.status_code != 201:
            break
        accepted.append(answer.json()["id"])
    assert answer is not None
    assert answer.status_code == 507, answer.text
    line = answer.json()["detail"]
    assert "disk" in line
    assert "is full" in line
    assert "free some space" in line
    assert "\n" not in line
    assert (await client.get("/a/api/health")).status_code == 200  # still serving
    db.execute("PRAGMA max_page_count = 1073741823")
    again = await client.post("/a/api/signals", json={"kind": "celebrate"})
    assert again.status_code == 201, again.text
    known = {s.id for s in homes.hub_a.recent_signals(5000)}
    assert set(accepted) | {again.json()["id"]} <= known  # every 201 was kept
    await eventually(lambda: homes.hub_a.health().outbox == 0, what="the outbox to drain after recovery")


async def test_a_touch_on_a_full_disk_is_not_sent_and_the_hub_goes_on(
    homes: Homes, caplog: pytest.LogCaptureFixture
) -> None:
    await _quiet(homes)
    db = homes.hub_a.db.connection
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    filler = homes.hub_a.db
    for size in (2000, 200, 20):  # every free page and then every gap in them: nothing fits
        with pytest.raises(DiskFullError):  # noqa: PT012 - the room fills within a few rows
            for index in range(10_000):
                with filler.transaction():
                    MetaStore(filler).put(f"filler-{size}-{index}", "x" * size)
    before = len(homes.hub_a.recent_signals(100))
    await homes.button_a.press("tap")
    await eventually(lambda: "a touch on button" in caplog.text, what="the tap refused for the full disk")
    assert "is full" in caplog.text
    db.execute("PRAGMA max_page_count = 1073741823")
    await homes.button_a.press("double_tap")
    await eventually(lambda: len(homes.hub_a.recent_signals(100)) > before, what="the touch after recovery")
    newest = homes.hub_a.recent_signals(100)
    assert [s.kind.value for s in newest[: len(newest) - before]] == ["celebrate"]  # the tap was not sent
