"""A staff member's own view of the work (Slack App Home): the cards they hold, their callbacks of
today with the overdue ones first, and the open cards of their teams."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.domain.org import StaffMember
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.runtime import Runtime
from bot.store.models import Callback, Card
from cards.actions import CardStatus
from cards.home import HomeCallback, HomeFacts

LIMIT = 25
OPEN_CALLBACK = ("scheduled", "reminded")


class HomeViews:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def for_user(self, channel: str, user_ref: str) -> HomeFacts | None:
        """The home of the staff member behind ``user_ref`` on ``channel``; None for anyone else."""
        found = self.rt.directory.by_staff(channel, user_ref)
        if found is None:
            return None
        org, member = found
        now = self.rt.clock.now()
        async with self.rt.sessions() as session:
            mine = await session.exec(
                select(Card)
                .where(
                    col(Card.org_id) == org.id,
                    col(Card.claimed_by) == member.id,
                    col(Card.status).in_([CardStatus.CLAIMED.value, CardStatus.CALLBACK.value]),
                )
                .order_by(col(Card.id).desc())
                .limit(LIMIT)
            )
            mine_cards = list(mine.all())
            callbacks = list((await session.exec(self._callbacks(org, member, now))).all())
            cards = {c.id: c for c in mine_cards}
            for callback in callbacks:
                if callback.card_id not in cards:
                    cards[callback.card_id] = await session.get(Card, callback.card_id)  # type: ignore[assignment]
            queue = await session.exec(self._queue(org, member))
            queue_cards = list(queue.all())
        return HomeFacts(
            name=member.name,
            locale=member.locale or org.locale,
            now=now,
            mine=tuple(card_facts(c, org) for c in mine_cards),
            callbacks=tuple(
                HomeCallback(card_facts(cards[c.card_id], org), c.due_at, c.due_at < now)
                for c in sorted(callbacks, key=lambda c: (c.due_at >= now, c.due_at))
                if cards.get(c.card_id) is not None
            ),
            queue=tuple(card_facts(c, org) for c in queue_cards),
        )

    def _callbacks(self, org: Org, member: StaffMember, now: datetime) -> Any:
        zone = ZoneInfo(org.timezone)
        end_of_today = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(), zone)
        return (
            select(Callback)
            .where(
                col(Callback.org_id) == org.id,
                col(Callback.assignee_id) == member.id,
                col(Callback.status).in_(OPEN_CALLBACK),
                col(Callback.due_at) < end_of_today,
            )
            .order_by(col(Callback.due_at))
            .limit(LIMIT)
        )

    def _queue(self, org: Org, member: StaffMember) -> Any:
        teams = [t.id for t in org.config.teams_of(member.id)]
        return (
            select(Card)
            .where(
                col(Card.org_id) == org.id,
                col(Card.status) == CardStatus.OPEN.value,
                col(Card.team_id).in_(teams),
            )
            .order_by(col(Card.id).desc())
            .limit(LIMIT)
        )
