"""The Teams bot's turns: remember where it was let in; (later) card actions and ``recado``."""

from __future__ import annotations

import asyncio
import logging

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import ActivityTypes

from adapters.teams.parse import seen_conversations, team_id_of
from bot.services.conversations import Conversations

log = logging.getLogger("centralita.teams")
_REMEMBERED = frozenset(
    {ActivityTypes.conversation_update, ActivityTypes.installation_update, ActivityTypes.message}
)


class CentralitaBot(TeamsActivityHandler):  # type: ignore[misc]
    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def on_turn(self, turn_context: TurnContext) -> None:
        if turn_context.activity.type in _REMEMBERED:
            await self._remember(turn_context)
        await super().on_turn(turn_context)

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
