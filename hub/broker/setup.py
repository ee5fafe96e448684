"""Write a complete, secure mosquitto relay setup into one directory.

Layout of ``out_dir`` (directories 0700, secrets 0600, public files 0644)::

    mosquitto.conf   broker config (listeners, persistence, auth)          0644
    acl              per-hub topic rights                                   0600
    passwd           $7$ PBKDF2-SHA512 hashes, one line per hub             0600
    ca.crt           this relay's CA certificate: give it to every hub      0644
    ca.key           CA private key, only needed to renew server.crt        0600
    server.crt       TLS server certificate (SAN: host and 127.0.0.1)       0644
    server.key       its private key                                        0600
    data/            mosquitto's persistence database                       0700
    mosquitto.log    written by mosquitto

Plain-text hub passwords are returned in :class:`RelaySetup`, never written to disk.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from hub.broker import certs, passwords
from hub.broker.config import (
    Couple,
    MosquittoConfig,
    RelayConfigError,
    TlsListener,
    check_couples,
    render_acl,
    render_config,
)

# Only the broker's own user needs the directory, and it holds the CA key.
DIR_MODE: Final = 0o700
# Keys, password hashes and the ACL (it maps hubs to couples) are private to that user.
SECRET_MODE: Final = 0o600
# Config and certificates hold no secrets; ca.crt is meant to be copied to every hub.
PUBLIC_MODE: Final = 0o644

CONFIG_NAME: Final = "mosquitto.conf"
ACL_NAME: Final = "acl"
PASSWORD_NAME: Final = "passwd"  # noqa: S105 - a file name, not a password
CA_CERT_NAME: Final = "ca.crt"
CA_KEY_NAME: Final = "ca.key"
SERVER_CERT_NAME: Final = "server.crt"
SERVER_KEY_NAME: Final = "server.key"
DATA_DIR_NAME: Final = "data"
LOG_NAME: Final = "mosquitto.log"

# The plain-text listener of a relay serves only local tools (and tests); hubs use TLS.
LOCAL_PORT: Final = 1883


@dataclass(frozen=True, slots=True)
class HubCredentials:
    """What one hub needs to log in to the relay (its id is also its client id)."""

    hub_id: str
    couple_id: str
    partner_id: str
    password: str = field(repr=False)

    @property
    def username(self) -> str:
        return self.hub_id

    @property
    def client_id(self) -> str:
        return self.hub_id


@dataclass(frozen=True, slots=True)
class RelaySetup:
    """Paths written by :func:`setup_relay` and the credentials it generated."""

    out_dir: Path
    config_path: Path
    acl_path: Path
    password_path: Path
    persistence_dir: Path
    log_path: Path
    host: str
    port: int
    tls_port: int | None
    ca_cert_path: Path | None
    ca_key_path: Path | None
    server_cert_path: Path | None
    server_key_path: Path | None
    couples: tuple[Couple, ...]
    credentials: Mapping[str, HubCredentials] = field(repr=False)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with exactly ``mode`` (umask-proof), replacing any old file."""
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


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(DIR_MODE)


