"""The callback-reminder heartbeat's job."""

from __future__ import annotations

from bot.services.callbacks import CallbackReminders
from jobs.failures import QuietFailures

_failures = QuietFailures("callback sweep")


async def run_callback_reminders(reminders: CallbackReminders) -> float | None:
    """Sweep; then the seconds until the next callback falls due (None when none is scheduled or
    the sweep failed: the next beat tries again)."""
    with _failures:  # the next beat tries again; the due times are on the rows
        await reminders.sweep()
        return await reminders.seconds_to_next()
    return None
