"""What a phone notification carries, caught by a local sink standing in for ntfy and a JSON
webhook: the title and text, ntfy's priority and tags by meaning, and no URL a phone would fetch
(apprise's default icon lives on a public code host)."""

from __future__ import annotations

import json

from hub.delivery.phone import PhoneNotifier
from hub.events import SignalKind
from tests.support.notify_sink import NotifySink


async def test_no_remote_url_and_priority_by_meaning(notify_sink: NotifySink) -> None:
    phone = PhoneNotifier([notify_sink.ntfy_url, notify_sink.apprise_url])
    assert await phone.notify(SignalKind.NEED_YOU, "Sam")
    assert await phone.notify(SignalKind.THINKING_OF_YOU, "Sam")
    assert await phone.notify_text("Button battery low", "Alex's button is at 18 %.")
    ntfy = [r for r in notify_sink.received if r["path"] != "/notify"]
    webhook = [r for r in notify_sink.received if r["path"] == "/notify"]
    assert [r["title"] for r in ntfy] == ["Sam needs you", "Thinking of you", "Button battery low"]
    assert len(webhook) == 3
    for posted in notify_sink.received:
        text = json.dumps(posted)
        assert "://" not in text, posted  # no icon, image, attachment or click URL
        assert "x-icon" not in posted["headers"]
        assert "x-attach" not in posted["headers"]
        assert "image" not in {k.lower() for k in posted if k != "headers"}
    need_you, thinking, alert = (r["headers"] for r in ntfy)
    assert (need_you.get("x-priority"), need_you.get("x-tags")) == ("high", "sos")
    assert (thinking.get("x-priority"), thinking.get("x-tags")) == (None, "heart")  # default: no header
    assert alert.get("x-tags") == "bell"


async def test_a_priority_in_the_url_is_kept(notify_sink: NotifySink) -> None:
    phone = PhoneNotifier([notify_sink.ntfy_url + "?priority=max"])
    assert await phone.notify(SignalKind.THINKING_OF_YOU, "Sam")
    assert notify_sink.received[0]["headers"]["x-priority"] == "max"
