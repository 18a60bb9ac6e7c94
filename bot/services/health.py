"""What ``GET /healthz`` reports: database, scheduler, outbox backlog."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select

from bot.services.runtime import Runtime
from bot.store.models import OutboxMessage
from bot.store.spool import Spool


async def database_health(rt: Runtime) -> dict[str, Any]:
    """Raises: any database error (the caller reports the database as down)."""
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
    age = (rt.clock.now() - oldest).total_seconds() if oldest else 0.0
    return {"pending": pending, "oldest_pending_seconds": round(age, 1), "dead": dead}


def spool_health(spool: Spool) -> tuple[dict[str, Any], int]:
    """The spool's directory, its entries waiting for the database (every process's on this host)
    and the entries a replay refused (kept in ``failed.txt``); also the waiting count alone."""
    waiting = spool.waiting()
    return {"dir": str(spool.directory), "waiting": waiting, "failed": spool.failed()}, waiting
