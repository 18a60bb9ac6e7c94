"""The callback-reminder heartbeat's job."""

from __future__ import annotations

import logging

from bot.services.callbacks import CallbackReminders

log = logging.getLogger("centralita.jobs")


async def run_callback_reminders(reminders: CallbackReminders) -> float | None:
    """Sweep; then the seconds until the next callback falls due (None when none is scheduled or
    the sweep failed: the next beat tries again)."""
    try:
        await reminders.sweep()
        return await reminders.seconds_to_next()
    except Exception:  # the next beat tries again; the due times are on the rows
        log.exception("callback sweep failed")
        return None
