"""The one hub.toml writer and its TOML renderer: any Unicode round-trips, nothing is replaced
silently, secrets stay owner-only, and the machine's defaults are read as documented."""

from __future__ import annotations

import dataclasses
import stat
import tomllib
from pathlib import Path

import pytest

from hub.broker import certs
from hub.config.host_defaults import detect_ble_transport, detect_timezone
from hub.config.toml_text import render_document, toml_string
from hub.config.write import (
    ConfigExistsError,
    HomeChoices,
    NewHubConfig,
    RelayChoices,
    new_couple_key,
    write_hub_config,
)
from hub.errors import ConfigError

AWKWARD = [
    "Sam",
    'Alex "the brave"',
    "back\\slash",
    "💕 emoji 👩‍❤️‍👨",
    "tab\tand\nnewline\r",
    "\x00\x1f\x7f control",
    "''' triple \"\"\"",
    "Zoë Ångström 日本語",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_any_string_round_trips(text: str) -> None:
    assert tomllib.loads(f"value = {toml_string(text)}\n")["value"] == text


def test_a_document_round_trips() -> None:
    text = render_document(
        {"hub": {"person": AWKWARD[3], "port": 8080, "on": True}, "odd key": {"x": ["a", 'b"']}},
        top={"top": 1},
        arrays={"couples": [{"number": 1}, {"number": 2}]},
        comment="two lines\nof comment",
    )
    assert tomllib.loads(text) == {
        "top": 1,
        "hub": {"person": AWKWARD[3], "port": 8080, "on": True},
        "odd key": {"x": ["a", 'b"']},
        "couples": [{"number": 1}, {"number": 2}],
    }


def _new(tmp_path: Path, person: str = AWKWARD[1], key: str | None = None) -> NewHubConfig:
    return NewHubConfig(
        home=HomeChoices(
            person=person,
            partner=AWKWARD[3],
            timezone="Europe/Berlin",
            data_dir=tmp_path / "data",
            transport="sim:127.0.0.1:7000/alex",
        ),
        relay=RelayChoices(
            broker="mqtts://relay.example.org:8883",
            hub_id="h7f3a9c2e1b",
            partner_hub_id="h2b8d4e6f0a",
            couple_id="c5e1d2a9f0",
            password='pw "with" quotes \\',
            ca_pem=certs.generate_ca().cert_pem,
        ),
        couple_key=key or new_couple_key(),
    )


def test_writes_a_config_that_loads_with_the_ca_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "hub.toml"
    written = write_hub_config(path, _new(tmp_path), written_by="test")
    assert written.config.hub.person == AWKWARD[1]
    assert written.config.hub.partner == AWKWARD[3]
    assert written.config.relay.password == 'pw "with" quotes \\'
    assert written.ca_path == path.parent / "relay-ca.crt"
    assert written.config.relay.ca_file == written.ca_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(written.ca_path.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


def test_never_replaces_a_config_without_force(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text("# someone's config\n")
    with pytest.raises(ConfigExistsError, match="--force"):
        write_hub_config(path, _new(tmp_path), written_by="test")
    assert path.read_text() == "# someone's config\n"
    write_hub_config(path, _new(tmp_path), written_by="test", force=True)
    assert "couple_key" in path.read_text()


def test_refuses_a_weak_key_or_bad_value_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    with pytest.raises(ConfigError, match=r"relay\.couple_key: is not a random key"):
        write_hub_config(path, _new(tmp_path, key="5a" * 32), written_by="test")
    new = _new(tmp_path)
    bad_home = dataclasses.replace(new.home, timezone="Mars/Olympus")
    with pytest.raises(ConfigError, match=r"hub\.timezone"):
        write_hub_config(path, NewHubConfig(bad_home, new.relay, new.couple_key), written_by="test")
    assert not path.exists()
    assert not (tmp_path / "relay-ca.crt").exists()


def test_time_zone_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TZ", raising=False)
    assert detect_timezone(tmp_path) == "UTC"  # nothing to go by
    (tmp_path / "localtime").symlink_to("/usr/share/zoneinfo/America/New_York")
    assert detect_timezone(tmp_path) == "America/New_York"
    (tmp_path / "timezone").write_text("Europe/Berlin\n")
    assert detect_timezone(tmp_path) == "Europe/Berlin"
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert detect_timezone(tmp_path) == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert detect_timezone(tmp_path) == "Europe/Berlin"


def test_adapter_detection(tmp_path: Path) -> None:
    assert detect_ble_transport(tmp_path / "missing") == "bluez:hci0"
    for name in ("hci1", "hci1:64", "hci2"):
        (tmp_path / name).mkdir()
    assert detect_ble_transport(tmp_path) == "bluez:hci1"
    (tmp_path / "hci1").rmdir()
    assert detect_ble_transport(tmp_path) == "bluez:hci2"
