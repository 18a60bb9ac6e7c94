"""The escalation heartbeat's job."""

from __future__ import annotations

import logging

from bot.services.escalation import Escalation

log = logging.getLogger("centralita.jobs")


async def run_escalations(escalation: Escalation) -> float | None:
    """Sweep; then the seconds until the next step falls due, so the heartbeat can wake up right
    then (None when nothing is pending or the sweep failed: the next beat tries again)."""
    try:
        await escalation.sweep()
        return await escalation.seconds_to_next_step()
    except Exception:  # the next beat tries again; the due times are on the rows
        log.exception("escalation sweep failed")
        return None
