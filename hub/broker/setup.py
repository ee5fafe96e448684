"""Write a complete, secure mosquitto relay into one directory, and add couples to it later.

Layout of ``out_dir`` (directories 0700, secrets 0600, public files 0644)::

    mosquitto.conf        broker config (listeners, persistence, auth)          0644
    acl                   per-hub topic rights                                   0600
    passwd                $7$ PBKDF2-SHA512 hashes, one line per hub             0600
    ca.crt                this relay's CA certificate (also in every login)      0644
    ca.key                CA private key, only needed to renew server.crt        0600
    server.crt            TLS server certificate (SAN: host and 127.0.0.1)       0644
    server.key            its private key                                        0600
    data/                 mosquitto's persistence database                       0700
    mosquitto.log         written by mosquitto                                   0600
    relay.toml            this relay's couples and listeners (hub.broker.relay_state) 0600
    couple-N/hub-a.login  the first hub's login (hub.broker.login)               0600
    couple-N/hub-b.login  its partner's

When setup runs as root, mosquitto's files belong to the user it switches to (see
hub.broker.service_user); the CA key, relay.toml and the logins stay root's.
:func:`setup_relay` is the low-level writer (tests use it for fixed couples); :func:`create_relay`
and :func:`add_couple` are ``heartline broker setup`` and ``heartline broker add-couple``.
"""

from __future__ import annotations

import os
import secrets
import shutil
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
    RelayProfile,
    TlsListener,
    check_couples,
    render_acl,
    render_config,
)
from hub.broker.login import LOGIN_SUFFIX, RelayLogin
from hub.broker.relay_state import STATE_NAME, RelayCoupleEntry, RelayState, read_state
from hub.broker.service_user import RunAs, ServiceUser, check_reachable, choose_run_as
from hub.errors import HeartlineError

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
COUPLE_DIR_PREFIX: Final = "couple-"
# The first hub of a couple (the one that invites) and its partner: couple-N/hub-a.login, hub-b.login.
HUB_LOGIN_NAMES: Final = ("hub-a", "hub-b")

# The plain-text listener of a relay serves only local tools (and tests), on loopback; hubs use TLS.
LOCAL_PORT: Final = 1883
TLS_PORT: Final = 8883
# The TLS listener listens on every interface by default: behind NAT the public name is not an
# address of this machine, so binding to it would fail.
ALL_INTERFACES: Final = "0.0.0.0"  # noqa: S104 - the relay is meant to be reachable


class RelayExistsError(HeartlineError, FileExistsError):
    """Setup never silently replaces a relay's CA and passwords: every hub would be locked out."""

    def __init__(self, out_dir: Path, found: str) -> None:
        super().__init__(
            f"{out_dir} already holds a relay ({found}); add a couple with "
            f"`heartline broker add-couple --out {out_dir}`, or --force to replace its CA and every login"
        )
        self.out_dir = out_dir


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
    port: int  # the plain-text loopback listener; 0 when there is none
    tls_port: int | None
    ca_cert_path: Path | None
    ca_key_path: Path | None
    server_cert_path: Path | None
    server_key_path: Path | None
    couples: tuple[Couple, ...]
    # The hubs given a password by this call (kept hubs keep theirs, unknown here).
    credentials: Mapping[str, HubCredentials] = field(repr=False)


@dataclass(frozen=True, slots=True)
class HubLogin:
    """One hub's login file, written for a new couple."""

    path: Path
    login: RelayLogin


@dataclass(frozen=True, slots=True)
class NewCouple:
    """What ``broker setup`` and ``broker add-couple`` tell the person."""

    setup: RelaySetup
    number: int
    couple: Couple
    logins: tuple[HubLogin, HubLogin]
    run_as: RunAs


