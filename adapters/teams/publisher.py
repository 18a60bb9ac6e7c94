"""Teams for the outbox worker: cards posted as new channel threads and updated in place, replies
under them, 1:1 chats for direct messages and private notes. Every call goes through the Bot
Connector at the ``serviceUrl`` of a conversation an authenticated activity showed us.

A message reference here is ``<conversation id>|<activity id>``: the conversation's service URL and
the rest of its reference come from the stored conversation (``bot.services.conversations``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
    Mention,
)
from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.teams.gateway import TeamsGateway
from adapters.teams.links import channel_message_link, message_link
from adapters.teams.parse import CHANNEL
from bot.ports import DeliveryError, MessageRef, PostRef, PrivateTo, Report
from bot.services.conversations import Conversations, ConversationSeen
from cards.adaptive import render_card, render_direct
from cards.digest_render import render_digest_card
from cards.model import CardView, DirectView, Person, Text

log = logging.getLogger("centralita.teams")
# Teams' rate-limit guidance: retry 429, 412, 502 and 504 (with the Retry-After it gives).
RETRIED = frozenset({408, 412, 429, 500, 502, 503, 504})
BLOCKED = "MessageWritesBlocked"


class TeamsPublisher:
    """Sends through the conversations stored from ``tenant`` only, when it is set: an organisation
    with a tenant of its own (``in_workspace``) never reaches a channel or a person of another."""

    name = CHANNEL

    def __init__(
        self, gateway: TeamsGateway, conversations: Conversations, tenant: str | None = None
    ) -> None:
        self.gateway = gateway
        self.conversations = conversations
        self.tenant = tenant
        self._tenants: dict[str, TeamsPublisher] = {}

    async def in_workspace(self, workspace: str | None) -> TeamsPublisher:
        """The publisher of an organisation's own tenant (None: the conversations of any tenant)."""
        if workspace is None or workspace == self.tenant:
            return self
        if workspace not in self._tenants:
            self._tenants[workspace] = TeamsPublisher(self.gateway, self.conversations, workspace)
        return self._tenants[workspace]

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        """A new thread in the channel ``target`` (its id), through the team's stored reference."""
        channel = await self._conversation(target)
        activity = _card_activity(render_card(view))
        found: dict[str, str] = {}

        async def start_thread(turn: TurnContext) -> None:
            reference, activity_id = await TeamsInfo.send_message_to_teams_channel(
                turn, activity, target, bot_app_id=self.gateway.bot_app_id
            )
            found["ref"] = _ref(reference.conversation.id, activity_id)

        await self._turn(channel.reference, start_thread)
        return found["ref"]

    async def update_card(self, post: PostRef, view: CardView) -> None:
        channel = await self._conversation(post.target)
        conversation, activity_id = _split(post.external_ref)
        activity = _card_activity(render_card(view))
        activity.id = activity_id

        async def update(turn: TurnContext) -> None:
            activity.conversation = turn.activity.conversation
            await turn.update_activity(activity)

        await self._turn(_in(channel.reference, conversation), update)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        channel = await self._conversation(post.target)
        conversation, _ = _split(post.external_ref)
        return await self._send(_in(channel.reference, conversation), _text_activity(text))

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        link = await self._card_link(card) if card is not None else None
        activity = _card_activity(render_direct(view, link))
        activity.summary = view.text.plain()[:200]
        return await self._to_person(user, activity)

    async def _card_link(self, card: PostRef) -> str | None:
        """The deep link of the card's message in its channel (None before it is posted)."""
        conversation, _, activity_id = (card.external_ref or "").rpartition("|")
        if not conversation or not activity_id:
            return None
        channel = await self.conversations.find(CHANNEL, card.target)
        if channel is None:
            return channel_message_link(conversation, activity_id, None, None, None)
        return channel_message_link(
            conversation, activity_id, channel.tenant_id, channel.team_name, channel.name
        )

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        """A 1:1 message (the answer to a card action itself carries the note, see ``bot.py``)."""
        return await self._to_person(to.user, _text_activity(text))

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        """A report (the digest) as a 1:1 message: an Adaptive Card, the chart inline in it."""
        activity = _card_activity(render_digest_card(report.view, report.links, report.chart_png))
        activity.summary = report.subject[:200]
        return await self._to_person(target, activity)

    async def card_link(self, card_id: int, post: PostRef | None, now: datetime) -> str | None:
        """The deep link to the card's channel post."""
        return message_link(post) if post is not None else None

    async def replace_message(self, ref: MessageRef, text: Text) -> None:
        """The message (a card, a reply under it, a 1:1 message) becomes ``text`` alone, in place
        (``update_activity`` on its stored reference): its card and buttons are gone."""
        conversation, activity_id = _split(ref)
        activity = _text_activity(text)
        activity.id = activity_id

        async def update(turn: TurnContext) -> None:
            activity.conversation = turn.activity.conversation
            await turn.update_activity(activity)

        await self._turn(await self._reference_of(conversation), update)

    async def _reference_of(self, conversation: str) -> dict[str, Any]:
        """Where a message's conversation is reached: its own stored reference, else that of the
        channel whose thread it is (``<channel>;messageid=…``), else, for a 1:1 chat the bot opened,
        the service URL of the tenant's conversations."""
        channel_id = conversation.split(";", 1)[0]
        for known in (conversation, channel_id):
            found = await self.conversations.find(CHANNEL, known)
            if found is not None:
                return _in(found.reference, conversation)
        anywhere = await self.conversations.any_of_tenant(CHANNEL, None)
        if anywhere is None:
            raise DeliveryError("Teams: the app is not installed anywhere yet", capped=True)
        return _in(anywhere.reference, conversation)

    async def _to_person(self, user: str, activity: Activity) -> MessageRef:
        personal = await self.conversations.personal(CHANNEL, user, self.tenant)
        if personal is not None:
            return await self._send(personal.reference, activity)
        return await self._new_chat(user, activity)

    async def _new_chat(self, user: str, activity: Activity) -> MessageRef:
        """Proactively open a 1:1 chat with someone who never wrote to the bot (the app must be
        installed for them, or in a team they belong to)."""
        anywhere = await self.conversations.any_of_tenant(CHANNEL, self.tenant)
        if anywhere is None:
            where = f"in tenant {self.tenant}" if self.tenant else "anywhere"
            raise DeliveryError(f"Teams: the app is not installed {where} yet", capped=True)
        tenant = anywhere.tenant_id
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=f"28:{self.gateway.bot_app_id}"),
            members=[ChannelAccount(id=user)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        found: dict[str, str] = {}

        async def send(turn: TurnContext) -> None:
            found["ref"] = await _post(turn, activity)

        await self._call(
            self.gateway.adapter.create_conversation(
                self.gateway.bot_app_id, send, parameters, "msteams", anywhere.service_url
            )
        )
        return found["ref"]

    async def _send(self, reference: dict[str, Any], activity: Activity) -> MessageRef:
        found: dict[str, str] = {}

        async def send(turn: TurnContext) -> None:
            found["ref"] = await _post(turn, activity)

        await self._turn(reference, send)
        return found["ref"]

    async def _turn(self, reference: dict[str, Any], logic: Callable[[TurnContext], Awaitable[None]]) -> None:
        restored = ConversationReference().deserialize(reference)
        await self._call(self.gateway.adapter.continue_conversation(restored, logic, self.gateway.bot_app_id))

    async def _conversation(self, conversation_id: str) -> ConversationSeen:
        found = await self.conversations.find(CHANNEL, conversation_id)
        if found is None:
            raise DeliveryError(
                f"Teams: no stored conversation {conversation_id!r}; install the app in its team "
                "(`centralita teams channels` lists where it is)",
                capped=True,
            )
        if self.tenant is not None and found.tenant_id != self.tenant:
            raise DeliveryError(
                f"Teams: conversation {conversation_id!r} is in tenant {found.tenant_id}, not in the"
                f" organisation's ({self.tenant}): check its teams_channel",
                permanent=True,
            )
        return found

    @staticmethod
    async def _call(work: Awaitable[Any]) -> None:
        try:
            await work
        except HttpOperationError as error:
            raise delivery_error(error) from error
        except (ClientRequestError, aiohttp.ClientError, OSError, TimeoutError) as error:
            raise DeliveryError(f"Teams unreachable: {error!r}") from error


def delivery_error(error: HttpOperationError) -> DeliveryError:
    """What the Bot Connector's refusal means for the outbox: retried (with its Retry-After) for
    429, 412 and 5xx; given up for a bot that is blocked or removed; a few tries for the rest."""
    response = error.response
    status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    code = _error_code(error)
    reason = f"Teams error {status} {code}".strip()
    if status in RETRIED:
        retry_after = headers.get("Retry-After") or headers.get("retry-after")
        return DeliveryError(reason, retry_after=_seconds(retry_after))
    if status == 403 and BLOCKED in f"{code} {error}":
        return DeliveryError(reason + " (the bot was blocked or removed)", permanent=True)
    if status in (400, 404):
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason, capped=True)


