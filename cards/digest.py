"""The daily digest as a person reads it: a neutral view of sections, then text (Slack, console,
email's text part) or HTML (email). Dates, times, numbers and durations are formatted for the
reader's locale with Babel."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal

from bot.domain.digest import ANSWERS, Breach, DigestFigures, DueCallback, Lead, StaffLine
from bot.i18n import t, t_or
from cards.build import category_label

CHART_CID = "digest-chart"
"""The chart's Content-ID in an email (``<img src="cid:…">``)."""


@dataclass(frozen=True)
class DigestContext:
    """Who reads the digest, and what the renderer needs to name things for them."""

    locale: str
    org_name: str
    zone: ZoneInfo
    names: Mapping[str, str] = field(default_factory=dict)
    """Staff id → name."""
    links: Mapping[int, str] = field(default_factory=dict)
    """Card id → a link to the card, where one is known."""


@dataclass(frozen=True)
class Line:
    text: str
    link: str | None = None


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class DigestView:
    subject: str
    title: str
    sections: tuple[Section, ...]
    chart_title: str
    chart_labels: dict[str, str]
    empty: str


def build_digest_view(figures: DigestFigures, ctx: DigestContext) -> DigestView:
    f = Formats(ctx)
    day = f.day(figures.day)
    sections = (
        Section(t(ctx.locale, "digest.summary"), _summary(figures, f)),
        Section(t(ctx.locale, "digest.by_category"), _split(figures.by_category, f, f.category)),
        Section(t(ctx.locale, "digest.by_outcome"), _split(figures.by_outcome, f, f.outcome)),
        Section(
            t(ctx.locale, "digest.breaches", count=f.n(len(figures.breaches))), _breaches(figures.breaches, f)
        ),
        Section(t(ctx.locale, "digest.staff"), tuple(_staff_line(s, f) for s in figures.staff)),
        Section(
            t(
                ctx.locale,
                "digest.callbacks",
                count=f.n(len(figures.callbacks_due)),
                overdue=f.n(figures.overdue),
            ),
            _callbacks(figures, f),
        ),
        Section(
            t(ctx.locale, "digest.leads", count=f.n(len(figures.leads))),
            tuple(_lead_line(x, f) for x in figures.leads),
        ),
    )
    return DigestView(
        subject=t(ctx.locale, "digest.subject", org=ctx.org_name, date=day),
        title=t(ctx.locale, "digest.title", org=ctx.org_name, date=day),
        sections=sections,
        chart_title=t(ctx.locale, "digest.chart.title", date=f.day(figures.day, "medium")),
        chart_labels={kind: t(ctx.locale, f"digest.answer.{kind}") for kind in (*ANSWERS, "hour", "calls")},
        empty=t(ctx.locale, "digest.none"),
    )


def render_digest_text(view: DigestView, *, bold: Callable[[str], str] = lambda s: s) -> str:
    """Plain text; ``bold`` marks the headings (Slack's ``*…*``, nothing in an email's text part)."""
    lines = [bold(view.title)]
    for section in view.sections:
        lines += ["", bold(section.heading)]
        lines += [f"• {_with_link(line)}" for line in section.lines] or [f"• {_none(view)}"]
    return "\n".join(lines)


def render_digest_html(view: DigestView, *, chart: bool = True) -> str:
    """An email's HTML part; the chart, when there is one, is the inline image ``cid:digest-chart``."""
    parts = [f"<h2>{html.escape(view.title)}</h2>"]
    if chart:
        alt = html.escape(view.chart_title, quote=True)
        parts.append(f'<p><img src="cid:{CHART_CID}" alt="{alt}" width="720"></p>')
    for section in view.sections:
        parts.append(f"<h3>{html.escape(section.heading)}</h3>")
        items = [_html_line(line) for line in section.lines] or [html.escape(_none(view))]
        parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
    return "<!doctype html><html><body>" + "".join(parts) + "</body></html>"


def _none(view: DigestView) -> str:
    return view.empty


def _with_link(line: Line) -> str:
    return f"{line.text} <{line.link}>" if line.link else line.text


def _html_line(line: Line) -> str:
    text = html.escape(line.text)
    return f'<a href="{html.escape(line.link, quote=True)}">{text}</a>' if line.link else text


