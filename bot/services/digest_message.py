"""The digest of one day for one manager: figures in, the message they read (a neutral view, a chart)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from multiprocessing import get_context
from typing import Any

from bot.domain.digest import DigestFigures
from bot.domain.org import StaffMember
from bot.domain.weekly import WeekFigures
from bot.ports import Report
from bot.services.digest import DigestReader
from bot.services.directory import Org
from cards.digest import DigestContext, DigestView, build_digest_view
from cards.digest_chart import render_chart
from cards.digest_render import render_digest_text
from cards.weekly import build_weekly_view


@dataclass(frozen=True)
class DigestMessage:
    """What a manager receives, as plain data (an outbox payload): the neutral view each channel
    renders its own way, and the chart's figures (the PNG is drawn at send time)."""

    view: DigestView
    hourly: dict[int, dict[str, int]]

    @property
    def subject(self) -> str:
        return self.view.subject

    @property
    def plain(self) -> str:
        """No markup, no links: a terminal (``centralita digest --dry-run``)."""
        return render_digest_text(self.view)

    def payload(self) -> dict[str, Any]:
        hourly = {str(hour): counts for hour, counts in self.hourly.items()}
        return {"subject": self.subject, "view": self.view.payload(), "hourly": hourly}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DigestMessage:
        hourly = {int(hour): counts for hour, counts in payload["hourly"].items()}
        return cls(DigestView.from_payload(payload["view"]), hourly)

    async def report(self, links: Mapping[int, str]) -> Report:
        """The message as the publisher port takes it, its chart rendered."""
        png = await self.chart_png() if self.hourly else None
        return Report(self.subject, self.view, png, self.view.chart_title, "digest.png", links)

    async def chart_png(self) -> bytes:
        """The chart, rendered in a process of its own (see ``chart_process``)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            chart_process(), render_chart, self.hourly, self.view.chart_title, self.view.chart_labels
        )


_CHARTS: list[ProcessPoolExecutor] = []


def chart_process() -> ProcessPoolExecutor:
    """One worker process for charts, started on first use ("forkserver": a clean process, not a fork
    of a server with threads and open connections). matplotlib holds the GIL while it draws (about
    0.2 s a chart): on a thread it delayed the event loop by tens of milliseconds."""
    if not _CHARTS:
        _CHARTS.append(ProcessPoolExecutor(max_workers=1, mp_context=get_context("forkserver")))
    return _CHARTS[0]


def yesterday(org: Org, now: datetime) -> date:
    """The organisation's local yesterday at ``now``."""
    return now.astimezone(org.calendar.zone).date() - timedelta(days=1)


def reader_locale(org: Org, member: StaffMember) -> str:
    return member.locale or org.locale


def digest_message(org: Org, member: StaffMember, figures: DigestFigures) -> DigestMessage:
    return DigestMessage(build_digest_view(figures, _context(org, member)), figures.hourly)


def _context(org: Org, member: StaffMember) -> DigestContext:
    return DigestContext(
        locale=reader_locale(org, member),
        org_name=org.config.organization.name,
        zone=org.calendar.zone,
        names={s.id: s.name for s in org.config.staff},
    )


async def compose(reader: DigestReader, org: Org, member: StaffMember, day: date) -> DigestMessage:
    return digest_message(org, member, await reader.figures(org.id, day))


def weekly_message(org: Org, member: StaffMember, figures: WeekFigures) -> DigestMessage:
    """The weekly review, as the same kind of message (without a chart)."""
    return DigestMessage(build_weekly_view(figures, _context(org, member)), {})