def _write(path: Path, data: bytes, mode: int, owner: ServiceUser | None = None) -> None:
    """Write atomically with exactly ``mode`` (umask-proof), replacing any old file."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            os.fchown(fd, owner.uid, owner.gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp_name).replace(path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _make_dir(path: Path, owner: ServiceUser | None = None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(DIR_MODE)
    if owner is not None:
        owner.chown(path)


@dataclass(frozen=True, slots=True)
class _Paths:
    out_dir: Path

    @property
    def config(self) -> Path:
        return self.out_dir / CONFIG_NAME

    @property
    def acl(self) -> Path:
        return self.out_dir / ACL_NAME

    @property
    def passwd(self) -> Path:
        return self.out_dir / PASSWORD_NAME

    @property
    def ca_cert(self) -> Path:
        return self.out_dir / CA_CERT_NAME

    @property
    def ca_key(self) -> Path:
        return self.out_dir / CA_KEY_NAME

    @property
    def server_cert(self) -> Path:
        return self.out_dir / SERVER_CERT_NAME

    @property
    def server_key(self) -> Path:
        return self.out_dir / SERVER_KEY_NAME

    @property
    def data(self) -> Path:
        return self.out_dir / DATA_DIR_NAME

    @property
    def log(self) -> Path:
        return self.out_dir / LOG_NAME


def _write_tls(paths: _Paths, host: str, owner: ServiceUser | None) -> None:
    ca = certs.generate_ca()
    server = certs.issue_server_certificate(ca, host)
    _write(paths.ca_key, ca.key_pem, SECRET_MODE)  # only renewing needs it: never mosquitto's
    _write(paths.ca_cert, ca.cert_pem, PUBLIC_MODE, owner)
    _write(paths.server_key, server.key_pem, SECRET_MODE, owner)
    _write(paths.server_cert, server.cert_pem, PUBLIC_MODE, owner)


def _credentials(
    couples: Sequence[Couple], given: Mapping[str, str], kept: Mapping[str, str]
) -> dict[str, HubCredentials]:
    credentials: dict[str, HubCredentials] = {}
    for couple in couples:
        for hub_id in couple.hubs:
            if hub_id in kept:
                continue
            credentials[hub_id] = HubCredentials(
                hub_id=hub_id,
                couple_id=couple.couple_id,
                partner_id=couple.partner_of(hub_id),
                password=given.get(hub_id) or passwords.generate_password(),
            )
    return credentials


def setup_relay(
    out_dir: Path,
    *,
    host: str,
    port: int | None,
    tls_port: int | None,
    couples: Sequence[Couple],
    tls_bind_address: str | None = None,
    run_as: str | None = None,
    hub_passwords: Mapping[str, str] | None = None,
    kept_hashes: Mapping[str, str] | None = None,
    new_tls: bool = True,
    owner: ServiceUser | None = None,
    profile: RelayProfile = RelayProfile.DURABLE,
    autosave_interval_s: int | None = None,
) -> RelaySetup:
    """Write mosquitto config, ACL, password file and TLS material for ``couples``.

    ``host`` is the name (or IP) hubs use to reach the relay: it goes into the server
    certificate, and the TLS listener binds to it unless ``tls_bind_address`` says otherwise
    (``0.0.0.0`` for every interface, e.g. behind NAT). ``port`` is the plain-text listener,
    always on 127.0.0.1 (None: none). ``tls_port=None`` writes no TLS listener and no
    certificates; ``new_tls=False`` keeps the CA and server certificate already in ``out_dir``.
    ``run_as`` becomes mosquitto's ``user`` option and ``owner`` the owner of the files mosquitto
    opens after switching to it (hub.broker.service_user). ``hub_passwords`` sets hubs'
    passwords; ``kept_hashes`` keeps hubs' existing password-file entries as they are; other
    hubs get new random passwords. ``profile`` chooses how mosquitto saves its queue
    (hub.broker.config.RelayProfile; ``autosave_interval_s`` shortens the hosted snapshot period).
    """
    couples = tuple(couples)
    check_couples(couples)
    hub_ids = {hub_id for couple in couples for hub_id in couple.hubs}
    given = dict(hub_passwords or {})
    kept = dict(kept_hashes or {})
    unknown = sorted((set(given) | set(kept)) - hub_ids)
    if unknown:
        raise RelayConfigError(
            "hub_passwords", unknown, "no couple has these hubs; remove them or add the couple"
        )
    out_dir = out_dir.absolute()
    paths = _Paths(out_dir)
    _make_dir(out_dir, owner)
    _make_dir(paths.data, owner)
    credentials = _credentials(couples, given, kept)

    tls: TlsListener | None = None
    if tls_port is not None:
        if new_tls:
            _write_tls(paths, host, owner)
        tls = TlsListener(
            port=tls_port,
            bind_address=tls_bind_address or host,
            certfile=paths.server_cert,
            keyfile=paths.server_key,
            cafile=paths.ca_cert,
        )
    config_text = render_config(
        MosquittoConfig(
            port=port,
            tls=tls,
            password_file=paths.passwd,
            acl_file=paths.acl,
            persistence_dir=paths.data,
            log_file=paths.log,
            run_as=run_as,
            profile=profile,
            autosave_interval_s=autosave_interval_s,
        )
    )
    lines = [f"{user}:{encoded}\n" for user, encoded in kept.items()]
    lines += [
        passwords.password_file_line(hub_id, cred.password) + "\n" for hub_id, cred in credentials.items()
    ]
    _write(paths.passwd, "".join(sorted(lines)).encode("utf-8"), SECRET_MODE, owner)
    _write(paths.acl, render_acl(couples).encode("utf-8"), SECRET_MODE, owner)
    _write(paths.config, config_text.encode("utf-8"), PUBLIC_MODE, owner)
    if owner is not None and not paths.log.exists():
        # mosquitto creates its log after switching user; made here, it is already theirs.
        _write(paths.log, b"", SECRET_MODE, owner)

    return RelaySetup(
        out_dir=out_dir,
        config_path=paths.config,
        acl_path=paths.acl,
        password_path=paths.passwd,
        persistence_dir=paths.data,
        log_path=paths.log,
        host=host,
        port=port or 0,
        tls_port=tls_port,
        ca_cert_path=paths.ca_cert if tls_port is not None else None,
        ca_key_path=paths.ca_key if tls_port is not None else None,
        server_cert_path=paths.server_cert if tls_port is not None else None,
        server_key_path=paths.server_key if tls_port is not None else None,
        couples=couples,
        credentials=credentials,
    )


def _new_couple(taken: set[str]) -> Couple:
    """Fresh random ids (opaque: the broker never sees names), unique on this relay."""
    while True:
        couple = Couple("c" + secrets.token_hex(5), ("h" + secrets.token_hex(5), "h" + secrets.token_hex(5)))
        if not taken & {couple.couple_id, *couple.hubs}:
            return couple


def setup_new_couple(out_dir: Path, *, host: str, tls_port: int) -> RelaySetup:
    """A relay for one new couple with fresh random ids, the plain-text listener on
    :data:`LOCAL_PORT` (no login files, no state: :func:`create_relay` is the command's)."""
    return setup_relay(out_dir, host=host, port=LOCAL_PORT, tls_port=tls_port, couples=[_new_couple(set())])


def _existing_relay(out_dir: Path) -> str | None:
    for name in (STATE_NAME, CONFIG_NAME, CA_KEY_NAME, PASSWORD_NAME):
        if (out_dir / name).exists():
            return name
    return None


def _write_logins(setup: RelaySetup, number: int, couple: Couple, broker: str) -> tuple[HubLogin, HubLogin]:
    assert setup.ca_cert_path is not None
    ca_pem = setup.ca_cert_path.read_text(encoding="ascii")
    folder = setup.out_dir / f"{COUPLE_DIR_PREFIX}{number}"
    _make_dir(folder)  # root's (or the user's): mosquitto never needs the logins
    logins: list[HubLogin] = []
    for name, hub_id in zip(HUB_LOGIN_NAMES, couple.hubs, strict=True):
        login = RelayLogin(
            broker=broker,
            hub_id=hub_id,
            partner_hub_id=couple.partner_of(hub_id),
            couple_id=couple.couple_id,
            password=setup.credentials[hub_id].password,
            ca_pem=ca_pem,
        )
        path = folder / f"{name}{LOGIN_SUFFIX}"
        _write(path, login.render().encode("utf-8"), SECRET_MODE)
        logins.append(HubLogin(path, login))
    return logins[0], logins[1]


def _broker_url(state: RelayState) -> str:
    host = f"[{state.host}]" if ":" in state.host else state.host
    return f"mqtts://{host}:{state.tls_port}"


def create_relay(
    out_dir: Path,
    *,
    host: str,
    tls_port: int = TLS_PORT,
    bind: str = ALL_INTERFACES,
    local_port: int | None = LOCAL_PORT,
    user: str | None = None,
    force: bool = False,
    profile: RelayProfile = RelayProfile.DURABLE,
) -> NewCouple:
    """``heartline broker setup``: a new relay (new CA) with its first couple and their logins."""
    out_dir = out_dir.absolute()
    found = _existing_relay(out_dir)
    if found is not None and not force:
        raise RelayExistsError(out_dir, found)
    certs.subject_alt_names(host)  # a bad host name fails before anything is written
    run_as = choose_run_as(user)
    if run_as.owner is not None:
        check_reachable(out_dir, run_as.owner)
    for old in sorted(out_dir.glob(f"{COUPLE_DIR_PREFIX}*")) if force else ():
        shutil.rmtree(old)  # their logins belong to the CA and passwords being replaced
    couple = _new_couple(set())
    setup = setup_relay(
        out_dir,
        host=host,
        port=local_port,
        tls_port=tls_port,
        couples=[couple],
        tls_bind_address=bind,
        run_as=run_as.user_line,
        owner=run_as.owner,
        profile=profile,
    )
    state = RelayState(
        host=host,
        tls_port=tls_port,
        bind=bind,
        local_port=local_port,
        user=run_as.user_line,
        couples=(RelayCoupleEntry(1, couple),),
        profile=profile,
    )
    _write(out_dir / STATE_NAME, state.render().encode("utf-8"), SECRET_MODE)
    return NewCouple(setup, 1, couple, _write_logins(setup, 1, couple, _broker_url(state)), run_as)


def _password_entries(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RelayConfigError(
            "--out", str(path.parent), f"{path.name} is missing; the relay is damaged"
        ) from None
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            user, _, encoded = line.partition(":")
            entries[user] = encoded
    return entries


def add_couple(out_dir: Path) -> NewCouple:
    """``heartline broker add-couple``: one more couple on an existing relay; every existing
    hub keeps its password, the CA and server certificate stay as they are."""
    out_dir = out_dir.absolute()
    state = read_state(out_dir)
    # The files keep the owner setup gave them (the user mosquitto switches to).
    run_as = choose_run_as(state.user) if state.user is not None else RunAs(user_line=None, owner=None)
    existing = [entry.couple for entry in state.couples]
    kept = _password_entries(out_dir / PASSWORD_NAME)
    missing = sorted(hub for couple_ in existing for hub in couple_.hubs if hub not in kept)
    if missing:
        raise RelayConfigError(
            "--out", str(out_dir), f"passwd has no entry for hubs {', '.join(missing)}; the relay is damaged"
        )
    taken = {item for couple in existing for item in (couple.couple_id, *couple.hubs)}
    couple = _new_couple(taken)
    couples = [*existing, couple]
    setup = setup_relay(
        out_dir,
        host=state.host,
        port=state.local_port,
        tls_port=state.tls_port,
        couples=couples,
        tls_bind_address=state.bind,
        run_as=state.user,
        kept_hashes={hub: kept[hub] for couple_ in existing for hub in couple_.hubs},
        new_tls=False,
        owner=run_as.owner,
        profile=state.profile,
    )
    number = state.next_number
    state = RelayState(
        host=state.host,
        tls_port=state.tls_port,
        bind=state.bind,
        local_port=state.local_port,
        user=state.user,
        couples=(*state.couples, RelayCoupleEntry(number, couple)),
        profile=state.profile,
    )
    _write(out_dir / STATE_NAME, state.render().encode("utf-8"), SECRET_MODE)
    return NewCouple(setup, number, couple, _write_logins(setup, number, couple, _broker_url(state)), run_as)
