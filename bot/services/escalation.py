"""Escalation: cards nobody claimed climb their policy's ladder, one step at a time, exactly once.

The due time lives on the card row (``escalate_at``). A sweep takes due cards with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer at a time) and moves each one a
step up with a compare-and-set on its version, so a restart or a second worker never fires a step
twice, and a claim that lands first simply wins.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.org import StaffMember
from bot.i18n import t
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.opening import direct_message
from bot.services.outbox import render_everywhere, thread_line
from bot.services.runtime import Runtime
from bot.store.models import AuditEvent, Card
from cards.actions import CardStatus
from cards.build import card_title

log = logging.getLogger("centralita.escalation")


class Escalation:
    def __init__(self, rt: Runtime, *, batch: int = 200) -> None:
        self.rt = rt
        self.batch = batch

    async def sweep(self, now: datetime | None = None) -> int:
        """Fire every due step; returns how many due cards were looked at."""
        fired = 0
        while True:
            count = await self._sweep_batch(now or self.rt.clock.now())
            fired += count
            if count < self.batch:
                return fired

    async def _sweep_batch(self, now: datetime) -> int:
        async with self.rt.unit_of_work() as session:
            query = (
                select(Card)
                .where(col(Card.escalate_at) <= now, col(Card.status) == CardStatus.OPEN.value)
                .order_by(col(Card.escalate_at))
                .limit(self.batch)
            )
            if self.rt.postgres:
                query = query.with_for_update(skip_locked=True)
            cards = (await session.exec(query)).all()
            for card in cards:
                await self._fire(session, card, now)
        return len(cards)

    async def _fire(self, session: AsyncSession, card: Card, now: datetime) -> bool:
        org = self.rt.directory.get(card.org_id)
        policy = EscalationPolicy.from_snapshot(card.escalation_policy)
        level = card.escalation_level
        started = card.escalation_started_at or card.created_at
        if level >= len(policy.steps):
            return await self._swap(session, card, {"escalate_at": None})
        step = policy.steps[level]
        people = notify_targets(org, card, step.notify)
        names = [p.name for p in people]
        values = {
            "escalation_level": level + 1,
            "escalate_at": policy.due_at(level + 1, started, org.calendar),
            "escalated_to": list(dict.fromkeys([*card.escalated_to, *names])),
        }
        due = card.escalate_at
        if not await self._swap(session, card, values):
            return False
        data = {
            "level": level + 1,
            "notify": step.notify,
            "to": [p.id for p in people],
            "due_at": due.isoformat() if due else None,
            "fired_at": now.isoformat(),
        }
        session.add(
            AuditEvent(org_id=org.id, card_id=card.id, at=now, actor="system", kind="escalated", data=data)
        )
        if people:
            await self._announce(session, org, card, step.notify, people, level + 1, now)
        else:
            log.warning(
                "card %s: escalation step %s (%s) reaches nobody; check the config",
                card.id,
                level + 1,
                step.notify,
            )
        return True

    async def _announce(
        self,
        session: AsyncSession,
        org: Org,
        card: Card,
        notify: str,
        people: list[StaffMember],
        level: int,
        now: datetime,
    ) -> None:
        await render_everywhere(session, card, now)
        if notify == "team":
            mentions = " ".join(f"<@{p.slack_user}>" if p.slack_user else p.name for p in people)
            line = t(org.locale, "thread.escalated_team", level=level, mentions=mentions)
            await thread_line(session, card, line, now)
            return
        names = ", ".join(p.name for p in people)
        await thread_line(session, card, t(org.locale, "thread.escalated", level=level, names=names), now)
        title = card_title(card_facts(card, org))
        text = t(
            org.locale,
            "dm.escalated",
            title=title,
            caller=card.caller_name or card.caller_number or "",
            summary=card.summary,
        )
        for person in people:
            direct_message(
                session, self.rt, org, person.id, text, card, now, dedupe=f"esc:{card.id}:{level}:{person.id}"
            )

    async def _swap(self, session: AsyncSession, card: Card, values: dict[str, Any]) -> bool:
        result = await session.exec(
            update(Card)
            .where(
                col(Card.id) == card.id,
                col(Card.version) == card.version,
                col(Card.status) == CardStatus.OPEN.value,
            )
            .values(version=card.version + 1, **values)
        )
        if result.rowcount != 1:
            return False
        await session.refresh(card)
        return True


def notify_targets(org: Org, card: Card, notify: str) -> list[StaffMember]:
    """The people a step reaches: ``team``, ``oncall``, ``managers``, ``owner`` or a staff id."""
    config = org.config
    team = config.team(card.team_id) or config.default_team()
    if notify == "team":
        ids = team.members if team else []
    elif notify == "oncall":
        ids = (team.oncall or team.members) if team else []
    elif notify == "managers":
        ids = [m.id for m in config.managers()]
    elif notify == "owner":
        ids = [card.addressee_id] if card.addressee_id else []
    else:
        ids = [notify]
    return [m for m in (config.staff_member(i) for i in dict.fromkeys(ids)) if m is not None]
