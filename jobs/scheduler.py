"""The only APScheduler import. An in-memory heartbeat in every process; the state lives in the rows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.callbacks import CallbackReminders
from bot.services.digest_sending import DigestSending
from bot.services.escalation import Escalation
from bot.services.kept import OverdueCallbacks
from bot.services.retention import Retention
from bot.services.transfer import TransferHolds
from bot.services.windows import ReplyWindows
from jobs.callbacks import run_callback_reminders
from jobs.digest import run_digests
from jobs.escalation import run_escalations
from jobs.retention import RETENTION_SECONDS, run_retention
from jobs.transfer import run_hold_sweep, run_overdue_sweep
from jobs.windows import run_window_sweep

# A step due sooner than the next beat gets a one-off sweep at its due time, but never sooner than
# this after the last one: a due card another worker holds locked must not make a busy loop.
MIN_WAKE_SECONDS = 0.05


class _StillRunning(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached": a beat that
    finds the previous sweep still running (waiting for a locked or absent database) is expected, and
    the warning came on every beat. The sweep's own failure is logged once (``jobs.failures``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


_STILL_RUNNING = _StillRunning()


class Heartbeat:
    """Sweeps due escalations, callbacks, digests and closing WhatsApp windows every ``seconds``.
    Start it inside the running loop.

    After each escalation sweep, the earliest pending step is looked up: when it falls due before
    the next beat, a one-off sweep is scheduled for that moment, so a step fires on time rather
    than up to a beat late. The beat stays, for cards other processes open."""

    def __init__(
        self,
        escalation: Escalation,
        reminders: CallbackReminders,
        seconds: float,
        holds: TransferHolds | None = None,
        overdue: OverdueCallbacks | None = None,
        digests: DigestSending | None = None,
        *,
        retention: Retention | None = None,
        windows: ReplyWindows | None = None,
    ) -> None:
        self.seconds = seconds
        self.escalation = escalation
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        logging.getLogger("apscheduler.scheduler").addFilter(_STILL_RUNNING)  # once: same object
        common = {
            "trigger": "interval",
            "seconds": seconds,
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 30,
            "replace_existing": True,
        }
        self._sweeps: set[asyncio.Task[Any]] = set()
        self.scheduler.add_job(self._escalate, id="escalations", **common)
        self.reminders = reminders
        self.scheduler.add_job(self._remind, id="callbacks", **common)
        if holds is not None:
            self.scheduler.add_job(self._sweep, id="holds", args=[run_hold_sweep, holds], **common)
        if overdue is not None:
            self.scheduler.add_job(self._sweep, id="overdue", args=[run_overdue_sweep, overdue], **common)
        if windows is not None:
            self.scheduler.add_job(self._sweep, id="windows", args=[run_window_sweep, windows], **common)
        if retention is not None:  # each organisation's purge of the day, once (see bot.services.retention)
            self.scheduler.add_job(
                self._sweep,
                id="retention",
                args=[run_retention, retention],
                **{**common, "seconds": RETENTION_SECONDS},
            )
        if digests is not None:  # due digests are looked up every beat; sent ones are remembered
            self.scheduler.add_job(self._sweep, id="digests", args=[run_digests, digests], **common)

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop firing, let a sweep in progress finish, then shut down. APScheduler's shutdown cancels
        running jobs, and a sweep cancelled mid-transaction can strand its database connection."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._sweeps:
            await asyncio.wait(set(self._sweeps), timeout=grace)
        self.scheduler.shutdown(wait=False)

    async def _sweep(self, job: Callable[[Any], Awaitable[None]], service: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sweeps.add(task)
        try:
            await job(service)
        finally:
            self._sweeps.discard(task)

    async def _escalate(self) -> None:
        await self._sweep(self._escalate_and_plan, self.escalation)

    async def _escalate_and_plan(self, escalation: Escalation) -> None:
        self._plan(self._escalate, "escalations-due", await run_escalations(escalation))

    async def _remind(self) -> None:
        await self._sweep(self._remind_and_plan, self.reminders)

    async def _remind_and_plan(self, reminders: CallbackReminders) -> None:
        self._plan(self._remind, "callbacks-due", await run_callback_reminders(reminders))

    def _plan(self, sweep: Callable[[], Awaitable[None]], job_id: str, wait: float | None) -> None:
        """A one-off ``sweep`` when the next due moment comes before the next beat."""
        if wait is None or wait >= self.seconds or not self.scheduler.running:
            return
        self.scheduler.add_job(
            sweep,
            trigger="date",
            run_date=datetime.now(UTC) + timedelta(seconds=max(wait, MIN_WAKE_SECONDS)),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=30,
        )

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)
