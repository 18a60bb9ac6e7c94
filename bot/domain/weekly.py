"""The weekly review: a week of one organisation against the week before, from plain rows.

Pure, like ``bot.domain.digest`` (whose definitions of calls, messages and time to claim it
shares). A week is seven local days; the review sent on a Monday covers Monday to Sunday before it.

- *volumes*: calls and messages, and cards per category, both weeks;
- *time to claim*: median and p90 (nearest rank), both weeks;
- *rules*: how many of the week's cards each triage rule opened, the most and the least used (rules
  that opened none included);
- *escalated to managers*: the week's escalation steps that notified ``managers``, with the card and
  how long after its creation the step fired (nobody had claimed it by then);
- *callbacks*: promised (scheduled during the week) and done (their card was resolved, or the
  callback marked done, after it was promised).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.digest import DayCard, medium, nearest_rank


@dataclass(frozen=True)
class Escalated:
    card_id: int
    category: str
    caller: str
    after: timedelta


@dataclass(frozen=True)
class Promise:
    card_id: int
    promised_at: datetime


@dataclass(frozen=True)
class WeekInput:
    first_day: date
    cards: list[DayCard]
    previous: list[DayCard]
    rules: list[str]
    """The categories of the triage rules, in order (rule 1 first)."""
    matched: dict[int, int | None]
    """Card id → the index (0-based) of the rule that opened it, None when no rule matched."""
    escalations: list[tuple[int, datetime]]
    """(card id, when a step notifying managers fired) during the week."""
    promises: list[Promise]
    closed: dict[int, list[datetime]]
    """Card id → when it was resolved or its callback marked done."""


@dataclass(frozen=True)
class WeekFigures:
    first_day: date
    totals: dict[str, tuple[int, int]]
    """``calls``/``messages`` → (this week, the week before)."""
    categories: dict[str, tuple[int, int]]
    claim_median: tuple[timedelta | None, timedelta | None]
    claim_p90: tuple[timedelta | None, timedelta | None]
    rules_most: list[tuple[int, str, int]]
    """(rule number, 1-based; its category; cards), most used first."""
    rules_least: list[tuple[int, str, int]]
    escalated: list[Escalated]
    callbacks_promised: int
    callbacks_done: int


def week_of(sent_on: date) -> date:
    """The first day of the week a review sent on ``sent_on`` covers (the seven days before it)."""
    return sent_on - timedelta(days=7)


def compute_week(data: WeekInput, shown: int = 3) -> WeekFigures:
    waits = (_waits(data.cards), _waits(data.previous))
    uses = _rule_uses(data)
    by_card = {c.id: c for c in data.cards}
    return WeekFigures(
        first_day=data.first_day,
        totals=_pairs(Counter(medium(c) for c in data.cards), Counter(medium(c) for c in data.previous)),
        categories=_pairs(
            Counter(c.category for c in data.cards), Counter(c.category for c in data.previous)
        ),
        claim_median=(nearest_rank(waits[0], 50), nearest_rank(waits[1], 50)),
        claim_p90=(nearest_rank(waits[0], 90), nearest_rank(waits[1], 90)),
        rules_most=sorted(uses, key=lambda u: (-u[2], u[0]))[:shown],
        rules_least=sorted(uses, key=lambda u: (u[2], u[0]))[:shown],
        escalated=_escalated(data.escalations, by_card),
        callbacks_promised=len(data.promises),
        callbacks_done=sum(
            1 for p in data.promises if any(at >= p.promised_at for at in data.closed.get(p.card_id, []))
        ),
    )


def _waits(cards: list[DayCard]) -> list[timedelta]:
    return [c.first_taken_at - c.created_at for c in cards if c.first_taken_at is not None]


def _pairs(now: Counter[str], before: Counter[str]) -> dict[str, tuple[int, int]]:
    return {key: (now.get(key, 0), before.get(key, 0)) for key in sorted(set(now) | set(before))}


def _rule_uses(data: WeekInput) -> list[tuple[int, str, int]]:
    counts = Counter(index for card_id, index in data.matched.items() if index is not None)
    return [(index + 1, category, counts.get(index, 0)) for index, category in enumerate(data.rules)]


def _escalated(escalations: list[tuple[int, datetime]], cards: dict[int, DayCard]) -> list[Escalated]:
    found: dict[int, Escalated] = {}
    for card_id, fired_at in sorted(escalations, key=lambda e: (e[0], e[1])):
        card = cards.get(card_id)
        if card is not None and card_id not in found:
            found[card_id] = Escalated(card_id, card.category, card.caller, fired_at - card.created_at)
    return list(found.values())
