"""Correct ``Allow`` headers on 405 answers.

Starlette answers a wrong method with the methods of the *first* route whose path matched, so a
path served by two routes (``GET`` and ``POST /api/buttons``) advertises only one of them. This
small ASGI middleware lists every method any route serves for that path.
"""

from __future__ import annotations

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHOD_NOT_ALLOWED = 405


class AllowHeader:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == METHOD_NOT_ALLOWED:
                allowed = _allowed_methods(scope)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(sorted(allowed)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)


def _allowed_methods(scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in scope["app"].router.routes:
        match, _ = route.matches(scope)
        if match in (Match.FULL, Match.PARTIAL):
            methods.update(getattr(route, "methods", None) or ())
    return methods
