"""SMS through Twilio Messaging as an outbox channel (``sms``): texts to callers, with the outbox's
retries. A row's target is ``<org id>:<number>``; the sender is the organisation's Messaging Service
when it has one, else its first number."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.org import OrgConfig
from bot.ports import (
    CallControl,
    CallControlError,
    DeliveryError,
    MessageRef,
    PostRef,
    PrivateTo,
    Report,
    Sms,
)
from cards.model import CardView, DirectView, Text

NAME = "sms"


@dataclass(frozen=True)
class Sender:
    from_number: str | None
    messaging_service_sid: str | None


def senders(configs: list[OrgConfig]) -> dict[str, Sender]:
    return {
        c.org_id: Sender(
            c.organization.phone_numbers[0] if c.organization.phone_numbers else None,
            c.organization.messaging_service_sid,
        )
        for c in configs
    }


class SmsPublisher:
    """Only direct messages: an SMS cannot show a card or a thread."""

    name = NAME

    def __init__(self, calls: CallControl, by_org: dict[str, Sender]) -> None:
        self.calls = calls
        self.by_org = by_org

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        org_id, _, number = user.partition(":")
        sender = self.by_org.get(org_id)
        if sender is None or not number:
            raise DeliveryError(f"no sender for SMS target {user!r}", permanent=True)
        sms = Sms(number, view.text.plain(), sender.from_number, sender.messaging_service_sid)
        try:
            return await self.calls.send_sms(sms)
        except CallControlError as error:  # a 4xx (a bad number) cannot get better; the rest can
            permanent = error.status is not None and 400 <= error.status < 500 and error.status != 429
            raise DeliveryError(str(error), permanent=permanent) from error

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        raise DeliveryError("an SMS cannot show a card", permanent=True)

    async def update_card(self, post: PostRef, view: CardView) -> None:
        raise DeliveryError("an SMS cannot show a card", permanent=True)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        raise DeliveryError("an SMS has no thread", permanent=True)

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        raise DeliveryError("an SMS cannot tell privately", permanent=True)

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        raise DeliveryError("reports are not sent by SMS", permanent=True)
