"""The only APScheduler import. An in-memory heartbeat in every process; the state lives in the rows."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.callbacks import CallbackReminders
from bot.services.escalation import Escalation
from jobs.callbacks import run_callback_reminders
from jobs.escalation import run_escalations


class Heartbeat:
    """Sweeps due escalations and callbacks every ``seconds``. Start it inside the running loop."""

    def __init__(self, escalation: Escalation, reminders: CallbackReminders, seconds: float) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        common = {
            "trigger": "interval",
            "seconds": seconds,
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 30,
            "replace_existing": True,
        }
        self.scheduler.add_job(run_escalations, id="escalations", args=[escalation], **common)
        self.scheduler.add_job(run_callback_reminders, id="callbacks", args=[reminders], **common)

    def start(self) -> None:
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)
