"""Teams for the outbox worker: cards posted as new channel threads and updated in place, replies
under them, 1:1 chats for direct messages and private notes. Every call goes through the Bot
Connector at the ``serviceUrl`` of a conversation an authenticated activity showed us, with our own
REST client (``adapters.teams.connector``) and activities as plain JSON, addressed as botbuilder
addressed them in a proactive turn.

A message reference here is ``<conversation id>|<activity id>``: the conversation's service URL and
the rest of its reference come from the stored conversation (``bot.services.conversations``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.teams.auth import BOT_FRAMEWORK
from adapters.teams.connector import BearerTokens, BotConnector
from adapters.teams.links import channel_message_link, message_link
from adapters.teams.parse import CHANNEL
from bot.ports import DeliveryError, MessageRef, PostRef, PrivateTo, Report
from bot.services.conversations import Conversations, ConversationSeen
from cards.adaptive import render_card, render_direct
from cards.digest_render import render_digest_card
from cards.model import CardView, DirectView, Person, Text

if TYPE_CHECKING:
    from adapters.teams.gateway import TeamsGateway

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
TEAMS_CHANNEL_ID = "msteams"


class TeamsPublisher:
    """Sends through the conversations stored from ``tenant`` only, when it is set: an organisation
    with a tenant of its own (``in_workspace``) never reaches a channel or a person of another.
    Every copy shares one ``BotConnector`` (one HTTP session for the process): ``close`` it at
    shutdown."""

    name = CHANNEL

    def __init__(
        self,
        gateway: TeamsGateway,
        conversations: Conversations,
        tenant: str | None = None,
        *,
        connector: BotConnector | None = None,
    ) -> None:
        self.gateway = gateway
        self.conversations = conversations
        self.tenant = tenant
        self.connector = connector or _connector_of(gateway)
        self._tenants: dict[str, TeamsPublisher] = {}

    @property
    def bot_id(self) -> str:
        """The bot's Teams id (``28:<app id>``)."""
        return f"28:{self.gateway.bot_app_id}"

    async def in_workspace(self, workspace: str | None) -> TeamsPublisher:
        """The publisher of an organisation's own tenant (None: the conversations of any tenant)."""
        if workspace is None or workspace == self.tenant:
            return self
        if workspace not in self._tenants:
            self._tenants[workspace] = TeamsPublisher(
                self.gateway, self.conversations, workspace, connector=self.connector
            )
        return self._tenants[workspace]

    async def close(self) -> None:
        await self.connector.close()

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        """A new thread in the channel ``target`` (its id), through the team's stored reference
        (what ``TeamsInfo.send_message_to_teams_channel`` sends)."""
        channel = await self._conversation(target)
        thread = {  # the channel data as the SDK's TeamsChannelData serialised, onBehalfOf and all
            "isGroup": True,
            "activity": _card_activity(render_card(view)),
            "channelData": {"channel": {"id": target}, "onBehalfOf": []},
        }
        answer = await self.connector.create_conversation(_service_url(channel.reference), thread)
        return _ref(_created_id(answer), str(answer.get("activityId") or ""))

    async def update_card(self, post: PostRef, view: CardView) -> None:
        channel = await self._conversation(post.target)
        conversation, activity_id = _split(post.external_ref)
        activity = _card_activity(render_card(view))
        await self._update(_in(channel.reference, conversation), activity_id, activity)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        channel = await self._conversation(post.target)
        conversation, _ = _split(post.external_ref)
        return await self._send(_in(channel.reference, conversation), _text_activity(text))

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        link = await self._card_link(card) if card is not None else None
        activity = _card_activity(render_direct(view, link))
        activity["summary"] = view.text.plain()[:200]
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
        activity["summary"] = report.subject[:200]
        return await self._to_person(target, activity)

    async def card_link(self, card_id: int, post: PostRef | None, now: datetime) -> str | None:
        """The deep link to the card's channel post."""
        return message_link(post) if post is not None else None

    async def replace_message(self, ref: MessageRef, text: Text) -> None:
        """The message (a card, a reply under it, a 1:1 message) becomes ``text`` alone, in place
        (an update on its stored reference): its card and buttons are gone."""
        conversation, activity_id = _split(ref)
        await self._update(await self._reference_of(conversation), activity_id, _text_activity(text))

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

    async def _to_person(self, user: str, activity: dict[str, Any]) -> MessageRef:
        personal = await self.conversations.personal(CHANNEL, user, self.tenant)
        if personal is not None:
            return await self._send(personal.reference, activity)
        return await self._new_chat(user, activity)

    async def _new_chat(self, user: str, activity: dict[str, Any]) -> MessageRef:
        """Proactively open a 1:1 chat with someone who never wrote to the bot (the app must be
        installed for them, or in a team they belong to), then send into it (what
        ``CloudAdapter.create_conversation`` and a send in its turn did)."""
        anywhere = await self.conversations.any_of_tenant(CHANNEL, self.tenant)
        if anywhere is None:
            where = f"in tenant {self.tenant}" if self.tenant else "anywhere"
            raise DeliveryError(f"Teams: the app is not installed {where} yet", capped=True)
        tenant, service_url = anywhere.tenant_id, anywhere.service_url
        chat = {
            "isGroup": False,
            "bot": {"id": self.bot_id},
            "members": [{"id": user}],
            "channelData": {"tenant": {"id": tenant}},
            **_tenant_field(tenant),
        }
        conversation = _created_id(await self.connector.create_conversation(service_url, chat))
        reference = {
            "serviceUrl": service_url,
            "channelId": TEAMS_CHANNEL_ID,
            "bot": {"id": self.bot_id},
            "conversation": {"id": conversation, **_tenant_field(tenant)},
        }
        return await self._send(reference, activity)

    async def _send(self, reference: dict[str, Any], activity: dict[str, Any]) -> MessageRef:
        """A new message in the reference's conversation (never a reply: no ``replyToId``)."""
        conversation = _conversation_id(reference)
        sent = _addressed({**activity, "inputHint": "acceptingInput"}, reference)
        answer = await self.connector.send_to_conversation(_service_url(reference), conversation, sent)
        return _ref(conversation, str(answer.get("id") or ""))

    async def _update(self, reference: dict[str, Any], activity_id: str, activity: dict[str, Any]) -> None:
        sent = _addressed({**activity, "id": activity_id}, reference)
        await self.connector.update_activity(
            _service_url(reference), _conversation_id(reference), activity_id, sent
        )

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


