"""Who mosquitto runs as, so the relay's files are readable by it when started as the docs say.

mosquitto 2.x started as root reads only ``mosquitto.conf`` as root: right after parsing it,
``main()`` calls ``drop_privileges()`` (src/mosquitto.c) and switches to the config's ``user``
(``mosquitto`` when the option is absent; ``nobody`` when that user does not exist). Everything
else is opened afterwards as that user: the persistence database, the log file, the password and
ACL files (``mosquitto_security_init``), the TLS certificate and key (``listeners__start``), and
on SIGHUP the config itself again, the certificates, passwd and acl. Started by anyone else,
mosquitto never switches user and reads every file as the user who started it.

So as root, setup writes ``user mosquitto`` and hands the directory and the files the broker
reads to that user (owner and group: mosquitto warns about password and ACL files owned by anyone
else); the CA key, the relay's state and the hubs' login files stay root's. As a normal user it
writes no ``user`` line and changes no owner.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hub.broker.config import RelayConfigError

DEFAULT_SERVICE_USER: Final = "mosquitto"
ROOT: Final = "root"


@dataclass(frozen=True, slots=True)
class ServiceUser:
    """The account mosquitto switches to; the files it reads are chowned to it."""

    name: str
    uid: int
    gid: int

    def groups(self) -> set[int]:
        return set(os.getgrouplist(self.name, self.gid))

    def chown(self, path: Path) -> None:
        os.chown(path, self.uid, self.gid)


@dataclass(frozen=True, slots=True)
class RunAs:
    """What goes in mosquitto.conf (``user``; None: no line) and whose files they become."""

    user_line: str | None
    owner: ServiceUser | None
    note: str | None = None  # one line for the person when the choice is not the usual one


def choose_run_as(requested: str | None, *, euid: int | None = None) -> RunAs:
    """``requested`` is ``--user``; None means mosquitto's own default when root."""
    euid = os.geteuid() if euid is None else euid
    if euid != 0:
        if requested is not None:
            raise RelayConfigError(
                "--user", requested, "only root can hand the files to another user; run setup as root"
            )
        return RunAs(user_line=None, owner=None)
    name = requested or DEFAULT_SERVICE_USER
    if name == ROOT:
        return RunAs(user_line=ROOT, owner=None, note="mosquitto will keep running as root (--user root)")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        if requested is not None:
            raise RelayConfigError("--user", name, "no such user on this machine; create it first") from None
        return RunAs(
            user_line=ROOT,
            owner=None,
            note=(
                f"no '{DEFAULT_SERVICE_USER}' user on this machine, so mosquitto.conf says `user root` "
                "(install the mosquitto package, then run setup again with --force, to run it unprivileged)"
            ),
        )
    return RunAs(user_line=name, owner=ServiceUser(name, entry.pw_uid, entry.pw_gid))


def _can_search(user: ServiceUser, info: os.stat_result) -> bool:
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in user.groups():
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def check_reachable(out_dir: Path, user: ServiceUser) -> None:
    """The service user must be able to walk down to ``out_dir``, or mosquitto cannot open a file
    there; refused before anything is written, naming the closed directory."""
    for parent in reversed(out_dir.absolute().parents):
        try:
            info = parent.stat()
        except FileNotFoundError:
            return  # created by setup with the usual 0755
        if not _can_search(user, info):
            group = grp.getgrgid(info.st_gid).gr_name if info.st_gid else "root"
            raise RelayConfigError(
                "--out",
                str(out_dir),
                f"mosquitto runs as '{user.name}' and cannot enter {parent} "
                f"(mode {stat.S_IMODE(info.st_mode):04o}, group {group}); choose a directory it can "
                "reach, such as /var/lib/heartline-relay",
            )
