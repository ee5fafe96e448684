"""pytest plugin: a local HTTP endpoint that records what apprise's ``json://`` (or ``ntfy://``,
whose headers are kept under ``"headers"``) posts to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class NotifySink:
    port: int
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/notify"

    @property
    def ntfy_url(self) -> str:
        """apprise's ntfy plugin, self-hosted mode, pointed at this sink."""
        return f"ntfy://127.0.0.1:{self.port}/heartline-test"


def _handler(sink: NotifySink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            sink.received.append({"path": self.path, **json.loads(body or b"{}"), "headers": headers})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            del format, args

    return Handler


@pytest.fixture
def notify_sink() -> Iterator[NotifySink]:
    sink = NotifySink(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="notify-sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
