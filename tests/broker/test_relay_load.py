"""The load benchmark's short form: a few couples of synthetic hubs per relay profile, every touch
answered, every session back after the restart storm, and the table printed. No figure is
asserted (speed belongs in `python -m benchmarks relay_load`)."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from benchmarks.relay_load import couples_for, raise_fd_limit, report, run_one
from hub.broker.config import RelayProfile


@pytest.mark.slow
@pytest.mark.broker
@pytest.mark.parametrize("profile", list(RelayProfile))
def test_a_small_load_run_settles_and_reports(mosquitto_binary: Path, profile: RelayProfile) -> None:
    result = run_one(mosquitto_binary, profile, 10, phase_s=2.0, autosave_s=1, seed=3)
    assert (result.profile, result.couples, result.touches) == (profile, 10, 10)
    assert result.sessions_kept == 20  # a graceful restart keeps every session, on both profiles
    assert result.idle_rss_mib > 0
    assert result.bytes_per_touch >= 0
    text = report([result], 2.0, 1)
    assert "KiB written/touch" in text
    assert str(profile) in text


def test_couples_are_valid_relay_couples_and_ids_unique() -> None:
    couples = couples_for(3)
    ids = [item for couple in couples for item in (couple.couple_id, *couple.hubs)]
    assert len(ids) == len(set(ids)) == 9


def test_the_descriptor_limit_is_raised_only_as_far_as_needed() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_fd_limit(1) == soft  # a few clients fit already
    if hard != resource.RLIM_INFINITY:
        with pytest.raises(SystemExit, match="hard limit"):
            raise_fd_limit(hard)