def setup_relay(
    out_dir: Path,
    *,
    host: str,
    port: int,
    tls_port: int | None,
    couples: Sequence[Couple],
    tls_bind_address: str | None = None,
    run_as: str | None = None,
    hub_passwords: Mapping[str, str] | None = None,
) -> RelaySetup:
    """Write mosquitto config, ACL, password file and TLS material for ``couples``.

    ``host`` is the name (or IP) hubs use to reach the relay: it goes into the server
    certificate, and the TLS listener binds to it unless ``tls_bind_address`` says otherwise
    (``0.0.0.0`` for every interface, e.g. behind NAT). ``port`` is the plain-text listener,
    always on 127.0.0.1. ``tls_port=None`` writes no TLS listener and no certificates.
    ``run_as`` becomes mosquitto's ``user`` option: pass ``"root"`` when the broker is started
    as root and should keep owning these files, or chown ``out_dir`` to the user it switches to.
    ``hub_passwords`` keeps existing hubs' passwords when regenerating; others get new ones.
    Everything is regenerated on each call, including the CA.
    """
    couples = tuple(couples)
    check_couples(couples)
    hub_ids = {hub_id for couple in couples for hub_id in couple.hubs}
    given = dict(hub_passwords or {})
    unknown = sorted(set(given) - hub_ids)
    if unknown:
        raise RelayConfigError(
            "hub_passwords", unknown, "no couple has these hubs; remove them or add the couple"
        )
    out_dir = out_dir.resolve()
    _make_dir(out_dir)
    persistence_dir = out_dir / DATA_DIR_NAME
    _make_dir(persistence_dir)

    credentials: dict[str, HubCredentials] = {}
    for couple in couples:
        for hub_id in couple.hubs:
            credentials[hub_id] = HubCredentials(
                hub_id=hub_id,
                couple_id=couple.couple_id,
                partner_id=couple.partner_of(hub_id),
                password=given.get(hub_id) or passwords.generate_password(),
            )

    tls: TlsListener | None = None
    ca_cert_path = ca_key_path = server_cert_path = server_key_path = None
    if tls_port is not None:
        ca = certs.generate_ca()
        server = certs.issue_server_certificate(ca, host)
        ca_cert_path, ca_key_path = out_dir / CA_CERT_NAME, out_dir / CA_KEY_NAME
        server_cert_path, server_key_path = out_dir / SERVER_CERT_NAME, out_dir / SERVER_KEY_NAME
        _write(ca_key_path, ca.key_pem, SECRET_MODE)
        _write(ca_cert_path, ca.cert_pem, PUBLIC_MODE)
        _write(server_key_path, server.key_pem, SECRET_MODE)
        _write(server_cert_path, server.cert_pem, PUBLIC_MODE)
        tls = TlsListener(
            port=tls_port,
            bind_address=tls_bind_address or host,
            certfile=server_cert_path,
            keyfile=server_key_path,
            cafile=ca_cert_path,
        )

    config_path = out_dir / CONFIG_NAME
    acl_path = out_dir / ACL_NAME
    password_path = out_dir / PASSWORD_NAME
    log_path = out_dir / LOG_NAME
    config_text = render_config(
        MosquittoConfig(
            port=port,
            tls=tls,
            password_file=password_path,
            acl_file=acl_path,
            persistence_dir=persistence_dir,
            log_file=log_path,
            run_as=run_as,
        )
    )
    password_text = passwords.render_password_file(
        {hub_id: cred.password for hub_id, cred in credentials.items()}
    )
    _write(password_path, password_text.encode("utf-8"), SECRET_MODE)
    _write(acl_path, render_acl(couples).encode("utf-8"), SECRET_MODE)
    _write(config_path, config_text.encode("utf-8"), PUBLIC_MODE)

    return RelaySetup(
        out_dir=out_dir,
        config_path=config_path,
        acl_path=acl_path,
        password_path=password_path,
        persistence_dir=persistence_dir,
        log_path=log_path,
        host=host,
        port=port,
        tls_port=tls_port,
        ca_cert_path=ca_cert_path,
        ca_key_path=ca_key_path,
        server_cert_path=server_cert_path,
        server_key_path=server_key_path,
        couples=couples,
        credentials=credentials,
    )


def setup_new_couple(out_dir: Path, *, host: str, tls_port: int) -> RelaySetup:
    """A relay for one new couple with fresh random ids (``heartline broker setup``), the
    plain-text listener on :data:`LOCAL_PORT`."""
    couple = Couple("c" + secrets.token_hex(5), ("h" + secrets.token_hex(5), "h" + secrets.token_hex(5)))
    return setup_relay(out_dir, host=host, port=LOCAL_PORT, tls_port=tls_port, couples=[couple])
