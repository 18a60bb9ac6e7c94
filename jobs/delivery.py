"""The delivery worker: a task that sends the outbox as soon as a use case commits, and polls too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from bot.services.delivery import Delivery
from jobs.failures import QuietFailures

log = logging.getLogger("centralita.delivery")


class WakeUp:
    """The outbox signal: set by use cases after commit, awaited by the worker. It also carries the
    rows handed over leased, and whether other rows were written (only those need a lease round)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._handed: list[object] = []
        self._notified = False

    def notify(self) -> None:
        self._notified = True
        self.event.set()

    def hand_over(self, leased: Sequence[object]) -> None:
        self._handed.extend(leased)
        self.event.set()

    def take_handed(self) -> list[object]:
        handed, self._handed = self._handed, []
        return handed

    def take_notified(self) -> bool:
        notified, self._notified = self._notified, False
        return notified


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
        self._failures = QuietFailures("delivery round", log)

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
        lease = True  # the first round looks at whatever is due already
        while not self._stopping:
            self.wake.event.clear()
            try:
                handed = await self.delivery.deliver_handed(self.wake.take_handed())
                sent, wait = handed.sent, self.poll_seconds
                if lease or self.wake.take_notified() or handed.failed:
                    due = await self.delivery.deliver_due()
                    sent += due
                    wait = 0.0 if due else await self._idle_wait()
                if 0 < sent < self.delivery.batch:
                    await asyncio.sleep(COALESCE_SECONDS)
            except Exception as error:  # the database may be briefly away; try again shortly
                self._failures.failure(error)
                await self._woken_within(self.poll_seconds)
                lease = True
                continue
            self._failures.success()
            lease = wait == 0 or not await self._woken_within(wait)
        await self._send_left_over()

    async def _send_left_over(self) -> None:
        """At shutdown, the rows handed over since the last round go out now, rather than when their
        lease runs out after a restart."""
        try:
            await self.delivery.deliver_handed(self.wake.take_handed())
        except Exception:
            log.exception("delivery of the last new cards failed; they go out when their lease runs out")

    async def _woken_within(self, seconds: float) -> bool:
        """Wait for the signal, at most ``seconds``; False when the time ran out (a lease round is
        due then: retries and rows whose lease expired are found only by looking)."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that lands
        # as the event is set, and the worker (and the server's shutdown) never ends.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wake.event.wait()
                return True
        return False

    async def _idle_wait(self) -> float:
        due_in = await self.delivery.next_due_in()
        return self.poll_seconds if due_in is None else min(self.poll_seconds, max(due_in, 0.01))
