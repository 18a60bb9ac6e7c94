"""The escalation heartbeat's job."""

from __future__ import annotations

from bot.services.escalation import Escalation
from jobs.failures import QuietFailures

_failures = QuietFailures("escalation sweep")


async def run_escalations(escalation: Escalation) -> float | None:
    """Sweep; then the seconds until the next step falls due, so the heartbeat can wake up right
    then (None when nothing is pending or the sweep failed: the next beat tries again)."""
    with _failures:  # the next beat tries again; the due times are on the rows
        await escalation.sweep()
        return await escalation.seconds_to_next_step()
    return None