def _connector_of(gateway: TeamsGateway) -> BotConnector:
    """The Bot Connector client: with the app's token when authentication is on, else with none."""
    if not gateway.auth.enabled:
        return BotConnector()
    return BotConnector(BearerTokens(gateway.credentials.for_scope(BOT_FRAMEWORK)))


def _card_activity(card: dict[str, Any]) -> dict[str, Any]:
    """A message carrying one Adaptive Card (as ``MessageFactory.attachment`` built it)."""
    return {
        "type": "message",
        "attachmentLayout": "list",
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": card}],
    }


def _text_activity(text: Text) -> dict[str, Any]:
    """A message with each person written as a Teams mention when we know their Teams id."""
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    for part in text.parts:
        if isinstance(part, Person) and part.handle:
            tag = f"<at>{part.name}</at>"
            parts.append(tag)
            mentioned = {"id": part.handle, "name": part.name}
            entities.append({"mentioned": mentioned, "text": tag, "type": "mention"})
        else:
            parts.append(part.name if isinstance(part, Person) else part)
    activity: dict[str, Any] = {"type": "message", "text": "".join(parts)}
    if entities:
        activity["entities"] = entities
    return activity


def _addressed(activity: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The activity addressed as the SDK addressed it in a proactive turn on ``reference``: from the
    stored bot, to the stored user, in the reference's conversation and service URL."""
    addressed = dict(activity)
    for field, key in _ADDRESS:
        value = reference.get(key)
        if value is not None:
            addressed[field] = value
    return addressed


_ADDRESS = (
    ("serviceUrl", "serviceUrl"),
    ("channelId", "channelId"),
    ("from", "bot"),
    ("conversation", "conversation"),
    ("recipient", "user"),
)
"""Activity field ← stored ConversationReference key (``TurnContext.apply_conversation_reference``)."""


def _tenant_field(tenant: str | None) -> dict[str, str]:
    """The tenant as ``ConversationParameters`` and ``ConversationAccount`` spell it on the wire."""
    return {"tenantID": tenant} if tenant else {}


def _service_url(reference: dict[str, Any]) -> str:
    url = reference.get("serviceUrl")
    if not isinstance(url, str) or not url:
        raise DeliveryError("Teams: the stored conversation has no serviceUrl", permanent=True)
    return url


def _conversation_id(reference: dict[str, Any]) -> str:
    return str((reference.get("conversation") or {}).get("id") or "")


def _created_id(answer: dict[str, Any]) -> str:
    conversation = answer.get("id")
    if not isinstance(conversation, str) or not conversation:
        raise DeliveryError("Teams created a conversation but answered no id", capped=True)
    return conversation


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
