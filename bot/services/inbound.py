"""SMS and WhatsApp messages that customers send: a card, or a line on the card they already have.

One transaction per webhook: the message (unique on its MessageSid, so a replayed webhook finds it
and does nothing), the customer's conversation (locked, so two messages of theirs at once join one
card), and the card opened or changed, with its audit event and deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.lifecycle import CardStatus
from bot.domain.org import StaffMember
from bot.domain.phones import normalize_phone, org_region
from bot.domain.triage import triage
from bot.services.confirmations import Caller, confirm, message_taken
from bot.services.directory import Org
from bot.services.opening import NewCard, open_card
from bot.services.outbox import announce_change
from bot.services.replies import window_closes
from bot.services.runtime import Runtime
from bot.services.staff_phone import StaffPhone
from bot.store.db import execute
from bot.store.models import AuditEvent, Card, Conversation, Message
from bot.store.upsert import insert_ignore
from cards.notice import Notice

_MESSAGES = Message.__table__  # type: ignore[attr-defined]
_LINK_MESSAGE = (
    update(_MESSAGES).where(_MESSAGES.c.sid == bindparam("message_sid")).values(card_id=bindparam("card"))
)
NUMBER_LENGTH = 32
"""What ``conversation.customer`` and ``message.customer`` hold: a sender that is no phone number
(an alphanumeric id) is kept cut to it."""
INBOUND = "in"
OUTBOUND = "out"
MAX_MEDIA = 10


@dataclass(frozen=True)
class InboundMessage:
    """What Twilio's messaging webhook brings. ``from_number``/``to_number`` as Twilio sends them
    (``whatsapp:+34…`` on WhatsApp); ``media`` the links of what came with it."""

    sid: str
    channel: str
    from_number: str | None
    to_number: str | None
    body: str
    media: tuple[str, ...] = ()
    profile_name: str | None = None
    button_payload: str | None = None


@dataclass
class _Inbound:
    session: AsyncSession
    org: Org
    message: InboundMessage
    customer: str
    now: datetime


class MessageIntake:
    def __init__(self, rt: Runtime, staff_phone: StaffPhone) -> None:
        self.rt = rt
        self.staff_phone = staff_phone

    async def received(self, message: InboundMessage, *, at: datetime | None = None) -> Org | None:
        """A customer's message (that came at ``at``, else now): on their open card, or a new one.
        None when the number it was sent to belongs to no organisation."""
        org = self.rt.directory.by_number(message.to_number)
        if org is None:
            return None
        region = org_region(org.config.organization)
        customer = normalize_phone(message.from_number, region) or _bare(message.from_number)[:NUMBER_LENGTH]
        member = org.staff_on(message.channel, customer)
        if member is not None:
            await self._from_staff(org, member, message, customer, at or self.rt.clock.now())
            return org
        async with self.rt.unit_of_work() as session:
            now = at or self.rt.clock.now()
            if not await self._stored(session, org, message, customer, now):
                return org  # a webhook Twilio sent again: it was handled the first time
            await self._handle(_Inbound(session, org, message, customer, now))
        return org

    async def _from_staff(
        self, org: Org, member: StaffMember, message: InboundMessage, number: str, at: datetime
    ) -> None:
        """A staff member answering a notification: stored (so a replay does nothing), then acted on."""
        async with self.rt.unit_of_work() as session:
            if not await self._stored(session, org, message, number, at, member.id):
                return
        await self.staff_phone.answered(
            org, member, message.channel, number, message.body, message.button_payload
        )

    async def _stored(
        self,
        session: AsyncSession,
        org: Org,
        message: InboundMessage,
        customer: str,
        now: datetime,
        staff_id: str | None = None,
    ) -> bool:
        values = {
            "org_id": org.id,
            "direction": INBOUND,
            "channel": message.channel,
            "sid": message.sid,
            "customer": customer,
            "body": message.body,
            "media": list(message.media),
            "template": False,
            "status": "received",
            "sent_by": staff_id,
            "created_at": now,
        }
        return await insert_ignore(session, Message, values)

    async def _handle(self, s: _Inbound) -> None:
        conversation = await _conversation(s)
        conversation.channel, conversation.last_inbound_at = s.message.channel, s.now
        conversation.our_number = _bare(s.message.to_number) or conversation.our_number
        card = await _open_card_of(s.session, conversation)
        opting_out = s.org.config.messaging.is_opt_out(s.message.body)
        if opting_out:
            conversation.opted_out_at = s.now
        elif conversation.opted_out_at is not None and s.org.config.messaging.is_opt_in(s.message.body):
            conversation.opted_out_at = None
        if card is not None:
            await self._join(s, card, opting_out, conversation.opted_out_at is not None)
        elif not opting_out:
            conversation.card_id = await self._open(s, conversation.opted_out_at is not None)
            await self._confirm(s, conversation)
        s.session.add(conversation)
        await _link_message(s, conversation.card_id if card is None else card.id)

    async def _open(self, s: _Inbound, opted_out: bool) -> int | None:
        decision = triage(
            s.org.config, s.org.calendar, caller_number=s.customer, text=s.message.body, at=s.now
        )
        if decision.action == "reject":
            return None
        new = NewCard(
            source=s.message.channel,
            decision=decision,
            summary=s.message.body.strip(),
            caller_name=None if decision.contact else s.message.profile_name,
            last_inbound_at=s.now,
            media=s.message.media,
            opted_out=opted_out,
        )
        return await open_card(s.session, self.rt, s.org, new, s.now)

    async def _confirm(self, s: _Inbound, conversation: Conversation) -> None:
        """ "We have your message", when the organisation asks for it (``messaging.confirm``)."""
        if conversation.card_id is None or not s.org.config.messaging.confirm.message_taken:
            return
        caller = Caller(conversation.card_id, s.customer, s.message.channel)
        await confirm(s.session, s.org, caller, message_taken(s.org), s.now)

    async def _join(self, s: _Inbound, card: Card, opting_out: bool, conversation_opted_out: bool) -> None:
        """A further message of the customer's on their open card: its window opens again, what they
        sent is kept, and the thread shows it (or their opt-out)."""
        card.version += 1
        card.last_inbound_at = s.now
        card.source = s.message.channel
        card.window_closes_at = window_closes(card)
        card.opted_out = conversation_opted_out
        card.media = [*card.media, *s.message.media][-MAX_MEDIA:]
        if opting_out:
            kind, line = "opted_out", Notice("thread.customer_opted_out", text={"text": s.message.body})
        else:
            kind, line = "customer_wrote", _wrote(s.message)
        data = {"sid": s.message.sid, "text": s.message.body}
        s.session.add(card)
        s.session.add(
            AuditEvent(org_id=s.org.id, card_id=card.id, at=s.now, actor="caller", kind=kind, data=data)
        )
        await announce_change(s.session, card, line, s.now)


def _wrote(message: InboundMessage) -> Notice:
    links = " ".join(message.media)
    if links:
        return Notice("thread.customer_wrote_media", text={"text": message.body, "links": links})
    return Notice("thread.customer_wrote", text={"text": message.body})


async def _conversation(s: _Inbound) -> Conversation:
    """The customer's conversation, created if new, locked (PostgreSQL) until the webhook commits."""
    values = {"org_id": s.org.id, "customer": s.customer, "channel": s.message.channel}
    await insert_ignore(s.session, Conversation, values)
    found = await s.session.exec(
        select(Conversation)
        .where(Conversation.org_id == s.org.id, Conversation.customer == s.customer)
        .with_for_update()
    )
    return found.one()


async def _open_card_of(session: AsyncSession, conversation: Conversation) -> Card | None:
    if conversation.card_id is None:
        return None
    card = await session.get(Card, conversation.card_id, with_for_update=True)
    if card is None or card.status == CardStatus.RESOLVED.value:
        return None
    return card


async def _link_message(s: _Inbound, card_id: int | None) -> None:
    if card_id is not None:
        await execute(s.session, _LINK_MESSAGE, {"message_sid": s.message.sid, "card": card_id})


def _bare(number: str | None) -> str:
    """A number as Twilio sent it, without its channel prefix."""
    return (number or "").partition(":")[2] or (number or "")
