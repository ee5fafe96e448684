"""Correctly sealed, hostile envelopes through the hub's real receiver loop: none crashes or
stalls it, each is acknowledged and counted under one reason, a flood is logged once per reason,
and genuine messages still arrive. The link is offline (tests.relay.hostile.OfflineLink): the
broker only carries the bytes, the envelope checks decide."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from hub.relay.envelope import Envelope
from hub.relay.kinds import AfterCommit
from tests.relay.hostile import CRASHERS, crasher, genuine, hostile, inbound, message_id, receiving_hub
from tests.support.waiting import eventually

# HEARTLINE_FUZZ_EXAMPLES=100000 runs the full-size campaign; benchmarks/envelope_fuzz.py times it.
EXAMPLES = int(os.environ.get("HEARTLINE_FUZZ_EXAMPLES", "3000"))


async def test_the_envelopes_that_crash_looped_the_hub_are_acknowledged_counted_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with receiving_hub(tmp_path) as hub:
        flood = [crasher(reason) for reason in CRASHERS for _ in range(50)]
        for mid, payload in enumerate([*flood, genuine(7)], 1):
            hub.link.messages.put_nowait(inbound(payload, mid))
        await eventually(lambda: hub.link.acked == len(flood) + 1, what="every message acknowledged")
        assert dict(hub.couple.relay.rejected) == dict.fromkeys(CRASHERS, 50)
        assert hub.stored(7)
    refusals = [r.getMessage() for r in caplog.records if "refused a relay message" in r.getMessage()]
    assert len(refusals) == len(CRASHERS)  # 150 refused, three lines
    assert all(any(f"({reason})" in line for line in refusals) for reason in CRASHERS)


async def test_random_hostile_envelopes_never_escape_and_each_is_accounted_for(tmp_path: Path) -> None:
    rng = random.Random(14)
    payloads = [hostile(rng, index) for index in range(EXAMPLES)]
    async with receiving_hub(tmp_path) as hub:
        for mid, payload in enumerate([*payloads, genuine(EXAMPLES)], 1):
            hub.link.messages.put_nowait(inbound(payload, mid))
        await eventually(lambda: hub.link.acked == EXAMPLES + 1, what="every message acknowledged")
        rejected = hub.couple.relay.rejected
        assert rejected["handler_error"] == 0  # no payload got past the checks to break a handler
        for reason in ("too_deep", "non_finite", "out_of_range", "bad_time", "malformed", "unknown_kind"):
            assert rejected[reason] > 0, reason
        for kind in ("signal", "receipt", "hello", "presence"):
            assert rejected[f"bad_{kind}"] > 0, kind
        assert hub.stored(EXAMPLES)  # the receiver still works after all of them


async def test_a_message_its_handler_raises_on_is_refused_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with receiving_hub(tmp_path) as hub:
        signals = hub.couple.signals
        received = signals.received

        def buggy(envelope: Envelope) -> AfterCommit | None:
            if envelope.id == message_id(2):  # a handler bug no valid input should reach
                raise RuntimeError("a bug")
            return received(envelope)

        monkeypatch.setattr(signals, "received", buggy)
        hub.couple.relay.receive([inbound(genuine(index), index) for index in (1, 2, 3)])
        assert hub.link.acked == 3
        assert [hub.stored(index) for index in (1, 2, 3)] == [True, False, True]
        assert hub.couple.relay.rejected["handler_error"] == 1
