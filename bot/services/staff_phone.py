"""A staff member answering a notification on their phone (WhatsApp, SMS): "1" or the *Reclamar*
button claims the card of the last notification sent to that number, through the same use case and
the same refusals as a click ("Ya la ha reclamado Ana"), told back to them on their phone."""

from __future__ import annotations

from sqlmodel import col, select

from bot.domain.org import PHONE_CHANNELS, StaffMember
from bot.services.directory import Org
from bot.services.handling import CardHandling, Requester
from bot.services.outbox import DIRECT, add_row
from bot.services.runtime import Runtime
from bot.services.telling import private_row
from bot.store.models import OutboxMessage
from cards.actions import ActionRequest
from cards.customer import action_from_reply
from cards.notice import Notice


class StaffPhone:
    def __init__(self, rt: Runtime, handling: CardHandling) -> None:
        self.rt = rt
        self.handling = handling

    async def answered(
        self, org: Org, member: StaffMember, channel: str, number: str, text: str, button: str | None
    ) -> None:
        """Do what the answer asks on the card last notified to ``number``; tell them how it went."""
        who = Requester(channel, number, reply_to=f"{org.id}:{number}")
        action = action_from_reply(text, button)
        card_id = await self._last_notified(org, number)
        if action is None or card_id is None:
            await self._tell(
                org, who, Notice("phone.no_card" if card_id is None else "phone.unknown"), card_id
            )
            return
        result = await self.handling.perform(ActionRequest(action, card_id), who)
        if result.ok:
            await self._tell(org, who, Notice(f"phone.done.{action.value}"), card_id)
        elif result.reason == "unsupported":
            await self._tell(org, who, Notice("phone.unsupported"), card_id)

    async def _last_notified(self, org: Org, number: str) -> int | None:
        """The card of the last direct message sent to this number, on either phone channel."""
        query = (
            select(OutboxMessage.card_id)
            .where(
                col(OutboxMessage.kind) == DIRECT,
                col(OutboxMessage.channel).in_(PHONE_CHANNELS),
                col(OutboxMessage.target) == f"{org.id}:{number}",
                col(OutboxMessage.status) == "sent",
                col(OutboxMessage.card_id).is_not(None),
            )
            .order_by(col(OutboxMessage.sent_at).desc(), col(OutboxMessage.id).desc())
            .limit(1)
        )
        async with self.rt.sessions() as session:
            found: int | None = (await session.exec(query)).first()
        return found

    async def _tell(self, org: Org, who: Requester, notice: Notice, card_id: int | None) -> None:
        async with self.rt.unit_of_work() as session:
            row = private_row(org, who, notice, self.rt.clock.now())
            add_row(session, {**row, "card_id": card_id})
