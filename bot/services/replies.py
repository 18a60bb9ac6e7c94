"""Replying to a customer from their card: what may be sent, sending it once, and what Twilio says
became of it.

A reply is an explicit act (the ``reply_customer`` action), never a side effect of the card's
thread. It is written with the card's change as an outbox row (kind ``customer``); the delivery
worker sends it through the ``Messaging`` port at most once: the message row goes from ``pending``
to ``sending`` before the request, and only a request Twilio surely did not receive is tried again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.org import OrgConfig
from bot.ports import DeliveryError, Messaging, MessagingError, OutboundMessage
from bot.services.directory import Org
from bot.services.outbox import announce_change, outbox_row
from bot.services.runtime import Runtime
from bot.store.models import AuditEvent, Card, Conversation, Message
from cards.customer import CHANNEL_NAMES, EXPLAINED_ERRORS
from cards.notice import Notice

CUSTOMER = "customer"
"""The outbox kind of a message to a customer (its channel: ``whatsapp`` or ``sms``)."""
WHATSAPP, SMS = "whatsapp", "sms"
MESSAGING_CHANNELS = (WHATSAPP, SMS)
CHANNEL_LABELS = CHANNEL_NAMES
WINDOW = timedelta(hours=24)
"""WhatsApp's customer-service window: free text only this long after the customer's last message."""
UNSUBSCRIBED = "21610"
_RANK = {"pending": 0, "sending": 1, "accepted": 2, "queued": 2, "sent": 3, "delivered": 4, "read": 5}
_FINAL = {"failed": 6, "undelivered": 6, "unknown": 6}
_THREAD_STATUSES = frozenset({"delivered", "read", "failed", "undelivered", "unknown"})
STATUS_PATH = "/twilio/messaging/status"


def window_closes(card: Card) -> datetime | None:
    """When WhatsApp's window for this card's customer closes (None: not WhatsApp, or never opened)."""
    return window_closing(card.source, card.last_inbound_at)


def window_closing(source: str, last_inbound_at: datetime | None) -> datetime | None:
    if source != WHATSAPP or last_inbound_at is None:
        return None
    return last_inbound_at + WINDOW


@dataclass(frozen=True)
class Reply:
    """A reply that may go: its message row's values and its outbox row's payload."""

    body: str
    template: bool
    payload: dict[str, Any]


class ReplyRefused(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


async def conversation_of(session: AsyncSession, card: Card) -> Conversation | None:
    found = await session.exec(select(Conversation).where(Conversation.card_id == card.id))
    return found.first()


def plan_reply(org: Org, card: Card, conversation: Conversation | None, text: str, now: datetime) -> Reply:
    """What replying ``text`` to the card's customer sends: free text, or the configured template
    when WhatsApp's window is closed.

    Raises: ReplyRefused when it cannot go (no customer to write to, opted out, window closed and no
    template)."""
    if conversation is None:
        raise ReplyRefused("ephemeral.reply_no_customer")
    if card.opted_out or conversation.opted_out_at is not None:
        raise ReplyRefused("ephemeral.reply_opted_out")
    config = org.config
    closes = window_closes(card) if conversation.channel == WHATSAPP else None
    payload = sender(config, conversation)
    if closes is None or now < closes:
        return Reply(text, False, payload | {"body": text})
    template = config.messaging.reply_template
    if template is None:
        raise ReplyRefused("ephemeral.reply_window_closed")
    values = {"text": text, "organization": config.organization.name, "caller": card.caller_name or ""}
    variables = {name: value.format(**values) for name, value in template.variables.items()}
    return Reply(text, True, payload | {"content_sid": template.content_sid, "variables": variables})


def sender(config: OrgConfig, conversation: Conversation) -> dict[str, Any]:
    """Whom a message to the customer goes to, and from which number or Messaging Service."""
    prefix = "whatsapp:" if conversation.channel == WHATSAPP else ""
    ours = (config.messaging.whatsapp_number if prefix else None) or conversation.our_number
    ours = ours or next(iter(config.organization.phone_numbers), None)
    return {
        "to": prefix + conversation.customer,
        "from": prefix + ours if ours else None,
        "service": config.organization.messaging_service_sid,
    }


async def write_reply(
    session: AsyncSession,
    card: Card | int,
    conversation: Conversation,
    reply: Reply,
    sent_by: str,
    now: datetime,
) -> dict[str, Any]:
    """The reply's message row (pending) and its outbox row's values; ``card`` the card or its id."""
    card_id = card if isinstance(card, int) else card.id
    message = Message(
        org_id=conversation.org_id,
        card_id=card_id,
        direction="out",
        channel=conversation.channel,
        customer=conversation.customer,
        body=reply.body,
        template=reply.template,
        status="pending",
        sent_by=sent_by,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return outbox_row(
        org_id=conversation.org_id,
        card_id=card_id,
        channel=conversation.channel,
        kind=CUSTOMER,
        target=conversation.customer,
        now=now,
        payload={**reply.payload, "message": message.id},
        dedupe_key=f"reply:{message.id}",
    )


class ReplySending:
    """The delivery worker's side: one outbox row of kind ``customer`` sent through Twilio."""

    def __init__(self, rt: Runtime, messaging: Messaging, public_url: str) -> None:
        self.rt = rt
        self.messaging = messaging
        self.status_url = public_url.rstrip("/") + STATUS_PATH
        self.statuses = ReplyStatuses(rt)

    async def send(self, payload: dict[str, Any]) -> str:
        """Send the reply once; its MessageSid.

        Raises: DeliveryError, permanent unless Twilio surely received nothing (then retried)."""
        message_id = int(payload["message"])
        if not await self._take(message_id):
            raise DeliveryError("this reply was sent already, or its sending was cut short", permanent=True)
        try:
            sid = await self.messaging.send_message(self._outbound(message_id, payload))
        except MessagingError as error:
            if error.retryable:
                await self._set_status(message_id, "pending", only_from="sending")
                raise DeliveryError(str(error)) from error
            outcome = "unknown" if error.sent_maybe else "failed"
            await self.statuses.update(message_id, None, outcome, error.code or None)
            raise DeliveryError(str(error), permanent=True) from error
        await self.statuses.update(message_id, sid, "queued", None)
        return sid

    def _outbound(self, message_id: int, payload: dict[str, Any]) -> OutboundMessage:
        variables = payload.get("variables")
        return OutboundMessage(
            to=str(payload["to"]),
            body=str(payload.get("body") or ""),
            from_number=payload.get("from"),
            messaging_service_sid=payload.get("service"),
            content_sid=payload.get("content_sid"),
            content_variables=json.dumps(variables, ensure_ascii=False) if variables else None,
            status_callback=f"{self.status_url}?message={message_id}",
        )

    async def _take(self, message_id: int) -> bool:
        return await self._set_status(message_id, "sending", only_from="pending")

    async def _set_status(self, message_id: int, status: str, *, only_from: str) -> bool:
        statement = (
            update(Message)
            .where(col(Message.id) == message_id, col(Message.status) == only_from)
            .values(status=status, updated_at=self.rt.clock.now())
        )
        async with self.rt.unit_of_work() as session:
            result = await session.exec(statement)
            return bool(result.rowcount)


