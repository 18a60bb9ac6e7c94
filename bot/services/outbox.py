"""Writing deliveries into the outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.models import Card, CardPost, OutboxMessage

CARD = "card"
THREAD = "thread"
DIRECT = "direct"
EPHEMERAL = "ephemeral"


def wall_now() -> datetime:
    """Delivery timing (due times, leases, retries) runs on the wall clock, not the domain ``Clock``:
    it is about the platforms' time, and a test that moves the domain clock must not expire leases."""
    return datetime.now(UTC)


def enqueue(
    session: AsyncSession,
    *,
    org_id: str,
    channel: str,
    kind: str,
    target: str,
    now: datetime,
    card_id: int | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> None:
    session.add(
        OutboxMessage(
            org_id=org_id,
            card_id=card_id,
            channel=channel,
            kind=kind,
            target=target,
            payload=payload or {},
            dedupe_key=dedupe_key,
            next_attempt_at=wall_now(),
            created_at=now,
        )
    )


async def posts_of(session: AsyncSession, card_id: int) -> list[CardPost]:
    return list((await session.exec(select(CardPost).where(CardPost.card_id == card_id))).all())


async def render_everywhere(session: AsyncSession, card: Card, now: datetime) -> None:
    """Re-render the card on every channel it was posted to (a pending render is reused).

    The pending renders are locked (PostgreSQL): a render the worker is leasing at this very moment,
    with the card as it was before this change, must not be taken for one that will show the change.
    """
    assert card.id is not None
    pending = await session.exec(
        select(OutboxMessage.target)
        .where(
            OutboxMessage.card_id == card.id,
            OutboxMessage.kind == CARD,
            OutboxMessage.status == "pending",
            col(OutboxMessage.locked_until).is_(None),
        )
        .with_for_update()
    )
    waiting = set(pending.all())
    for post in await posts_of(session, card.id):
        if str(post.id) not in waiting:
            _enqueue_for_post(session, card, post, CARD, now, {})


async def thread_line(session: AsyncSession, card: Card, text: str, now: datetime) -> None:
    """A short line in the card's thread on every channel it lives on."""
    for post in await posts_of(session, card.id or 0):
        _enqueue_for_post(session, card, post, THREAD, now, {"text": text})


def _enqueue_for_post(
    session: AsyncSession, card: Card, post: CardPost, kind: str, now: datetime, payload: dict[str, Any]
) -> None:
    enqueue(
        session,
        org_id=card.org_id,
        card_id=card.id,
        channel=post.channel,
        kind=kind,
        target=str(post.id),
        now=now,
        payload=payload,
    )
