"""Teams deep links: the link to a card's message in its channel, for the 1:1 messages about it
(as a Slack DM links to the Slack message)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

DEEP_LINK_BASE = "https://teams.microsoft.com/l/message/"


def channel_message_link(
    conversation: str,
    activity_id: str,
    tenant_id: str | None,
    team_name: str | None,
    channel_name: str | None,
) -> str:
    """The deep link of a channel message from its reference: ``conversation`` is the thread's
    conversation id (``<channel id>;messageid=<root id>``); a card is the thread's root message, so
    it is its own parent."""
    channel_id, _, root = conversation.partition(";messageid=")
    parent = root or activity_id
    query = {
        "tenantId": tenant_id,
        "parentMessageId": parent,
        "teamName": team_name,
        "channelName": channel_name,
    }
    shown = urlencode({k: v for k, v in query.items() if v})
    return f"{DEEP_LINK_BASE}{quote(channel_id, safe='')}/{quote(activity_id, safe='')}?{shown}"
