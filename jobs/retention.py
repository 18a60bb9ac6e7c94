"""The retention job: each organisation's daily purge, looked for every few minutes, the first time
a few minutes after the start (the purge of a day runs once: a unique row per organisation and day,
see ``bot.services.retention``)."""

from __future__ import annotations

from bot.services.retention import Retention
from jobs.failures import QuietFailures

RETENTION_SECONDS = 300.0
_failures = QuietFailures("retention purge")


async def run_retention(retention: Retention) -> None:
    with _failures:  # the day stays unclaimed; the next run tries again
        await retention.sweep()
