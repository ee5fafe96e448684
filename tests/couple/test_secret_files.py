"""Every file the invite and the join write that holds a secret is 0600 (its folder 0700), even
under a umask that would leave it readable to all."""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.cli.couple import couple_invite, couple_join
from hub.couple.invite import decode
from hub.couple.ledger import LEDGER_FILE
from hub.couple.link import LINK_FILE
from tests.couple.test_unicode_join import _inviter


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_secret_files_are_private(tmp_path: Path) -> None:
    out = io.StringIO()
    code_file = tmp_path / "invite.txt"
    couple_invite(_inviter(tmp_path, "Alex", "Sam"), "pw", 1, out, code_file=code_file)
    joined = tmp_path / "b" / "hub.toml"
    args = argparse.Namespace(
        config=joined, force=False, yes=True, person=None, partner=None, name=None, timezone="UTC",
        transport=None, data_dir=tmp_path / "b" / "data", web_port=None, web_listen=None,
    )  # fmt: skip
    couple_join(decode(code_file.read_text(), datetime.now(UTC)), args, out)
    for secret in (code_file, tmp_path / "a" / LEDGER_FILE, joined, tmp_path / "b" / "data" / LINK_FILE):
        assert secret.stat().st_mode & 0o777 == 0o600, secret
    for folder in (tmp_path / "a", tmp_path / "b" / "data"):
        assert folder.stat().st_mode & 0o777 == 0o700, folder
