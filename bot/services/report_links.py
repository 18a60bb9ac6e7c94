"""Where a report's reader opens each card it names, on the channel the report goes to: the
channel's ``CardLinker`` turns the card's first post there (a Slack message, a Teams thread) into a
link, or makes one of its own (email: a signed page). Looked up when the report is sent, so a card
posted since the report was written is linked too."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam
from sqlmodel import col, select

from bot.ports import CardLinker, ChannelPublisher, PostRef
from bot.services.runtime import Runtime
from bot.store.db import execute
from bot.store.models import CardPost

_POSTS_ON_CHANNEL = (
    select(CardPost.card_id, CardPost.target, CardPost.external_ref)
    .where(
        col(CardPost.card_id).in_(bindparam("ids", expanding=True)), CardPost.channel == bindparam("channel")
    )
    .order_by(col(CardPost.id))
)


async def report_links(
    rt: Runtime, publisher: ChannelPublisher, channel: str, card_ids: Sequence[int]
) -> dict[int, str]:
    """Card id → link, for the cards the channel can link to (none when it links to nothing)."""
    if not card_ids or not isinstance(publisher, CardLinker):
        return {}
    posts = await _first_posts(rt, channel, card_ids)
    now = rt.clock.now()
    links = {}
    for card_id in card_ids:
        link = await publisher.card_link(card_id, posts.get(card_id), now)
        if link:
            links[card_id] = link
    return links


async def _first_posts(rt: Runtime, channel: str, card_ids: Sequence[int]) -> dict[int, PostRef]:
    async with rt.sessions() as session:
        rows = (await execute(session, _POSTS_ON_CHANNEL, {"ids": list(card_ids), "channel": channel})).all()
    posts: dict[int, PostRef] = {}
    for row in rows:
        posts.setdefault(row.card_id, PostRef(row.target, row.external_ref))
    return posts
