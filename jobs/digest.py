"""The digest heartbeat's job."""

from __future__ import annotations

import logging

from bot.services.digest_sending import DigestSending

log = logging.getLogger("centralita.jobs")


async def run_digests(digests: DigestSending) -> None:
    try:
        await digests.sweep()
    except Exception:  # the next beat tries again; what was sent is in the report runs
        log.exception("digest sweep failed")