@dataclass(frozen=True)
class StatusReport:
    """A status callback of a message we sent: our message id (from the callback's URL), Twilio's."""

    message_id: int
    sid: str | None
    status: str
    error_code: str | None


class ReplyStatuses:
    """What Twilio reports of a message we sent (``POST /twilio/messaging/status``), on its card."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def report(self, found: StatusReport, *, at: datetime | None = None) -> bool:
        """``update`` with a status callback's report (that came at ``at``, else now)."""
        return await self.update(found.message_id, found.sid, found.status, found.error_code, at=at)

    async def update(
        self,
        message_id: int,
        sid: str | None,
        status: str,
        error_code: str | None,
        *,
        at: datetime | None = None,
    ) -> bool:
        """The message's new status, on its card and in its thread; False when there is no such
        message. A status older than the one known (Twilio's callbacks may cross) changes nothing."""
        async with self.rt.unit_of_work() as session:
            message = await session.get(Message, message_id, with_for_update=True)
            if message is None or message.direction != "out":
                return False
            if sid and message.sid and message.sid != sid:
                return False
            if not _advances(message.status, status):
                return True
            now = at or self.rt.clock.now()
            message.status, message.sid = status, message.sid or sid
            message.error_code, message.updated_at = error_code or message.error_code, now
            session.add(message)
            card = await session.get(Card, message.card_id, with_for_update=True) if message.card_id else None
            if card is not None:
                await self._on_card(session, card, message, now)
        return True

    async def _on_card(self, session: AsyncSession, card: Card, message: Message, now: datetime) -> None:
        card.version += 1
        card.reply_status, card.reply_error = message.status, message.error_code
        if message.error_code == UNSUBSCRIBED:
            card.opted_out = True
            conversation = await conversation_of(session, card)
            if conversation is not None and conversation.opted_out_at is None:
                conversation.opted_out_at = now
                session.add(conversation)
        session.add(card)
        data = {"message": message.id, "status": message.status, "error": message.error_code}
        session.add(
            AuditEvent(
                org_id=card.org_id, card_id=card.id, at=now, actor="twilio", kind="reply_status", data=data
            )
        )
        line = _status_line(message) if message.status in _THREAD_STATUSES else None
        await announce_change(session, card, line, now)


def _advances(known: str, new: str) -> bool:
    if known in _FINAL:
        return False
    return _FINAL.get(new, _RANK.get(new, -1)) > _RANK.get(known, -1)


def _status_line(message: Message) -> Notice:
    code = message.error_code
    if code in EXPLAINED_ERRORS:
        return Notice(f"thread.reply_failed_{code}")
    if code or message.status in _FINAL:
        return Notice(f"thread.reply_{message.status}", text={"code": code or "?"})
    return Notice(f"thread.reply_{message.status}")
