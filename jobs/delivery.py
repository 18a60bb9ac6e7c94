"""The delivery worker: a task that sends the outbox as soon as a use case commits, and polls too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Sequence

from bot.services.delivery import Delivery, Saved
from bot.services.outbox import Sending
from jobs.failures import QuietFailures

log = logging.getLogger("centralita.delivery")


class WakeUp:
    """The outbox signal: set by use cases after commit, awaited by the worker. It also carries the
    rows handed over leased, and whether other rows were written (only those need a lease round);
    ``notices`` counts those writes, so a round can tell whether rows were written while it sent."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._handed: list[object] = []
        self._notified = False
        self.notices = 0

    def notify(self) -> None:
        self._notified = True
        self.notices += 1
        self.event.set()

    def hand_over(self, leased: Sequence[object]) -> None:
        self._handed.extend(leased)
        self.event.set()

    def has_handed(self) -> bool:
        return bool(self._handed)

    def take_handed(self) -> list[object]:
        handed, self._handed = self._handed, []
        return handed

    def take_notified(self) -> bool:
        notified, self._notified = self._notified, False
        return notified


MAX_LEASE_ROUNDS = 4
"""Lease rounds sending at once, at most: the limit keeps a slow platform from having the whole
backlog leased at once, to be left for the next lease when the leases run low."""
SLOW_ROUND_SECONDS = 1.0
"""A round still sending after this long is waiting on a slow call: the next round of its kind (new
cards handed over, or a lease round) starts beside it then, so the slow call holds back no other
post for longer. Rounds that finish sooner go one after another, as before, and what comes meanwhile
waits to go in the next one: with a healthy platform, rounds side by side only compete for its
connections and the database, and the escalation burst (`make bench` (e)) reached Slack two to
three times later."""


class _InFlight:
    """The rounds of one kind still sending, by when each started (``time.monotonic``)."""

    def __init__(self, limit: float = math.inf) -> None:
        self.limit = limit
        self.started: list[float] = []

    def held_for(self) -> float:
        """Seconds until another round of this kind may start: now when none is sending, or when the
        last one started has been sending for ``SLOW_ROUND_SECONDS``; at the limit, not until one
        finishes."""
        if len(self.started) >= self.limit:
            return math.inf
        if not self.started:
            return 0.0
        return max(0.0, max(self.started) + SLOW_ROUND_SECONDS - time.monotonic())

    def begin(self) -> float:
        started = time.monotonic()
        self.started.append(started)
        return started

    def end(self, started: float) -> None:
        self.started.remove(started)


class DeliveryWorker:
    """Runs delivery rounds: the rows handed over, and lease rounds when rows were written, a round
    asks for one, or the wait for the next due row is over. Each round sends as a task of its own,
    so the worker goes on while a round waits on a slow call; a lane's rows stay leased while they
    are in flight, so no other round takes them."""

    def __init__(self, delivery: Delivery, wake: WakeUp, poll_seconds: float) -> None:
        self.delivery = delivery
        self.wake = wake
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._rounds: set[asyncio.Task[None]] = set()
        self._handed = _InFlight()
        self._leasing = _InFlight(MAX_LEASE_ROUNDS)
        self._recheck = False
        self._failures = QuietFailures("delivery round", log)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="centralita-delivery")

    async def stop(self, grace: float = 5.0) -> None:
        """Let the rounds in progress finish (a cancelled transaction can strand its connection),
        then stop; cancel only when they take longer than ``grace`` seconds."""
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
        try:
            await self._loop()
            await self._send_left_over()
            while self._rounds:
                await asyncio.wait(set(self._rounds))
        finally:
            for task in self._rounds:
                task.cancel()
            await asyncio.gather(*self._rounds, return_exceptions=True)

    async def _loop(self) -> None:
        lease = True  # the first round looks at whatever is due already
        while not self._stopping:
            self.wake.event.clear()
            try:
                wait = min(self.poll_seconds, self._send_handed())
                if self._lease_wanted(lease):
                    held_for = self._leasing.held_for()
                    if held_for > 0:  # remembered: the round that finishes, or the wait, asks again
                        self._recheck, wait = True, min(wait, held_for)
                    else:
                        leased = await self._lease_round()
                        wait = 0.0 if leased >= self.delivery.batch else await self._idle_wait()
            except Exception as error:  # the database may be briefly away; try again shortly
                self._failures.failure(error)
                await self._woken_within(self.poll_seconds)
                lease = True
                continue
            self._failures.success()
            lease = wait == 0 or not await self._woken_within(wait)

    def _send_handed(self) -> float:
        """Start sending the rows handed over, unless a round of them is sending and not slow yet;
        the seconds until those waiting may go."""
        held_for = self._handed.held_for()
        if held_for > 0:
            return held_for if self.wake.has_handed() else math.inf
        handed = self.wake.take_handed()
        if handed:
            self._start(self._handed_sent(handed, self._handed.begin()))
        return math.inf

    async def _handed_sent(self, handed: list[object], started: float) -> None:
        try:
            await self.delivery.deliver_handed(handed, self._saved())
        finally:
            self._handed.end(started)
            if self.wake.has_handed():
                self.wake.event.set()

    def _lease_wanted(self, timed_out: bool) -> bool:
        notified = self.wake.take_notified()
        wanted, self._recheck = timed_out or notified or self._recheck, False
        return wanted

    async def _lease_round(self) -> int:
        """Lease a batch and start sending it; how many rows it leased."""
        batch = await self.delivery.lease_due()
        if batch.rows:
            full = len(batch.rows) >= self.delivery.batch
            self._start(
                self._leased_sent(self.delivery.send(batch, self._saved()), full, self._leasing.begin())
            )
        return len(batch.rows)

    async def _leased_sent(self, sending: Awaitable[int], full: bool, started: float) -> None:
        """A lease round's sending; once it is over, a round that took a full batch (rows may wait
        behind its lanes) or a lease held back meanwhile asks for the next lease."""
        try:
            await sending
        finally:
            self._leasing.end(started)
            if full or self._recheck:
                self._ask_for_lease()

    def _saved(self) -> Saved:
        """Told each part of a round as it is written: rows written meanwhile may be waiting behind
        the lanes just finished, and a row that failed has a retry time the worker's wait must see;
        either way a lease round runs."""
        notices = self.wake.notices

        def saved(rows: Sequence[Sending]) -> None:
            if self.wake.notices != notices or any(row.status == "pending" for row in rows):
                self._ask_for_lease()

        return saved

    def _ask_for_lease(self) -> None:
        self._recheck = True
        self.wake.event.set()

    def _start(self, sending: Awaitable[object]) -> None:
        task = asyncio.create_task(self._logged(sending))
        self._rounds.add(task)
        task.add_done_callback(self._rounds.discard)

    @staticmethod
    async def _logged(sending: Awaitable[object]) -> None:
        try:
            await sending
        except Exception:  # its rows stay leased, and go out when their lease runs out
            log.exception("delivery round failed")

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
