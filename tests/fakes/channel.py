"""A second chat channel for the core's tests: the ``ChannelPublisher`` port, recording what it is
asked to send (the Teams adapter's own tests drive the real one against a Bot Connector stand-in).
Its references are long JSON, as a Teams conversation reference is."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from bot.ports import MessageRef, PostRef, PrivateTo
from cards.model import CardView, DirectView, Text


@dataclass
class Sent:
    method: str
    target: str
    content: Any


class RecordingChannel:
    def __init__(self, name: str = "teams") -> None:
        self.name = name
        self.sent: list[Sent] = []
        self._changed = asyncio.Event()

    def of(self, method: str) -> list[Sent]:
        return [s for s in self.sent if s.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 10) -> list[Sent]:
        deadline = time.monotonic() + timeout
        while len(self.of(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} × {method} not sent; sent: {[s.method for s in self.sent]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=0.05)
        return self.of(method)

    def _record(self, method: str, target: str, content: Any) -> MessageRef:
        self.sent.append(Sent(method, target, content))
        self._changed.set()
        reference = {
            "conversation": {"id": target, "tenantId": "0" * 36},
            "serviceUrl": "https://smba.invalid/",
        }
        return json.dumps({**reference, "activityId": f"1:{len(self.sent)}", "padding": "x" * 300})

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        return self._record("post_card", target, view)

    async def update_card(self, post: PostRef, view: CardView) -> None:
        self._record("update_card", post.target, view)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        return self._record("post_in_thread", post.target, text)

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        return self._record("send_direct", user, view)

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        self._record("tell_privately", to.user, text)
        return None
