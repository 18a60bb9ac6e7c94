"""What every use case needs: the database, the organisations, the clock, the outbox signal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Row
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.links import LinkSigner
from bot.ports import Clock, OutboxSignal
from bot.services.channels import Channels
from bot.services.directory import Directory
from bot.services.outbox import ENQUEUED, HANDED
from bot.store.db import SessionFactory, execute_alone, transaction


@dataclass(frozen=True)
class Runtime:
    sessions: SessionFactory
    directory: Directory
    clock: Clock
    signal: OutboxSignal
    channels: Channels
    """The chat channels this deployment delivers to (see ``Channels`` for who goes where)."""
    postgres: bool = False
    links: LinkSigner | None = None
    """Signs the one-click links of cards sent by email; None when email cards are off."""

    async def execute_alone(self, statement: Executable, params: Any = None) -> list[Row[Any]]:
        """A unit of work that is one statement and writes no outbox rows (see ``db.execute_alone``)."""
        return await execute_alone(self.sessions.kw["bind"], statement, params)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction; after it commits, the delivery worker gets the rows it wrote leased and
        is woken for the others."""
        async with transaction(self.sessions) as session:
            yield session
            enqueued, handed = session.info.get(ENQUEUED, False), session.info.get(HANDED)
        if handed:
            self.signal.hand_over(handed)
        if enqueued:
            self.signal.notify()
