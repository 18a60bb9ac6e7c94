"""Open, unclaimed cards written straight into the database, as intake would have left them: the
urgent policy's snapshot on the row, ``escalate_at`` at its first step, and a Slack post to update."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.constants import CARD_CHANNEL, FIXTURE
from bench.databases import DbSlot
from bot.config import load_config
from bot.domain.escalation import EscalationPolicy
from bot.store.db import create_engine, session_factory
from bot.store.models import Card, CardPost

PRIORITY = "urgent"


@dataclass(frozen=True)
class Seeded:
    card_id: int
    ts: str
    """The Slack message ts of the card's post: every later Slack call about the card carries it."""


class Seeder:
    def __init__(self, slot: DbSlot) -> None:
        self.engine = create_engine(slot.url, connect_args=slot.connect_args)
        self.sessions = session_factory(self.engine)
        config = load_config(FIXTURE)
        self.org_id = config.org_id
        self.policy = EscalationPolicy.from_config(config.priority(PRIORITY))
        self.count = 0
        self.last_insert_ended = 0.0

    async def close(self) -> None:
        await self.engine.dispose()

    async def insert(self, count: int, due: datetime) -> list[Seeded]:
        """``count`` cards whose first escalation step is due at ``due``; one transaction."""
        cards = [self._card(due) for _ in range(count)]
        async with self.sessions() as session, session.begin():
            session.add_all(cards)
            await session.flush()
            posts = [self._post(card) for card in cards]
            session.add_all(posts)
        self.last_insert_ended = time.time()
        return [Seeded(card.id or 0, message_ts(card.id or 0)) for card in cards]

    def _card(self, due: datetime) -> Card:
        self.count += 1
        started = due - self.policy.steps[0].after
        return Card(
            org_id=self.org_id,
            source="call",
            status="open",
            category=PRIORITY,
            priority=PRIORITY,
            team_id="recepcion",
            caller_name=f"Paciente {self.count}",
            caller_number=f"+3469{self.count:07d}",
            summary="Es urgente, me duele mucho una muela",
            created_at=started,
            claim_deadline=started + self.policy.claim_within,
            escalation_policy=self.policy.snapshot(),
            escalation_started_at=started,
            escalate_at=due,
        )

    def _post(self, card: Card) -> CardPost:
        ts = message_ts(card.id or 0)
        return CardPost(
            org_id=self.org_id,
            card_id=card.id or 0,
            channel="slack",
            target=CARD_CHANNEL,
            external_ref=f"{CARD_CHANNEL}:{ts}",
            created_at=datetime.now(UTC),
        )


def message_ts(card_id: int) -> str:
    return f"1800000000.{card_id:06d}"
