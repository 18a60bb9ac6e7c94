"""The delivery worker: a task that sends the outbox as soon as a use case commits, and polls too."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.services.delivery import Delivery

log = logging.getLogger("centralita.delivery")


class WakeUp:
    """The outbox signal: set by use cases after commit, awaited by the worker."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def notify(self) -> None:
        self.event.set()


# After a round that sent something, the worker waits this long before the next one, so that under
# load a round takes many rows: the lease and the save cost the same for one row or a hundred. A
# card arriving when the worker is idle is not delayed; under a burst, a card may wait this long
# more, and the burst gets through faster (`make bench` (d): about a fifth more cards per second).
COALESCE_SECONDS = 0.02


class DeliveryWorker:
    def __init__(self, delivery: Delivery, wake: WakeUp, poll_seconds: float) -> None:
        self.delivery = delivery
        self.wake = wake
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="centralita-delivery")

    async def stop(self, grace: float = 5.0) -> None:
        """Let the round in progress finish (a cancelled transaction can strand its connection),
        then stop; cancel only when the round takes longer than ``grace`` seconds."""
        self._stopping = True
        self.wake.notify()
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
        while not self._stopping:
            self.wake.event.clear()
            try:
                sent = await self.delivery.deliver_due()
                wait = 0.0 if sent else await self._idle_wait()
                if 0 < sent < self.delivery.batch:
                    await asyncio.sleep(COALESCE_SECONDS)
            except Exception:  # the database may be briefly away; try again shortly
                log.exception("delivery round failed")
                wait = self.poll_seconds
            if wait > 0:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that
                # lands as the event is set, and the worker (and the server's shutdown) never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self.wake.event.wait()

    async def _idle_wait(self) -> float:
        due_in = await self.delivery.next_due_in()
        return self.poll_seconds if due_in is None else min(self.poll_seconds, max(due_in, 0.01))
