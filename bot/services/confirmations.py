"""Confirmations to the person a card is about ("message taken", "callback scheduled"), by SMS or
WhatsApp, in their language, never to someone who opted out.

They go the way a reply to a customer goes (``bot.services.replies``): a message row and an outbox
row of kind ``customer``, written with the card's change and sent at most once, whose delivery status
Twilio reports back. The channel is the one the customer wrote on for a messaging card, and
``messaging.confirm.calls_via`` (SMS unless configured) for a call. WhatsApp takes free text only
within 24 hours of the customer's last message on it; outside, the confirmation goes as
``messaging.confirm.template``, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.org import Locale
from bot.domain.triage import find_contact
from bot.i18n import t
from bot.services.directory import Org
from bot.services.outbox import add_row
from bot.services.replies import MESSAGING_CHANNELS, WHATSAPP, WINDOW, Reply, sender, write_reply
from bot.store.models import Card, Conversation

SYSTEM = "system"
"""Who a confirmation is sent by (``message.sent_by``)."""
Text = Callable[[Locale], str]
"""The confirmation's text in a given language."""


@dataclass(frozen=True)
class Caller:
    """What a confirmation needs of the card it is about."""

    card_id: int
    number: str | None
    source: str
    opted_out: bool = False

    @classmethod
    def of(cls, card: Card) -> Caller:
        assert card.id is not None
        return cls(card.id, card.caller_number, card.source, card.opted_out)


async def confirm(session: AsyncSession, org: Org, caller: Caller, text: Text, now: datetime) -> bool:
    """Write the confirmation, if it can go; whether it was written. Not when the caller has no
    number, opted out, or WhatsApp's window is closed and there is no template."""
    if not caller.number or caller.opted_out:
        return False
    known = await _conversation(session, org, caller.number)
    if known is not None and known.opted_out_at is not None:
        return False
    recipient = _recipient(org, caller.number, caller.source, known)
    reply = _plan(org, recipient, text(_locale(org, caller.number)), now)
    if reply is None:
        return False
    add_row(session, await write_reply(session, caller.card_id, recipient, reply, SYSTEM, now))
    return True


def message_taken(org: Org) -> Text:
    """ "We have your message and will answer as soon as we can"."""
    name = org.config.organization.name
    return lambda locale: t(locale, "customer.message_taken", organization=name)


def callback_scheduled(org: Org, due_at: datetime) -> Text:
    """ "We will call you on Tuesday 24 at 11:00", in the organisation's time zone."""
    local = due_at.astimezone(ZoneInfo(org.timezone))

    def text(locale: Locale) -> str:
        weekday = t(locale, f"weekday.{local.weekday()}")
        name = org.config.organization.name
        return t(
            locale,
            "customer.callback_scheduled",
            org=name,
            weekday=weekday,
            day=local.day,
            time=local.strftime("%H:%M"),
        )

    return text


def _recipient(org: Org, number: str, source: str, known: Conversation | None) -> Conversation:
    """Whom and on which channel (a conversation row not stored: the customer's own row, when
    there is one, stays as their messages left it)."""
    channel = source if source in MESSAGING_CHANNELS else org.config.messaging.confirm.calls_via
    same = known is not None and known.channel == channel
    return Conversation(
        org_id=org.id,
        customer=number,
        channel=channel,
        our_number=known.our_number if same and known else None,
        last_inbound_at=known.last_inbound_at if same and known else None,
    )


def _plan(org: Org, recipient: Conversation, text: str, now: datetime) -> Reply | None:
    payload = sender(org.config, recipient)
    opened = recipient.last_inbound_at
    if recipient.channel != WHATSAPP or (opened is not None and now < opened + WINDOW):
        return Reply(text, False, payload | {"body": text})
    template = org.config.messaging.confirm.template
    if template is None:
        return None
    values = {"text": text, "organization": org.config.organization.name, "caller": ""}
    variables: dict[str, Any] = {name: value.format(**values) for name, value in template.variables.items()}
    return Reply(text, True, payload | {"content_sid": template.content_sid, "variables": variables})


def _locale(org: Org, number: str) -> Locale:
    contact = find_contact(org.config, number)
    return (contact.locale if contact else None) or org.config.locale


async def _conversation(session: AsyncSession, org: Org, number: str) -> Conversation | None:
    found = await session.exec(
        select(Conversation).where(Conversation.org_id == org.id, Conversation.customer == number)
    )
    return found.first()
