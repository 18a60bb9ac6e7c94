"""The daily digest as a person reads it: a neutral view of sections of lines (a line may name the
card it is about), which each channel renders its own way (``cards.digest_render``). Dates, times,
numbers and durations are formatted for the reader's locale with Babel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
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


@dataclass(frozen=True)
class Line:
    text: str
    card_id: int | None = None
    """The card the line is about: each channel links it to where the reader finds that card."""


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

    def card_ids(self) -> list[int]:
        """The cards the lines name, in order, once each."""
        ids = (line.card_id for s in self.sections for line in s.lines if line.card_id is not None)
        return list(dict.fromkeys(ids))

    def payload(self) -> dict[str, Any]:
        """Plain JSON (an outbox row's payload)."""
        values = dict(self.__dict__)
        values["sections"] = [
            {"heading": s.heading, "lines": [[line.text, line.card_id] for line in s.lines]}
            for s in self.sections
        ]
        return values

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> DigestView:
        sections = tuple(
            Section(s["heading"], tuple(Line(text, card_id) for text, card_id in s["lines"]))
            for s in payload["sections"]
        )
        return cls(**{**payload, "sections": sections})


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
            b.card_id,
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
        callback.card_id,
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
        lead.card_id,
    )
