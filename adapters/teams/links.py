"""Teams deep links to a card's channel post: for the 1:1 messages about the card (as a Slack DM
links to the Slack message) and for a report's line about it."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from bot.ports import PostRef

BASE = "https://teams.microsoft.com/l/message"


def channel_message_link(
    conversation: str,
    activity_id: str,
    tenant_id: str | None = None,
    team_name: str | None = None,
    channel_name: str | None = None,
) -> str:
    """The deep link of a channel message from its reference (``/l/message/<channel id>/<message
    id>``): ``conversation`` is the thread's conversation id (``<channel id>;messageid=<root id>``); a
    card is the thread's root message, so it is its own parent."""
    channel_id, _, root = conversation.partition(";messageid=")
    query = {
        "parentMessageId": root or activity_id,
        "tenantId": tenant_id,
        "teamName": team_name,
        "channelName": channel_name,
    }
    if activity_id.isdigit():  # a Teams message id is its creation time, in milliseconds
        query["createdTime"] = activity_id
    shown = urlencode({key: value for key, value in query.items() if value})
    return f"{BASE}/{quote(channel_id, safe=':@.')}/{quote(activity_id, safe='')}?{shown}"


def message_link(post: PostRef) -> str | None:
    """The deep link of a stored post reference ``<conversation id>|<activity id>``; None for a
    reference that is not one."""
    conversation, _, activity_id = (post.external_ref or "").rpartition("|")
    if not conversation or not activity_id:
        return None
    return channel_message_link(conversation, activity_id)
