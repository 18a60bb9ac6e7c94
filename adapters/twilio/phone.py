"""Staff reached on their phone: WhatsApp and SMS as delivery channels for direct messages (an
escalation, a callback reminder) and private answers (a refusal), through Twilio Messaging. The
``sms`` channel also carries the texts to callers (when they will be called back, issue 10).

A target is ``<org id>:<number>``: the message goes from that organisation's number (or its
Messaging Service). A phone shows no card and no thread; what it can do is in the text, as codes the
person answers with ("1" claims), or as a WhatsApp quick-reply template when one is configured.
What was sent cannot be edited: an erasure redacts and deletes it in Twilio instead
(``replace_message``), as it does the customers' messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.domain.org import OrgConfig, TemplateConfig
from bot.ports import (
    DeliveryError,
    MessageRef,
    Messaging,
    MessagingError,
    OutboundMessage,
    PostRef,
    PrivateTo,
    Report,
)
from cards.customer import phone_text
from cards.model import CardView, DirectView, Text

WHATSAPP = "whatsapp"


@dataclass(frozen=True)
class Sender:
    number: str | None
    messaging_service_sid: str | None
    staff_template: TemplateConfig | None = None


def senders(configs: list[OrgConfig], channel: str) -> dict[str, Sender]:
    def number(config: OrgConfig) -> str | None:
        own = config.messaging.whatsapp_number if channel == WHATSAPP else None
        return own or next(iter(config.organization.phone_numbers), None)

    return {
        c.org_id: Sender(number(c), c.organization.messaging_service_sid, c.messaging.staff_template)
        for c in configs
    }


class PhonePublisher:
    def __init__(self, name: str, messaging: Messaging, by_org: dict[str, Sender]) -> None:
        self.name = name
        self.messaging = messaging
        self.by_org = by_org
        self.prefix = "whatsapp:" if name == WHATSAPP else ""

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        sender, number = self._sender(user)
        template = sender.staff_template if self.name == WHATSAPP and view.actions else None
        if template is not None:
            values = {"text": view.text.plain(), "organization": "", "caller": ""}
            variables = {k: v.format(**values) for k, v in template.variables.items()}
            message = self._message(sender, number, content_sid=template.content_sid, variables=variables)
        else:
            message = self._message(sender, number, body=phone_text(view))
        return await self._send(message)

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        sender, number = self._sender(to.where or to.user)
        return await self._send(self._message(sender, number, body=text.plain()))

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        raise DeliveryError(f"{self.name} cannot show a card", permanent=True)

    async def update_card(self, post: PostRef, view: CardView) -> None:
        raise DeliveryError(f"{self.name} cannot show a card", permanent=True)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        raise DeliveryError(f"{self.name} has no thread", permanent=True)

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        raise DeliveryError(f"reports are not sent by {self.name}", permanent=True)

    async def replace_message(self, ref: MessageRef, text: Text) -> None:
        """Twilio cannot change what a phone was sent: the message's body is redacted and the
        message deleted in Twilio instead (``ref`` is its MessageSid; ``text`` is not sent). A
        Twilio outage or 429/5xx is retried by the outbox; a refusal is given up and reported."""
        try:
            await self.messaging.erase_message(ref)
        except MessagingError as error:
            raise DeliveryError(str(error), permanent=not error.retryable) from error

    def _sender(self, target: str) -> tuple[Sender, str]:
        org_id, _, number = target.partition(":")
        sender = self.by_org.get(org_id)
        if sender is None or not number or (sender.number is None and sender.messaging_service_sid is None):
            raise DeliveryError(f"no {self.name} sender for {target!r}", permanent=True)
        return sender, number

    def _message(
        self,
        sender: Sender,
        number: str,
        *,
        body: str = "",
        content_sid: str | None = None,
        variables: dict[str, str] | None = None,
    ) -> OutboundMessage:
        return OutboundMessage(
            to=self.prefix + number,
            body=body,
            from_number=self.prefix + sender.number if sender.number else None,
            messaging_service_sid=sender.messaging_service_sid,
            content_sid=content_sid,
            content_variables=json.dumps(variables, ensure_ascii=False) if variables else None,
        )

    async def _send(self, message: OutboundMessage) -> str:
        try:
            return await self.messaging.send_message(message)
        except MessagingError as error:
            raise DeliveryError(str(error), permanent=not error.retryable) from error