class Formats:
    """Babel formatting in the reader's locale and the organisation's time zone."""

    def __init__(self, ctx: DigestContext) -> None:
        self.ctx = ctx
        self.locale = ctx.locale

    def n(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def day(self, value: date, style: str = "full") -> str:
        return format_date(value, style, locale=self.locale)

    def clock(self, value: datetime) -> str:
        return format_time(value, "short", tzinfo=self.ctx.zone, locale=self.locale)

    def when(self, value: datetime) -> str:
        local = value.astimezone(self.ctx.zone)
        return f"{format_date(local.date(), 'short', locale=self.locale)} {self.clock(value)}"

    def span(self, value: timedelta | None) -> str:
        if value is None:
            return "—"
        return format_timedelta(value, threshold=1.5, locale=self.locale)

    def name(self, staff_id: str | None) -> str:
        if staff_id is None:
            return t(self.locale, "digest.nobody")
        return self.ctx.names.get(staff_id, staff_id)

    def category(self, category: str) -> str:
        return category_label(self.locale, category)

    def outcome(self, outcome: str) -> str:
        return t_or(self.locale, f"outcome.{outcome}", t_or(self.locale, f"digest.state.{outcome}", outcome))


def _summary(figures: DigestFigures, f: Formats) -> tuple[Line, ...]:
    loc, answers = f.locale, figures.answers
    lines = [
        t(
            loc,
            "digest.totals",
            calls=f.n(figures.totals.get("calls", 0)),
            messages=f.n(figures.totals.get("messages", 0)),
        ),
        t(
            loc,
            "digest.answers",
            live=f.n(answers["live"]),
            message=f.n(answers["message"]),
            missed=f.n(answers["missed"]),
        ),
        t(loc, "digest.claim_times", median=f.span(figures.claim_median), p90=f.span(figures.claim_p90)),
        t(loc, "digest.open_now", count=f.n(figures.open_now)),
    ]
    if figures.rejected_calls:
        lines.append(t(loc, "digest.rejected", count=f.n(figures.rejected_calls)))
    return tuple(Line(text) for text in lines)


def _split(counts: dict[str, dict[str, int]], f: Formats, label: Callable[[str], str]) -> tuple[Line, ...]:
    lines = []
    for medium, by_key in counts.items():
        parts = ", ".join(f"{label(key)} {f.n(count)}" for key, count in by_key.items())
        lines.append(Line(f"{t(f.locale, f'digest.medium.{medium}')}: {parts}"))
    return tuple(lines)


def _breaches(breaches: list[Breach], f: Formats) -> tuple[Line, ...]:
    key = {True: "digest.breach.late", False: "digest.breach.untaken"}
    return tuple(
        Line(
            t(
                f.locale,
                key[b.taken],
                card=b.card_id,
                category=f.category(b.category),
                caller=b.caller or "—",
                late=f.span(b.late_by),
            ),
            f.ctx.links.get(b.card_id),
        )
        for b in breaches
    )


def _staff_line(line: StaffLine, f: Formats) -> Line:
    return Line(
        t(
            f.locale,
            "digest.staff.line",
            name=f.name(line.staff_id),
            claimed=f.n(line.claimed),
            resolved=f.n(line.resolved),
            callbacks=f.n(line.callbacks_done),
        )
    )


def _callbacks(figures: DigestFigures, f: Formats) -> tuple[Line, ...]:
    """Overdue first (the figures are sorted so), each marked."""
    return tuple(
        _callback_line(c, f, overdue=i < figures.overdue) for i, c in enumerate(figures.callbacks_due)
    )


def _callback_line(callback: DueCallback, f: Formats, *, overdue: bool) -> Line:
    key = "digest.callback.overdue" if overdue else "digest.callback.line"
    return Line(
        t(
            f.locale,
            key,
            when=f.when(callback.due_at),
            name=f.name(callback.assignee),
            caller=callback.caller or "—",
        ),
        f.ctx.links.get(callback.card_id),
    )


def _lead_line(lead: Lead, f: Formats) -> Line:
    return Line(
        t(
            f.locale,
            "digest.lead.line",
            card=lead.card_id,
            caller=lead.caller or "—",
            owner=f.name(lead.owner),
        ),
        f.ctx.links.get(lead.card_id),
    )
