"""Any Unicode in the names and the relay password survives invite -> join -> a config that
`heartline config check` accepts: emoji, quotes, backslashes, newlines, tabs."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.cli.couple import couple_invite, couple_join
from hub.config import load_config
from hub.config.write import new_couple_key
from hub.couple.invite import decode

AWKWARD = ['Alex "A" 💕', "C:\\Users\\sam", "two\nlines", "tab\there", "🏳️‍🌈 ü ß 漢字", "'single' = [x]"]


def _inviter(tmp_path: Path, person: str, partner: str) -> Path:
    path = tmp_path / "a.toml"
    from hub.config.toml_text import render_document  # noqa: PLC0415

    path.write_text(
        render_document({
            "hub": {"person": person, "partner": partner, "data_dir": tmp_path / "a"},
            "relay": {
                "broker": "mqtt://127.0.0.1:1883", "hub_id": "h7f3a9c2e1b", "partner_hub_id": "h2b8d4e6f0a",
                "couple_id": "c5e1d2a9f0", "couple_key": new_couple_key(), "password": "pw",
            },
        }),
        encoding="utf-8",
    )  # fmt: skip
    return path


@pytest.mark.parametrize("text", AWKWARD)
def test_names_and_password_round_trip(tmp_path: Path, text: str) -> None:
    out = io.StringIO()
    password = f'pw {text} \\ " end'
    couple_invite(_inviter(tmp_path, text, f"{text}²"), password, 1, out)
    code = next(line for line in out.getvalue().splitlines() if line.startswith("HL2-"))
    joined = tmp_path / "b" / "hub.toml"
    args = argparse.Namespace(
        config=joined, force=False, yes=True, person=None, partner=None, name=None, timezone="UTC",
        transport=None, data_dir=tmp_path / "b" / "data", web_port=None, web_listen=None,
    )  # fmt: skip
    assert couple_join(decode(code, datetime.now(UTC)), args, out) == 0
    config = load_config(joined)
    assert (config.hub.person, config.hub.partner, config.relay.password) == (f"{text}²", text, password)
    check = subprocess.run(
        [sys.executable, "-m", "hub.cli", "config", "check", str(joined)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert "ok" in check.stdout
