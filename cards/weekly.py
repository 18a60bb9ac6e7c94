"""The weekly review as a person reads it: the same view, text and HTML as the daily digest."""

from __future__ import annotations

from datetime import timedelta

from babel.numbers import format_percent

from bot.domain.weekly import WeekFigures
from bot.i18n import t
from cards.digest import DigestContext, DigestView, Formats, Line, Section


def build_weekly_view(figures: WeekFigures, ctx: DigestContext) -> DigestView:
    f, loc = Formats(ctx), ctx.locale
    last_day = figures.first_day + timedelta(days=6)
    span = t(loc, "weekly.span", first=f.day(figures.first_day, "medium"), last=f.day(last_day, "medium"))
    sections = (
        Section(t(loc, "weekly.volumes"), _volumes(figures, f)),
        Section(
            t(loc, "digest.by_category"),
            tuple(_trend(f, f.category(k), v) for k, v in figures.categories.items()),
        ),
        Section(t(loc, "weekly.claim"), _claims(figures, f)),
        Section(t(loc, "weekly.rules_most"), tuple(_rule(f, r) for r in figures.rules_most)),
        Section(t(loc, "weekly.rules_least"), tuple(_rule(f, r) for r in figures.rules_least)),
        Section(t(loc, "weekly.escalated", count=f.n(len(figures.escalated))), _escalated(figures, f)),
        Section(
            t(loc, "weekly.callbacks"),
            (
                Line(
                    t(
                        loc,
                        "weekly.callbacks.line",
                        promised=f.n(figures.callbacks_promised),
                        done=f.n(figures.callbacks_done),
                    )
                ),
            ),
        ),
    )
    return DigestView(
        subject=t(loc, "weekly.subject", org=ctx.org_name, span=span),
        title=t(loc, "weekly.title", org=ctx.org_name, span=span),
        sections=sections,
        chart_title="",
        chart_labels={},
        empty=t(loc, "digest.none"),
    )


def _trend(f: Formats, label: str, counts: tuple[int, int]) -> Line:
    now, before = counts
    change = (
        "—" if before == 0 else format_percent((now - before) / before, "+#,##0 %;-#,##0 %", locale=f.locale)
    )
    return Line(t(f.locale, "weekly.trend", label=label, now=f.n(now), before=f.n(before), change=change))


def _volumes(figures: WeekFigures, f: Formats) -> tuple[Line, ...]:
    return tuple(
        _trend(f, t(f.locale, f"digest.medium.{medium}"), figures.totals.get(medium, (0, 0)))
        for medium in ("calls", "messages")
    )


def _claims(figures: WeekFigures, f: Formats) -> tuple[Line, ...]:
    return (
        Line(
            t(
                f.locale,
                "weekly.claim.median",
                now=f.span(figures.claim_median[0]),
                before=f.span(figures.claim_median[1]),
            )
        ),
        Line(
            t(
                f.locale,
                "weekly.claim.p90",
                now=f.span(figures.claim_p90[0]),
                before=f.span(figures.claim_p90[1]),
            )
        ),
    )


def _rule(f: Formats, use: tuple[int, str, int]) -> Line:
    number, category, count = use
    return Line(t(f.locale, "weekly.rule", number=number, category=f.category(category), count=f.n(count)))


def _escalated(figures: WeekFigures, f: Formats) -> tuple[Line, ...]:
    return tuple(
        Line(
            t(
                f.locale,
                "weekly.escalated.line",
                card=e.card_id,
                category=f.category(e.category),
                caller=e.caller or "—",
                after=f.span(e.after),
            ),
            e.card_id,
        )
        for e in figures.escalated
    )
