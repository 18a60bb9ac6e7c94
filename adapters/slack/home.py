"""The App Home tab in Block Kit: the neutral home view, published with ``views.publish``."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.services.home import HomeViews
from cards.blockkit import escape
from cards.home import HomeView, build_home

log = logging.getLogger("centralita.slack")
MAX_LINES = 25


def render_home(view: HomeView) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": view.title[:150]}}
    ]
    for section in view.sections:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(section.heading)}*"}})
        lines = section.lines[:MAX_LINES] or (section.empty,)
        text = "\n".join(f"• {escape(line)}" if section.lines else escape(line) for line in lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        blocks.append({"type": "divider"})
    return {"type": "home", "blocks": blocks}


class HomeTabs:
    """Whose Home tab this process has published: after a click, only a home that was opened is
    refreshed (nobody else would see it; the next opening publishes it anyway)."""

    def __init__(self, homes: HomeViews) -> None:
        self.homes = homes
        self.opened: set[str] = set()

    async def on_opened(self, client: AsyncWebClient, user: str) -> None:
        self.opened.add(user)
        await publish_home(client, self.homes, user)

    async def after_click(self, client: AsyncWebClient, user: str) -> None:
        if user in self.opened:
            await publish_home(client, self.homes, user)


async def publish_home(client: AsyncWebClient, homes: HomeViews, user: str) -> None:
    """Publish ``user``'s home as it is now (nothing for someone who is not staff)."""
    facts = await homes.for_user("slack", user)
    if facts is None:
        return
    await client.views_publish(user_id=user, view=render_home(build_home(facts)))
