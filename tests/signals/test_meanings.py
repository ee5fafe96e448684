"""Meanings are kept: only a tap becomes "felt it" (answering a touch that was delivered, within
the window on the hub's clock) or a shared moment (two taps made within seconds, by their
creation times); a double tap, a long press and "I need you" always arrive as themselves.

Two homes' real couple links (``open_couple_link``) over real mosquitto, on one virtual clock
(the couple's hubs keep NTP time). ``Person.looks`` is what the recipient was actually shown;
every test checks it against both homes' signal logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.clock import ManualClock
from hub.delivery.router import Outcome, Waiting
from hub.events import Fate, Gesture, SignalKind, SignalRecord
from tests.relay.node import FAST_RESEND_S, Person, RelayNode, node_config
from tests.signals.touching import touch
from tests.support.mosquitto import Broker
from tests.support.waiting import eventually, eventually_async

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def couple(mosquitto_broker: Broker, tmp_path: Path) -> AsyncIterator[tuple[RelayNode, RelayNode]]:
    clock = ManualClock(START)
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"), clock=clock)
    b = RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b"), clock=clock)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


class OutOfReach(Person):
    """A person nothing reaches (until ``reachable``): every delivery fails."""

    reachable = False

    async def deliver(
        self, signal: SignalRecord, look: SignalKind | None = None, waiting: Waiting | None = None
    ) -> Outcome:
        if self.reachable:
            return await super().deliver(signal, look, waiting)
        return Outcome(Fate.FAILED, None, "button 1: timeout; no phone configured")


async def _resend_until(clock: ManualClock, check: Callable[[], bool]) -> None:
    async def moved() -> bool | None:
        if check():
            return True
        clock.advance(FAST_RESEND_S)
        await asyncio.sleep(0.1)  # the relay's resend loop sees the new time
        return None

    await eventually_async(moved, what="the resent taps to arrive")


def _clock(node: RelayNode) -> ManualClock:
    assert isinstance(node.clock, ManualClock)
    return node.clock


async def _felt(sender: RelayNode, recipient: RelayNode, signal: SignalRecord) -> SignalKind:
    """Wait until ``signal`` reached ``recipient`` and its receipt came back; the meaning both
    logs agree on is what the recipient was shown."""
    await eventually(lambda: signal.id in recipient.person.looks, what=f"{signal.id} to be felt")
    shown = recipient.person.looks[signal.id]

    def settled() -> bool:
        sent = sender.signals.get(signal.id)
        return sent is not None and sent.fate is Fate.DELIVERED

    await eventually(settled, what=f"the receipt of {signal.id}")
    sent, received = sender.signals.get(signal.id), recipient.signals.get(signal.id)
    assert sent is not None
    assert received is not None
    assert sent.kind is received.kind is shown, (sent.kind, received.kind, shown)
    return shown


async def test_only_a_tap_answers_a_felt_touch_and_only_inside_the_window(
    couple: tuple[RelayNode, RelayNode],
) -> None:
    a, b = couple
    clock = _clock(a)
    first = touch(a, Gesture.TAP)
    assert await _felt(a, b, first) is SignalKind.THINKING_OF_YOU
    clock.advance(10)  # past a shared moment, inside the felt-it window
    proud = touch(b, Gesture.DOUBLE_TAP)
    assert proud.kind is SignalKind.CELEBRATE  # a double tap keeps its meaning
    assert await _felt(b, a, proud) is SignalKind.CELEBRATE
    held = touch(b, Gesture.LONG_PRESS)
    assert await _felt(b, a, held) is SignalKind.NEED_YOU
    reply = touch(b, Gesture.TAP)
    assert reply.kind is SignalKind.FELT_IT
    assert await _felt(b, a, reply) is SignalKind.FELT_IT
    again = touch(b, Gesture.TAP)  # a touch is answered once; the next tap is a tap
    assert await _felt(b, a, again) is SignalKind.THINKING_OF_YOU

    clock.advance(61)  # the default window is 60 s, on the hub's clock: A's answer is too late
    second = touch(a, Gesture.TAP)
    assert await _felt(a, b, second) is SignalKind.THINKING_OF_YOU
    clock.advance(59)
    inside = touch(b, Gesture.TAP)
    assert await _felt(b, a, inside) is SignalKind.FELT_IT
    clock.advance(5)
    third = touch(a, Gesture.TAP)  # a "felt it" is never answered
    assert await _felt(a, b, third) is SignalKind.THINKING_OF_YOU
    clock.advance(61)
    late = touch(b, Gesture.TAP)
    assert await _felt(b, a, late) is SignalKind.THINKING_OF_YOU


async def test_a_tap_cannot_answer_a_touch_that_was_not_delivered(
    mosquitto_broker: Broker, tmp_path: Path
) -> None:
    clock = ManualClock(START)
    a = RelayNode(node_config(mosquitto_broker, 0, tmp_path / "a"), clock=clock)
    out_of_reach = OutOfReach()  # B's button and phone do not answer: nothing is felt
    b = RelayNode(node_config(mosquitto_broker, 1, tmp_path / "b"), clock=clock, person=out_of_reach)
    await a.start()
    await b.start()
    try:
        unfelt = touch(a, Gesture.TAP)
        await eventually(lambda: b.signals.get(unfelt.id) is not None, what="B to receive it")
        await eventually(
            lambda: (s := b.signals.get(unfelt.id)) is not None and s.fate is Fate.FAILED, what="not felt"
        )
        clock.advance(10)
        out_of_reach.reachable = True
        tap = touch(b, Gesture.TAP)
        assert tap.kind is SignalKind.THINKING_OF_YOU  # nothing was felt, so nothing is answered
        assert await _felt(b, a, tap) is SignalKind.THINKING_OF_YOU
    finally:
        await a.stop()
        await b.stop()


async def test_need_you_is_never_masked_by_a_moment(couple: tuple[RelayNode, RelayNode]) -> None:
    a, b = couple
    clock = _clock(a)
    tap = touch(a, Gesture.TAP)
    assert await _felt(a, b, tap) is SignalKind.THINKING_OF_YOU
    clock.advance(4)  # inside the shared-moment window
    need = touch(b, Gesture.LONG_PRESS)
    assert need.kind is SignalKind.NEED_YOU
    assert await _felt(b, a, need) is SignalKind.NEED_YOU
    # And the other way: a tap right after a need_you is not a moment with it.
    clock.advance(2)
    answer = touch(a, Gesture.TAP)
    assert await _felt(a, b, answer) is SignalKind.FELT_IT  # it answers the felt "I need you"


async def test_a_tap_within_seconds_of_the_partners_is_a_shared_moment(
    couple: tuple[RelayNode, RelayNode],
) -> None:
    a, b = couple
    clock = _clock(a)
    first = touch(a, Gesture.TAP)
    assert await _felt(a, b, first) is SignalKind.THINKING_OF_YOU  # felt as itself, at once
    clock.advance(3)
    second = touch(b, Gesture.TAP)
    assert second.kind is SignalKind.SHARED_MOMENT
    assert await _felt(b, a, second) is SignalKind.SHARED_MOMENT
    assert b.signals.get(first.id).kind is SignalKind.THINKING_OF_YOU  # type: ignore[union-attr]


async def test_crossing_taps_are_one_shared_moment_on_both_sides(
    mosquitto_broker: Broker, couple: tuple[RelayNode, RelayNode]
) -> None:
    """Each hub makes its tap before the other's arrives (the broker is down for a moment): both
    hubs pair them on the two creation times, and both are a shared moment on both sides."""
    a, b = couple
    clock = _clock(a)
    mosquitto_broker.stop()
    a_tap = touch(a, Gesture.TAP)
    clock.advance(2)
    b_tap = touch(b, Gesture.TAP)
    assert a_tap.kind is b_tap.kind is SignalKind.THINKING_OF_YOU  # neither knew of the other yet
    mosquitto_broker.start()
    # A tap handed to a socket the dead broker never read is resent once its resend time (on
    # the hub's clock) has passed: let that clock run until both taps are in; their creation
    # times, and so the moment, were decided before.
    await _resend_until(clock, lambda: a_tap.id in b.person.looks and b_tap.id in a.person.looks)
    assert await _felt(a, b, a_tap) is SignalKind.SHARED_MOMENT
    assert await _felt(b, a, b_tap) is SignalKind.SHARED_MOMENT


async def test_a_moment_is_decided_on_creation_times_not_arrival(
    mosquitto_broker: Broker, couple: tuple[RelayNode, RelayNode]
) -> None:
    """A broker outage holds A's tap back; B taps 13 s after A did, just as A's tap arrives:
    13 s apart is not "at the same time"."""
    a, b = couple
    clock = _clock(a)
    mosquitto_broker.stop()
    a_tap = touch(a, Gesture.TAP)
    clock.advance(13)
    mosquitto_broker.start()
    await _resend_until(clock, lambda: b.signals.get(a_tap.id) is not None)  # A's late tap at B
    assert await _felt(a, b, a_tap) is SignalKind.THINKING_OF_YOU
    b_tap = touch(b, Gesture.TAP)  # just after A's tap arrived: it answers it, no moment
    assert b_tap.kind is SignalKind.FELT_IT
    assert await _felt(b, a, b_tap) is SignalKind.FELT_IT
    assert not any(s.kind is SignalKind.SHARED_MOMENT for s in a.sent() + b.sent())
