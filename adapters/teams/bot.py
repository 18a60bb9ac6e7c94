"""The Teams bot's turns: remember where it was let in, answer card actions and ``recado`` messages."""

from __future__ import annotations

import asyncio
import logging
import re

from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import ActivityTypes

from adapters.teams.actions import TeamsActions, message_answer
from adapters.teams.forms import RECADO_VERB, recado_form
from adapters.teams.parse import (
    BadActivity,
    card_action,
    message_text,
    seen_conversations,
    team_id_of,
    tenant_of,
)
from adapters.teams.privacy import ERASE_VERB
from bot.domain.privacy_request import is_privacy_request
from bot.services.conversations import Conversations

log = logging.getLogger("centralita.teams")
_REMEMBERED = frozenset(
    {ActivityTypes.conversation_update, ActivityTypes.installation_update, ActivityTypes.message}
)
CARD_ACTION = "adaptiveCard/action"


class CentralitaBot(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(
        self, conversations: Conversations, actions: TeamsActions, recado_word: str = "recado"
    ) -> None:
        self.conversations = conversations
        self.actions = actions
        self.recado = re.compile(rf"^/?{re.escape(recado_word)}\b\s*(.*)$", re.IGNORECASE | re.DOTALL)

    async def on_turn(self, turn_context: TurnContext) -> None:
        if turn_context.activity.type in _REMEMBERED:
            await self._remember(turn_context)
        await super().on_turn(turn_context)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name != CARD_ACTION:
            return await super().on_invoke_activity(turn_context)
        try:
            action = card_action(turn_context.activity)
        except BadActivity as error:
            return InvokeResponse(
                status=400,
                body={
                    "statusCode": 400,
                    "type": "application/vnd.microsoft.error",
                    "value": {"code": "BadRequest", "message": str(error)},
                },
            )
        if action.verb == ERASE_VERB:
            return InvokeResponse(status=200, body=await self.actions.privacy_erase(action))
        if action.verb == RECADO_VERB:
            answer = await self.actions.recado_form_sent(action)
            return InvokeResponse(status=200, body=message_answer(answer))
        return InvokeResponse(status=200, body=await self.actions.card_action(action))

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        user, tenant = getattr(activity.from_property, "aad_object_id", None), tenant_of(activity)
        said = message_text(activity)
        if self.actions.privacy is not None and is_privacy_request(said):
            await turn_context.send_activity(await self.actions.privacy_request(user, tenant, said))
            return
        match = self.recado.match(said)
        if match is None:
            return
        text = match.group(1).strip()
        if text:
            await turn_context.send_activity(await self.actions.recado(user, tenant, text))
            return
        org = self.actions.recado_author(user, tenant)
        if isinstance(org, str):
            await turn_context.send_activity(org)
            return
        await turn_context.send_activity(
            MessageFactory.attachment(CardFactory.adaptive_card(recado_form(org.config)))
        )

    async def _remember(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        team_id = team_id_of(activity)
        listed = await _team_channels(turn_context, team_id) if team_id and _is_install(turn_context) else []
        await self.conversations.remember(seen_conversations(activity, listed))


def _is_install(turn_context: TurnContext) -> bool:
    """An activity saying the bot was added (installed in a team, or added to a conversation)."""
    activity = turn_context.activity
    if activity.type == ActivityTypes.installation_update:
        return activity.action in ("add", "add-upgrade")
    if activity.type == ActivityTypes.conversation_update:
        bot_id = getattr(activity.recipient, "id", None)
        return any(m.id == bot_id for m in activity.members_added or [])
    return False


async def _team_channels(turn_context: TurnContext, team_id: str) -> list[tuple[str, str | None]]:
    """The team's channels (id, name), so that any of them can be named in the configuration.
    The connector's Teams client is synchronous: it runs in a thread."""
    try:
        client = await TeamsInfo.get_teams_connector_client(turn_context)
        listed = await asyncio.to_thread(client.teams.get_teams_channels, team_id)
    except Exception as error:  # the installation itself is remembered all the same
        log.warning("could not list the channels of team %s: %r", team_id, error)
        return []
    return [(c.id, c.name) for c in listed.conversations or [] if c.id]
