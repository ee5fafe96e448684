"""The privacy routes on a FastAPI app, and the CLI commands that use them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hub.cli import privacy as privacy_cli
from hub.privacy.export import export_file
from hub.privacy.forget import ForgetSummary, forget
from hub.store.database import Database, open_database
from hub.web.privacy_api import privacy_router
from tests.privacy.history import CUT, KEY, count, populate


@dataclass
class FakeHub:
    """The part of a hub the privacy routes use, over a real database (as hub.app.hub does it)."""

    db: Database

    def forget(self, before: datetime) -> ForgetSummary:
        return forget(self.db, before)

    async def export_json(self, out: Path) -> None:
        await asyncio.to_thread(export_file, self.db.path, out, "json")

    @property
    def data_dir(self) -> Path:
        return self.db.path.parent


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "data")
    populate(database)
    return database


@pytest.fixture
async def http(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(privacy_router(FakeHub(db), timezone="Europe/Amsterdam"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
    ) as client:
        yield client


async def test_forget_route_deletes_before_local_midnight(http: httpx.AsyncClient, db: Database) -> None:
    answer = await http.post("/api/privacy/forget", json={"before": "2026-02-01"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["signals"] > 0
    assert body["compacted"] is True
    assert body["before"] == "2026-02-01T00:00:00+01:00"
    assert "outbox" in body["note"]
    (oldest,) = db.connection.execute(
        "SELECT MIN(created_at) FROM signals WHERE id NOT IN ('waiting0', 'held0')"
    ).fetchone()
    assert datetime.fromisoformat(oldest) >= CUT - timedelta(hours=1)


@pytest.mark.parametrize(
    ("before", "status", "problem"),
    [
        ("2026-13-01", 400, "a date like"),  # the right shape, not a real day
        ("2999-01-01", 409, "future"),
        ("yesterday", 422, "pattern"),  # not the documented YYYY-MM-DD shape at all
        ("20260201", 422, "pattern"),
    ],
)
async def test_forget_route_refuses_bad_dates(
    http: httpx.AsyncClient, db: Database, before: str, status: int, problem: str
) -> None:
    signals = count(db, "signals")
    answer = await http.post("/api/privacy/forget", json={"before": before})
    assert answer.status_code == status
    assert problem in str(answer.json()["detail"])
    assert count(db, "signals") == signals


async def test_forget_route_wants_exactly_a_before_string(http: httpx.AsyncClient) -> None:
    assert (await http.post("/api/privacy/forget", json={"before": 20260201})).status_code == 422
    assert (await http.post("/api/privacy/forget", json={"before": "2026-02-01", "x": 1})).status_code == 422


async def test_export_route_returns_the_json_document_without_keys(
    http: httpx.AsyncClient, db: Database
) -> None:
    answer = await http.get("/api/privacy/export", params={"format": "json"})
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    document = answer.json()
    assert len(document["tables"]["signals"]) == count(db, "signals")
    assert KEY.hex() not in answer.text
    # The temporary copy is gone once sent.
    assert not [p for p in db.path.parent.iterdir() if p.name.startswith(".export-")]
    assert (await http.get("/api/privacy/export", params={"format": "xml"})).status_code == 422


def _config(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        f"""
[hub]
person = "ana"
partner = "ben"
data_dir = "{data_dir}"
timezone = "Europe/Amsterdam"

[relay]
broker = "mqtt://127.0.0.1:1883"
hub_id = "h7f3a9c2e1b"
partner_hub_id = "h2b8d4e6f0a"
couple_id = "c5e1d2a9f0"
couple_key = "23d13173318a01a1d7b5006fc9de34ff161abe43c2bf97339fda1dfcae1fc46d"
password = "secret"

[web]
port = 8123
"""
    )
    return path


def test_export_cli_reads_the_database_read_only(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, db.path.parent)
    assert privacy_cli.export_cli(config, tmp_path / "out", "csv", json_output=True) == 0
    captured = capsys.readouterr()
    assert f"  signals: {count(db, 'signals')} rows" in captured.err
    summary = json.loads(captured.out)
    assert summary["counts"]["signals"] == count(db, "signals")
    assert (tmp_path / "out" / "signals.csv").exists()
    assert privacy_cli.export_cli(config, tmp_path / "o.json", "json", json_output=False) == 0
    assert "Button keys are left out on purpose" in capsys.readouterr().out


def test_forget_cli_confirms_then_asks_the_running_hub(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, db.path.parent)
    calls: list[tuple[Any, ...]] = []

    def call_hub(
        hub: str, method: str, path: str, body: dict[str, Any], *, timeout_s: float
    ) -> dict[str, Any]:
        calls.append((hub, method, path, body))
        return {"signals": 3, "presence_sessions": 2, "inbox_ids": 1, "note": "kept nothing"}

    monkeypatch.setattr(privacy_cli, "call_hub", call_hub)
    assert privacy_cli.forget_cli(config, "2026-02-01", yes=False, ask=lambda _: "n") == 1
    assert calls == []
    assert "Nothing was forgotten" in capsys.readouterr().out
    prompts: list[str] = []

    def agree(prompt: str) -> str:
        prompts.append(prompt)
        return "y"

    assert privacy_cli.forget_cli(config, "2026-02-01", yes=False, ask=agree) == 0
    assert "Europe/Amsterdam" in prompts[0]
    assert privacy_cli.forget_cli(config, "2026-02-01", yes=True, hub="http://127.0.0.1:9") == 0
    assert calls == [
        ("http://127.0.0.1:8123", "POST", "/api/privacy/forget", {"before": "2026-02-01"}),
        ("http://127.0.0.1:9", "POST", "/api/privacy/forget", {"before": "2026-02-01"}),
    ]
    assert "Forgot 3 signals, 2 presence sessions" in capsys.readouterr().out
    with pytest.raises(ValueError, match="a date like"):
        privacy_cli.forget_cli(config, "Feb 1", yes=True)


def test_hub_url_from_the_web_section() -> None:
    assert privacy_cli.hub_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert privacy_cli.hub_url("::1", 8080) == "http://[::1]:8080"
    assert privacy_cli.hub_url("192.168.1.5", 80) == "http://192.168.1.5:80"
