"""The callback-reminder heartbeat's job."""

from __future__ import annotations

import logging

from bot.services.callbacks import CallbackReminders

log = logging.getLogger("centralita.jobs")


async def run_callback_reminders(reminders: CallbackReminders) -> None:
    try:
        await reminders.sweep()
    except Exception:  # the next beat tries again; the due times are on the rows
        log.exception("callback sweep failed")
