"""The console channel: cards and their updates as readable text in the log, when no chat is set up."""

from __future__ import annotations

import logging

from bot.ports import MessageRef, PostRef, PrivateTo, Report
from cards.digest_render import render_digest_text
from cards.model import CardView, DirectView, Text
from cards.text import render_text

log = logging.getLogger("centralita.console")


class ConsolePublisher:
    name = "console"

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        log.info("new card in %s\n%s", target, render_text(view))
        return f"console-{view.card_id}"

    async def update_card(self, post: PostRef, view: CardView) -> None:
        log.info("card updated in %s\n%s", post.target, render_text(view))

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        log.info("thread of %s: %s", post.external_ref, text.plain())
        return f"{post.external_ref}:thread"

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        actions = "".join(f" [{a.label}]" for a in view.actions)
        log.info("message to %s: %s%s", user, view.text.plain(), actions)
        return f"console-dm-{user}"

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        log.info("note to %s in %s: %s", to.user, to.where, text.plain())
        return None

    async def replace_message(self, ref: MessageRef, text: Text) -> None:
        log.info("message %s replaced: %s", ref, text.plain())

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        chart = f" (chart: {len(report.chart_png)} bytes)" if report.chart_png else ""
        log.info("report to %s: %s%s\n%s", target, report.subject, chart, render_digest_text(report.view))
        return None
