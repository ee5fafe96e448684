"""The one writer of a new hub.toml, for ``heartline setup`` and ``heartline couple join``.

It renders what the person chose with the TOML writer, checks it with the loader's rules and the
couple-key rule before anything is written, writes the relay's CA certificate beside the config
(0644: it is public) and the config itself (0600: it holds the couple key and the relay password),
both atomically, and finally reads the file back through the real loader.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hub.config.host_defaults import CA_FILE_NAME
from hub.config.load import load_config, parse_config
from hub.config.schema import HubConfig
from hub.config.toml_text import Table, Value, render_document
from hub.errors import HeartlineError

CONFIG_MODE: Final = 0o600  # the couple key and the relay password
CA_MODE: Final = 0o644  # a certificate is public
DATA_DIR_MODE: Final = 0o700
COUPLE_KEY_BYTES: Final = 32


class ConfigExistsError(HeartlineError, FileExistsError):
    """A new config never replaces one silently: it may hold another couple's settings."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} exists; pass --force to replace it, or choose another --config")
        self.path = path


def new_couple_key() -> str:
    """A fresh couple key: 32 bytes from the operating system's CSPRNG, as 64 hex characters."""
    return secrets.token_bytes(COUPLE_KEY_BYTES).hex()


@dataclass(frozen=True, slots=True)
class HomeChoices:
    """What a home decides for itself (flags or answers)."""

    person: str
    partner: str
    timezone: str
    data_dir: Path
    transport: str
    name: str = "home"
    web_port: int = 8080
    web_listen: str = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class RelayChoices:
    """How this hub reaches the relay: from its login file, an invite, or flags."""

    broker: str
    hub_id: str
    partner_hub_id: str
    couple_id: str
    password: str = field(repr=False)
    # The relay's CA: its PEM to write beside the config, or a file that already holds it.
    ca_pem: bytes | None = None
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class NewHubConfig:
    """Everything a first hub.toml says; the rest keeps the schema's defaults."""

    home: HomeChoices
    relay: RelayChoices
    couple_key: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class WrittenConfig:
    config_path: Path
    ca_path: Path | None
    config: HubConfig


def _sections(new: NewHubConfig, ca_path: Path | None) -> dict[str, Table]:
    home, relay_choices = new.home, new.relay
    relay: dict[str, Value] = {
        "broker": relay_choices.broker,
        "hub_id": relay_choices.hub_id,
        "partner_hub_id": relay_choices.partner_hub_id,
        "couple_id": relay_choices.couple_id,
        "couple_key": new.couple_key,
        "password": relay_choices.password,
    }
    if ca_path is not None:
        relay["ca_file"] = ca_path
    return {
        "hub": {
            "name": home.name,
            "person": home.person,
            "partner": home.partner,
            "timezone": home.timezone,
            "data_dir": home.data_dir.absolute(),
        },
        "ble": {"transport": home.transport},
        "relay": relay,
        "web": {"listen": home.web_listen, "port": home.web_port},
    }


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_hub_config(path: Path, new: NewHubConfig, *, written_by: str, force: bool = False) -> WrittenConfig:
    """Write ``path`` (and the relay CA beside it); ConfigError or ConfigExistsError, one line each."""
    path = path.absolute()
    if path.exists() and not force:
        raise ConfigExistsError(path)
    ca_pem = new.relay.ca_pem
    ca_path = new.relay.ca_file.absolute() if new.relay.ca_file is not None else None
    if ca_pem is not None:
        ca_path = path.parent / CA_FILE_NAME
    sections = _sections(new, ca_path)
    text = render_document(
        sections,
        comment=(
            f"Written by `{written_by}`. `heartline config check {path}` checks it.\n"
            "It holds the couple key and the relay password: keep it private (mode 0600)."
        ),
    )
    # Checked before anything touches the disk; the CA file's existence is the one rule that
    # needs the disk, so it is left to the final load when the CA is written here.
    import tomllib  # noqa: PLC0415 - only to check our own text

    raw = tomllib.loads(text)
    if ca_pem is not None:
        raw["relay"].pop("ca_file")
    parse_config(raw, str(path))  # every rule, the couple key's too
    path.parent.mkdir(parents=True, exist_ok=True)
    if ca_pem is not None and ca_path is not None:
        _write_atomically(ca_path, ca_pem, CA_MODE)
    _write_atomically(path, text.encode("utf-8"), CONFIG_MODE)
    new.home.data_dir.mkdir(parents=True, exist_ok=True, mode=DATA_DIR_MODE)
    return WrittenConfig(config_path=path, ca_path=ca_path, config=load_config(path))
