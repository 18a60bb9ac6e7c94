"""Requests far bigger than any webhook are refused with 413 before their body is held in memory.

Twilio's webhooks are a few dozen short fields, Slack's largest payloads (a modal's whole view) some
tens of kilobytes; ``MAX_BODY_BYTES`` leaves room for both many times over. A body announced bigger
(``Content-Length``) is refused without being held, one that grows past the limit (chunked) as soon
as it does. Before the 413 goes out, the rest of the body is read and dropped, up to
``DISCARD_BYTES`` (what nginx calls a lingering close): a client still sending when the connection
closes would see a reset instead of the answer. The application gets the body it would have got
otherwise.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
DISCARD_BYTES = 64 * 1024 * 1024


class BodyLimit:
    """ASGI middleware: ``app.add_middleware(BodyLimit, max_bytes=...)``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _drop(receive, more=True)
            await self._too_large(send)
            return
        messages = await self._read(receive)
        if messages is None:
            await self._too_large(send)
            return
        await self.app(scope, _replay(messages, receive), send)

    async def _read(self, receive: Receive) -> list[Message] | None:
        """The request's body messages; None when they pass the limit (the rest is dropped)."""
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if size > self.max_bytes:
                await _drop(receive, more=more)
                return None
            if not more:
                return messages

    async def _too_large(self, send: Send) -> None:
        megabytes = self.max_bytes / (1024 * 1024)
        body = json.dumps({"detail": f"Request body too large: at most {megabytes:g} MB."}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drop(receive: Receive, *, more: bool) -> None:
    """Read and forget the rest of a body (``more``: some of it is still to come)."""
    dropped = 0
    while more and dropped <= DISCARD_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        dropped += len(message.get("body", b""))
        more = bool(message.get("more_body", False))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
