"""The escalation heartbeat's job."""

from __future__ import annotations

import logging

from bot.services.escalation import Escalation

log = logging.getLogger("centralita.jobs")


async def run_escalations(escalation: Escalation) -> None:
    try:
        await escalation.sweep()
    except Exception:  # the next beat tries again; the due times are on the rows
        log.exception("escalation sweep failed")
