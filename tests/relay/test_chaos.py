"""The chaos benchmark's short form: broker kills, cuts and a hub kill at seeded moments; zero
lost, zero duplicates shown (the long form is `python -m benchmarks.relay_chaos`)."""

from __future__ import annotations

import pytest

from benchmarks.relay_chaos import QUICK, run


@pytest.mark.slow
@pytest.mark.broker
def test_quick_chaos_loses_nothing_and_shows_nothing_twice() -> None:
    tally, report = run(QUICK, seed=7)
    assert tally.settled, report
    assert (tally.broker_kills, tally.cuts, tally.hub_kills) == (
        QUICK.broker_kills,
        QUICK.cuts,
        QUICK.hub_kills,
    ), report
    assert "goal: zero lost, zero duplicates shown -> met" in report, report
    assert sum(len(ids) for ids in tally.sent) == 2 * QUICK.signals
