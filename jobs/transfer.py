"""The heartbeat's jobs of issue 10: callers whose hold ran out, callbacks nobody made."""

from __future__ import annotations

from bot.services.kept import OverdueCallbacks
from bot.services.transfer import TransferHolds
from jobs.failures import QuietFailures

_holds = QuietFailures("hold sweep")
_overdue = QuietFailures("overdue callback sweep")


async def run_hold_sweep(holds: TransferHolds) -> None:
    with _holds:  # the next beat tries again; the hold deadlines are on the rows
        await holds.sweep()


async def run_overdue_sweep(overdue: OverdueCallbacks) -> None:
    with _overdue:  # the next beat tries again; the due times are on the rows
        await overdue.sweep()
