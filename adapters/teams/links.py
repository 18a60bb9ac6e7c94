"""Deep links into Teams: a card's channel post, for a report's line about that card."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from bot.ports import PostRef

BASE = "https://teams.microsoft.com/l/message"


def message_link(post: PostRef) -> str | None:
    """The deep link to a channel post (``/l/message/<channel id>/<message id>``, with the thread's
    root as ``parentMessageId``), from the stored reference ``<conversation id>|<activity id>``; a
    thread's conversation id is the channel id with ``;messageid=<root>``. None for a reference that
    is not one."""
    conversation, _, activity_id = (post.external_ref or "").rpartition("|")
    if not conversation or not activity_id:
        return None
    channel = conversation.split(";", 1)[0]
    query = {"parentMessageId": activity_id}
    if activity_id.isdigit():  # a Teams message id is its creation time, in milliseconds
        query["createdTime"] = activity_id
    return f"{BASE}/{quote(channel, safe=':@.')}/{quote(activity_id, safe='')}?{urlencode(query)}"
