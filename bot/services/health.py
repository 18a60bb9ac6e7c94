"""What ``GET /healthz`` reports: database, scheduler, outbox backlog, and what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select

from bot.services.outbox import wall_now
from bot.services.runtime import Runtime
from bot.store.models import OutboxMessage
from bot.store.spool import Spool


@dataclass(frozen=True)
class HealthLimits:
    pending_seconds: float
    """The oldest pending delivery may be this old before the server says it is degraded."""
    dead_seconds: float
    """A delivery given up within this many seconds makes the server say it is degraded."""


async def database_health(rt: Runtime, limits: HealthLimits) -> dict[str, Any]:
    """Raises: any database error (the caller reports the database as down)."""
    now = rt.clock.now()
    async with rt.sessions() as session:
        await session.exec(select(text("1")))
        pending, oldest = (
            await session.exec(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    col(OutboxMessage.status) == "pending"
                )
            )
        ).one()
        dead = (await session.exec(select(func.count()).where(col(OutboxMessage.status) == "dead"))).one()
        # A row is given up at the attempt it was due for, so its due time (on the wall clock, as
        # delivery timing is) is when it died.
        since = wall_now() - timedelta(seconds=limits.dead_seconds)
        recent = select(func.count(), func.max(OutboxMessage.last_error)).where(
            col(OutboxMessage.status) == "dead", col(OutboxMessage.next_attempt_at) >= since
        )
        dead_recently, last_error = (await session.exec(recent)).one()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return {
        "pending": pending,
        "oldest_pending_seconds": round(age, 1),
        "dead": dead,
        "dead_recently": dead_recently,
        "dead_error": last_error,
    }


def delivery_problems(outbox: dict[str, Any], limits: HealthLimits) -> list[str]:
    """Why deliveries are not arriving, one line each (none when they are)."""
    problems = []
    if outbox["dead_recently"]:
        problems.append(
            f"{outbox['dead_recently']} deliveries given up in the last {limits.dead_seconds:g} s"
            f" (e.g. {outbox['dead_error']}); see `centralita deliveries list --dead`"
        )
    if outbox["oldest_pending_seconds"] > limits.pending_seconds:
        problems.append(
            f"the oldest pending delivery is {outbox['oldest_pending_seconds']:g} s old"
            f" (more than {limits.pending_seconds:g} s): is the platform down or refusing?"
        )
    return problems


def spool_health(spool: Spool) -> tuple[dict[str, Any], int]:
    """The spool's directory, its entries waiting for the database (every process's on this host)
    and the entries a replay refused (kept in ``failed.txt``); also the waiting count alone."""
    waiting = spool.waiting()
    return {"dir": str(spool.directory), "waiting": waiting, "failed": spool.failed()}, waiting
