"""The Slack Web API stand-in (tests.fakes.FakeSlack) served in the bench process, so it can stamp
when each card arrives with the same clock the load generator uses (``time.perf_counter``)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack, SlackCall

TOKEN = re.compile(r"\(ref ([a-z]+-\d+)\)")


class StandIn:
    def __init__(self) -> None:
        self.fake = FakeSlack()
        self.server = LoopbackServer(self.fake.app)
        self.url = ""
        self.wall_offset = 0.0

    async def __aenter__(self) -> StandIn:
        self.url = await self.server.__aenter__() + "/api/"
        self.wall_offset = time.time() - time.perf_counter()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.__aexit__(*exc)

    def mark(self) -> int:
        """A position in the call log; ``since`` arguments count from it."""
        return len(self.fake.calls)

    def wall(self, at: float) -> float:
        """A ``perf_counter`` arrival stamp as Unix time."""
        return at + self.wall_offset

    def cards(self, since: int, prefix: str) -> Watch:
        """New cards (``chat.postMessage`` with blocks, not in a thread) whose caller said
        ``(ref <prefix>-N)``, by that token."""
        return Watch(self.fake, since, lambda call: card_token(call, prefix))

    def touches(self, since: int, wanted: set[str]) -> Watch:
        """Messages among ``wanted`` touched again (update, thread reply, permalink), by their ts."""
        return Watch(self.fake, since, lambda call: touched_ts(call, wanted))

    def card_blocks(self, prefix: str) -> list[dict[str, Any]]:
        """The blocks of the first card whose caller said ``(ref <prefix>-…``: a real card to replay."""
        for call in self.fake.calls:
            if card_token(call, prefix) is not None:
                return list(call.args["blocks"])
        raise LookupError(f"no {prefix} card reached the stand-in")

    async def until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` holds (checked whenever a call arrives); False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.fake.changed.clear()
            if condition():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.fake.changed.wait(), timeout=min(left, 0.05))


class Watch:
    """Follows the stand-in's call log from a mark: key → first arrival (perf_counter).

    Each ``update()`` reads only the calls that came since the last one.
    """

    def __init__(self, fake: FakeSlack, since: int, key: Callable[[SlackCall], str | None]) -> None:
        self.fake, self.cursor, self.key = fake, since, key
        self.found: dict[str, float] = {}

    def update(self) -> dict[str, float]:
        calls = self.fake.calls
        while self.cursor < len(calls):
            call = calls[self.cursor]
            self.cursor += 1
            key = self.key(call)
            if key is not None:
                self.found.setdefault(key, call.at)
        return self.found


def card_token(call: SlackCall, prefix: str) -> str | None:
    if call.method != "chat.postMessage" or "blocks" not in call.args or "thread_ts" in call.args:
        return None
    match = TOKEN.search(str(call.args.get("text", "")))
    return match.group(1) if match and match.group(1).startswith(prefix + "-") else None


def touched_ts(call: SlackCall, wanted: set[str]) -> str | None:
    ts = call.args.get("ts") or call.args.get("thread_ts") or call.args.get("message_ts")
    return str(ts) if ts and str(ts) in wanted else None
