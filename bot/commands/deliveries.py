"""``centralita deliveries list [--dead]`` and ``deliveries retry ID|--all-dead``: the outbox as an
operator sees it, and dead deliveries queued again once their cause is fixed (no SQL by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.services.outbox import wall_now
from bot.store.db import create_engine, session_factory
from bot.store.models import OutboxMessage

LIMIT = 100


@dataclass(frozen=True)
class Database:
    url: str
    connect_args: dict[str, Any] | None = None


async def unsent(db: Database, *, dead_only: bool, limit: int = LIMIT) -> list[OutboxMessage]:
    """Deliveries not sent (pending and dead, or dead only), oldest first."""
    statuses = ["dead"] if dead_only else ["pending", "dead"]
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_(statuses))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    engine = create_engine(db.url, connect_args=db.connect_args)
    try:
        async with session_factory(engine)() as session:
            return list((await session.exec(statement)).all())
    finally:
        await engine.dispose()


async def retry(db: Database, ids: list[int] | None) -> list[int]:
    """Queue dead deliveries again (``ids``, or every dead one for None), due now with a fresh
    count of attempts; the ids queued. Rows that are not dead are left alone."""
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "dead")
        .values(status="pending", attempts=0, locked_until=None, next_attempt_at=wall_now())
        .returning(col(OutboxMessage.id))
    )
    if ids is not None:
        statement = statement.where(col(OutboxMessage.id).in_(ids))
    engine = create_engine(db.url, connect_args=db.connect_args)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(statement)
            return sorted(row_id for row_id in result.scalars() if row_id is not None)
    finally:
        await engine.dispose()


def table(rows: list[OutboxMessage]) -> str:
    """One line per delivery, for people."""
    lines = [f"{'id':>6}  {'status':7}  {'card':>6}  {'to':24}  {'tries':>5}  last error"]
    for row in rows:
        where = f"{row.channel}:{row.kind} {row.target}"[:24]
        lines.append(
            f"{row.id:>6}  {row.status:7}  {row.card_id or '—':>6}  {where:24}  {row.attempts:>5}"
            f"  {(row.last_error or '')[:80]}"
        )
    return "\n".join(lines)
