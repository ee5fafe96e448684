"""The body schemas: what a real hub writes always passes; free text is cut, not refused."""

from __future__ import annotations

from hub.couple.hello import HELLO_BODY
from hub.presence.share import PRESENCE_BODY
from hub.relay.body import MAX_RECEIPT_ALSO, RECEIPT_BODY, checked_body
from hub.signals.exchange import SIGNAL_BODY


def test_bodies_a_real_hub_writes_pass_and_free_text_is_cut() -> None:
    long_name = "Alexandra " * 20
    signal = checked_body(SIGNAL_BODY, {"signal": "felt_it", "person": long_name, "felt": "a" * 24, "new": 1})
    assert signal == {"signal": "felt_it", "person": long_name[:64], "felt": "a" * 24}  # unknown keys dropped
    reason = "; ".join(["feedback to C0:FF:EE:00:00:0A failed: timeout: no confirmation"] * 6)
    receipt = checked_body(
        RECEIPT_BODY, {"ref": "b" * 24, "fate": "failed", "channel": None, "reason": reason}
    )
    assert receipt is not None
    assert receipt["reason"] == reason[:200]
    assert checked_body(RECEIPT_BODY, {"ref": "b" * 24, "fate": "failed", "reason": ""}) is not None
    hello = {"nonce": "n" * 32, "public": "ab" * 32}
    assert checked_body(HELLO_BODY, hello) == hello
    assert checked_body(HELLO_BODY, {"nonce": "n" * 32}) is None  # no public half: no link
    presence = {"person": "Sam", "present": False, "since": "2026-02-14T08:00:00.123456+01:00"}
    assert checked_body(PRESENCE_BODY, presence) == presence


def test_wrong_types_and_lone_surrogates_are_refused() -> None:
    assert checked_body(SIGNAL_BODY, {"signal": "kiss"}) is None
    assert checked_body(SIGNAL_BODY, {"signal": "celebrate", "person": "\ud800"}) is None
    assert checked_body(RECEIPT_BODY, {"ref": "b" * 24, "fate": "delivered", "reason": 5}) is None
    assert checked_body(PRESENCE_BODY, {"person": "Sam", "present": 1, "since": None}) is None
    assert (
        checked_body(PRESENCE_BODY, {"person": "Sam", "present": True, "since": "0001-01-01T00:00:00+00:00"})
        is None
    )


def test_a_receipt_answers_a_list_of_ids_within_its_bound() -> None:
    base = {"ref": "b" * 24, "fate": "delivered", "channel": "button", "reason": None}
    many = [f"c{i:023x}" for i in range(MAX_RECEIPT_ALSO)]
    assert checked_body(RECEIPT_BODY, {**base, "also": many}) == {**base, "also": many}
    assert checked_body(RECEIPT_BODY, base) == base  # an older hub's receipt: ``also`` is optional
    for hostile in ([*many, "d" * 24], ["b" * 24, 5], "b" * 24, [None], ["x" * 500], {"a": 1}):
        assert checked_body(RECEIPT_BODY, {**base, "also": hostile}) is None, hostile
