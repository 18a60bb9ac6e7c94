"""The console channel: cards and their updates as readable text in the log, when no chat is set up."""

from __future__ import annotations

import logging

from bot.ports import PostRef, Report
from cards.model import CardView
from cards.text import render_text

log = logging.getLogger("centralita.console")


class ConsolePublisher:
    name = "console"

    async def post_card(self, target: str, view: CardView) -> str:
        log.info("new card in %s\n%s", target, render_text(view))
        return f"console-{view.card_id}"

    async def update_card(self, post: PostRef, view: CardView) -> None:
        log.info("card updated in %s\n%s", post.target, render_text(view))

    async def post_in_thread(self, post: PostRef, text: str) -> None:
        log.info("thread of %s: %s", post.external_ref, text)

    async def send_direct(self, user: str, text: str, card: PostRef | None) -> None:
        log.info("message to %s: %s", user, text)

    async def send_ephemeral(self, target: str, user: str, text: str) -> None:
        log.info("note to %s in %s: %s", user, target, text)

    async def send_report(self, target: str, report: Report) -> None:
        chart = f" (chart: {len(report.chart_png)} bytes)" if report.chart_png else ""
        log.info("report to %s: %s%s\n%s", target, report.subject, chart, report.plain)
