"""The callback-reminder heartbeat's job."""

from __future__ import annotations

from bot.services.callbacks import CallbackReminders
from jobs.failures import QuietFailures

_failures = QuietFailures("callback sweep")


async def run_callback_reminders(reminders: CallbackReminders) -> None:
    with _failures:  # the next beat tries again; the due times are on the rows
        await reminders.sweep()
