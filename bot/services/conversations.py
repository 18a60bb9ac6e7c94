"""Where chat platforms let the bot in (Teams channels, group chats, 1:1 chats), remembered so that
cards and direct messages can be sent there later."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlmodel import col, select

from bot.services.runtime import Runtime
from bot.store.models import ChannelConversation


@dataclass(frozen=True)
class ConversationSeen:
    """One conversation as an authenticated activity showed it. ``reference`` is the platform's own
    (for Teams, a serialized ConversationReference)."""

    channel: str
    conversation_id: str
    kind: str
    tenant_id: str | None
    team_id: str | None
    team_name: str | None
    name: str | None
    user_ref: str | None
    service_url: str
    reference: dict[str, Any]


_MERGED = tuple(f.name for f in fields(ConversationSeen) if f.name not in ("channel", "conversation_id"))
KEPT_SECONDS = 60.0
"""How long ``find`` keeps a conversation it read. Every card posted to Teams reads its channel's
conversation, and so does every update: read from the database each time, it was a third of the
Teams sender's work. What this process stores replaces the kept copy at once; what another process
stores (a new service URL, say) is seen within this time, and a send to the old one is retried."""


class Conversations:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._kept: dict[tuple[str, str], tuple[float, ConversationSeen]] = {}

    async def remember(self, seen: Sequence[ConversationSeen]) -> None:
        """Store or refresh each conversation; a value an activity does not carry (a channel's name,
        say) keeps the one stored before."""
        now = self.runtime.clock.now()
        async with self.runtime.unit_of_work() as session:
            for item in seen:
                row = (await session.exec(_one(item.channel, item.conversation_id))).first()
                if row is None:
                    row = ChannelConversation(
                        org_id=self.runtime.directory.default.id,
                        channel=item.channel,
                        conversation_id=item.conversation_id,
                        **{name: getattr(item, name) for name in _MERGED},
                        updated_at=now,
                    )
                else:
                    _merge(row, item)
                    row.updated_at = now
                session.add(row)
                self._kept.pop((item.channel, item.conversation_id), None)

    async def find(self, channel: str, conversation_id: str) -> ConversationSeen | None:
        """The stored conversation (kept ``KEPT_SECONDS`` once read; one never stored is not kept)."""
        key, now = (channel, conversation_id), time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < KEPT_SECONDS:
            return kept[1]
        found = await self._first(_one(channel, conversation_id))
        if found is not None:
            self._kept[key] = (now, found)
        return found

    async def of_team(self, channel: str, team_id: str) -> ConversationSeen | None:
        """A conversation of the team (its General channel first): the way into its other channels."""
        statement = (
            select(ChannelConversation)
            .where(ChannelConversation.channel == channel, ChannelConversation.team_id == team_id)
            .order_by(col(ChannelConversation.conversation_id) != team_id, col(ChannelConversation.id))
        )
        return await self._first(statement)

    async def any_of_tenant(self, channel: str, tenant_id: str | None) -> ConversationSeen | None:
        """Any conversation in the tenant (its service URL starts a 1:1 chat with someone new)."""
        statement = select(ChannelConversation).where(ChannelConversation.channel == channel)
        if tenant_id:
            statement = statement.where(ChannelConversation.tenant_id == tenant_id)
        return await self._first(statement.order_by(col(ChannelConversation.updated_at).desc()))

    async def personal(
        self, channel: str, user_ref: str, tenant_id: str | None = None
    ) -> ConversationSeen | None:
        """A person's 1:1 chat with the bot (in ``tenant_id`` only, when given)."""
        statement = select(ChannelConversation).where(
            ChannelConversation.channel == channel,
            ChannelConversation.kind == "personal",
            ChannelConversation.user_ref == user_ref,
        )
        if tenant_id:
            statement = statement.where(ChannelConversation.tenant_id == tenant_id)
        return await self._first(statement)

    async def listing(self, channel: str) -> list[ConversationSeen]:
        statement = (
            select(ChannelConversation)
            .where(ChannelConversation.channel == channel)
            .order_by(
                col(ChannelConversation.team_name),
                col(ChannelConversation.kind),
                col(ChannelConversation.name),
            )
        )
        async with self.runtime.sessions() as session:
            return [_seen(row) for row in (await session.exec(statement)).all()]

    async def _first(self, statement: Any) -> ConversationSeen | None:
        async with self.runtime.sessions() as session:
            row = (await session.exec(statement)).first()
        return _seen(row) if row is not None else None


def _one(channel: str, conversation_id: str) -> Any:
    return select(ChannelConversation).where(
        ChannelConversation.channel == channel, ChannelConversation.conversation_id == conversation_id
    )


def _merge(row: ChannelConversation, item: ConversationSeen) -> None:
    for name in _MERGED:
        value = getattr(item, name)
        if value is not None and value != {}:
            setattr(row, name, value)


def _seen(row: ChannelConversation) -> ConversationSeen:
    return ConversationSeen(
        channel=row.channel,
        conversation_id=row.conversation_id,
        **{name: getattr(row, name) for name in _MERGED},
    )
