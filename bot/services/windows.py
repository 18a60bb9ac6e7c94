"""The sweep that re-renders a WhatsApp card when its customer's 24-hour window closes, so the card
then says it is closed (and that only the approved template can go) rather than a time now past.

``card.window_closes_at`` is a due time like ``escalate_at``: set when the customer writes, cleared
by the sweep in the transaction that re-renders the card. So each closing is rendered once, a
restart catches up on the next beat, and several processes split the due cards (``SKIP LOCKED``).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import CardStatus
from bot.services.outbox import announce_change
from bot.services.runtime import Runtime
from bot.services.served import Served
from bot.store.models import AuditEvent, Card


class ReplyWindows:
    def __init__(self, rt: Runtime, *, batch: int = 100) -> None:
        self.rt = rt
        self.batch = batch
        self._served = Served(rt, col(Card.org_id), "%d WhatsApp window(s) of organisation %r, not served")

    async def sweep(self, now: datetime | None = None) -> int:
        """Re-render the cards whose window has closed (a closed card only loses its due time); how
        many were due."""
        now = now or self.rt.clock.now()
        async with self.rt.unit_of_work() as session:
            query = (
                select(Card)
                .where(col(Card.window_closes_at) <= now, self._served.filter)
                .order_by(col(Card.window_closes_at))
                .limit(self.batch)
            )
            if self.rt.postgres:
                query = query.with_for_update(skip_locked=True)
            cards = (await session.exec(query)).all()
            for card in cards:
                await self._closed(session, card, now)
        return len(cards)

    @staticmethod
    async def _closed(session: AsyncSession, card: Card, now: datetime) -> None:
        card.window_closes_at = None
        session.add(card)
        if card.status == CardStatus.RESOLVED.value:
            return
        card.version += 1
        data = {"last_inbound_at": card.last_inbound_at.isoformat() if card.last_inbound_at else None}
        session.add(
            AuditEvent(
                org_id=card.org_id, card_id=card.id, at=now, actor="system", kind="window_closed", data=data
            )
        )
        await announce_change(session, card, None, now)