def _error_code(error: HttpOperationError) -> str:
    inner = getattr(getattr(error, "error", None), "error", None)
    return str(getattr(inner, "code", "") or "")


def _seconds(value: object) -> float | None:
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


async def _post(turn: TurnContext, activity: Activity) -> MessageRef:
    """Send into the turn's conversation as a new message: a proactive turn's activity carries a
    made-up id, which the SDK would otherwise send as the ``replyToId`` of what we post."""
    turn.activity.id = None
    response = await turn.send_activity(activity)
    return _ref(turn.activity.conversation.id, response.id if response else "")


def _card_activity(card: dict[str, Any]) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def _text_activity(text: Text) -> Activity:
    """A message with each person written as a Teams mention when we know their Teams id."""
    parts: list[str] = []
    entities: list[Mention] = []
    for part in text.parts:
        if isinstance(part, Person) and part.handle:
            tag = f"<at>{part.name}</at>"
            parts.append(tag)
            entities.append(
                Mention(mentioned=ChannelAccount(id=part.handle, name=part.name), text=tag, type="mention")
            )
        else:
            parts.append(part.name if isinstance(part, Person) else part)
    return Activity(type=ActivityTypes.message, text="".join(parts), entities=entities or None)


def _in(reference: dict[str, Any], conversation: str) -> dict[str, Any]:
    """The stored reference, aimed at another conversation of the same place (a card's thread)."""
    aimed = dict(reference)
    aimed["conversation"] = {**(reference.get("conversation") or {}), "id": conversation}
    return aimed


def _ref(conversation: str, activity_id: str) -> MessageRef:
    return f"{conversation}|{activity_id}"


def _split(ref: str | None) -> tuple[str, str]:
    conversation, _, activity_id = (ref or "").rpartition("|")
    if not conversation or not activity_id:
        raise DeliveryError(f"not a Teams message reference: {ref!r}", permanent=True)
    return conversation, activity_id
