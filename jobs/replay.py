"""The spool replayer: a task in every server process that replays the outage spool into the
database as soon as it answers (and, at start, whatever a previous process left behind)."""

from __future__ import annotations

import asyncio
import contextlib

from bot.services.replay import Replay
from jobs.failures import QuietFailures

REPLAY_SECONDS = 0.5
"""How often the spool is looked at; a replay follows within this long of the database's return."""


class SpoolReplayer:
    def __init__(self, replay: Replay, seconds: float = REPLAY_SECONDS) -> None:
        self.replay, self.seconds = replay, seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failures = QuietFailures("spool replay")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="centralita-spool-replay")

    async def stop(self, grace: float = 5.0) -> None:
        """Let a replay in progress finish its line, then stop; cancel it after ``grace`` seconds."""
        self._stopping.set()
        if self._task is None:
            return
        try:
            async with asyncio.timeout(grace):
                await asyncio.shield(self._task)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with self._failures:
                await self.replay.run()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.seconds):
                    await self._stopping.wait()
