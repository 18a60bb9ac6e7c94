"""The heartbeat's jobs of issue 10: callers whose hold ran out, callbacks nobody made."""

from __future__ import annotations

import logging

from bot.services.kept import OverdueCallbacks
from bot.services.transfer import TransferHolds

log = logging.getLogger("centralita.jobs")


async def run_hold_sweep(holds: TransferHolds) -> None:
    try:
        await holds.sweep()
    except Exception:  # the next beat tries again; the hold deadlines are on the rows
        log.exception("hold sweep failed")


async def run_overdue_sweep(overdue: OverdueCallbacks) -> None:
    try:
        await overdue.sweep()
    except Exception:  # the next beat tries again; the due times are on the rows
        log.exception("overdue callback sweep failed")
