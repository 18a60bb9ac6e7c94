"""The daily digest's figures for one organisation and one local day, from plain rows.

Pure: the service (``bot.services.digest``) loads the day's cards, the events people made that day
and the callbacks due, and this module counts. The definitions the figures follow:

- *calls* are cards a phone call opened (``call``, ``voicemail``, ``missed``); *messages* the rest
  (``recado``, WhatsApp, SMS);
- a call was *answered live* when a live transfer of it was accepted, *missed* when the caller left
  nothing (a missed-call card), else *taken as a message*;
- the *outcome* of a card is its resolution outcome, or its state while it is not resolved;
- *time to claim* runs from the card's creation to the first time somebody took it (claimed it,
  scheduled a callback, was assigned it, resolved it or accepted its transfer), over the day's cards
  that were taken; median and p90 are nearest-rank percentiles;
- an *SLA breach* is a card of the day taken after its ``claim_deadline`` (``claim_within``), or
  still not taken while its deadline has passed;
- *per staff member*: the claims, resolutions and callbacks done (a card resolved as
  ``called_back``, or a callback marked done) each person made during the day;
- *new leads*: the day's cards of category ``lead`` or resolved as ``qualified_lead``, with the
  person who has them.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CALL_SOURCES = frozenset({"call", "voicemail", "missed"})
TAKING_KINDS = frozenset({"claimed", "callback_scheduled", "reassigned", "resolved", "transfer_accepted"})
"""Audit event kinds by which somebody takes a card; the first one ends its time to claim."""
LIVE_KINDS = frozenset({"transfer_accepted"})
"""Audit event kinds that mean the call was answered live (a live transfer was accepted)."""
CALLBACK_DONE_KINDS = frozenset({"callback_done"})
LEAD_CATEGORY = "lead"
LEAD_OUTCOME = "qualified_lead"
CALLED_BACK = "called_back"
LIVE, MESSAGE, MISSED = "live", "message", "missed"
ANSWERS = (LIVE, MESSAGE, MISSED)
CALLS, MESSAGES = "calls", "messages"


@dataclass(frozen=True)
class DayCard:
    """A card opened during the day, with what the service found out about it."""

    id: int
    source: str
    category: str
    status: str
    outcome: str | None
    created_at: datetime
    claim_deadline: datetime | None
    caller: str
    holder: str | None
    team: str | None
    first_taken_at: datetime | None = None
    live: bool = False


@dataclass(frozen=True)
class DayEvent:
    """Something a person did to a card during the day (an audit event)."""

    actor: str
    kind: str
    outcome: str | None = None


@dataclass(frozen=True)
class DueCallback:
    card_id: int
    due_at: datetime
    assignee: str
    caller: str


@dataclass(frozen=True)
class DigestInput:
    day: date
    zone: ZoneInfo
    now: datetime
    cards: list[DayCard]
    events: list[DayEvent]
    callbacks: list[DueCallback]
    open_now: int
    rejected_calls: int = 0


@dataclass(frozen=True)
class Breach:
    card_id: int
    category: str
    caller: str
    late_by: timedelta
    taken: bool


@dataclass(frozen=True)
class StaffLine:
    staff_id: str
    claimed: int = 0
    resolved: int = 0
    callbacks_done: int = 0


@dataclass(frozen=True)
class Lead:
    card_id: int
    caller: str
    owner: str | None
    team: str | None


@dataclass(frozen=True)
class DigestFigures:
    day: date
    totals: dict[str, int]
    """``calls`` and ``messages``."""
    by_category: dict[str, dict[str, int]]
    """``calls``/``messages`` → category → count."""
    by_outcome: dict[str, dict[str, int]]
    """``calls``/``messages`` → outcome (or state, while unresolved) → count."""
    answers: dict[str, int]
    """``live``, ``message``, ``missed``: how the day's calls were answered."""
    rejected_calls: int
    claim_median: timedelta | None
    claim_p90: timedelta | None
    breaches: list[Breach]
    staff: list[StaffLine]
    open_now: int
    callbacks_due: list[DueCallback]
    overdue: int
    leads: list[Lead]
    hourly: dict[int, dict[str, int]] = field(default_factory=dict)
    """Local hour (0-23) → answer (``live``, ``message``, ``missed``) → calls: the chart's bars."""


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as a UTC half-open interval (23 or 25 hours on the days clocks change)."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def medium(card: DayCard) -> str:
    return CALLS if card.source in CALL_SOURCES else MESSAGES


def answer(card: DayCard) -> str:
    if card.live:
        return LIVE
    return MISSED if card.source == "missed" else MESSAGE


def nearest_rank(values: list[timedelta], percent: int) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of the values at
    or below it (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def compute(data: DigestInput) -> DigestFigures:
    """Every figure of the digest of ``data.day``."""
    waits = [c.first_taken_at - c.created_at for c in data.cards if c.first_taken_at is not None]
    due = sorted(data.callbacks, key=lambda cb: (cb.due_at >= data.now, cb.due_at, cb.card_id))
    return DigestFigures(
        day=data.day,
        totals=dict(Counter(medium(c) for c in data.cards)),
        by_category=_split(data.cards, lambda c: c.category),
        by_outcome=_split(data.cards, lambda c: c.outcome or c.status),
        answers=_answers(data.cards),
        rejected_calls=data.rejected_calls,
        claim_median=nearest_rank(waits, 50),
        claim_p90=nearest_rank(waits, 90),
        breaches=_breaches(data.cards, data.now),
        staff=_staff(data.events),
        open_now=data.open_now,
        callbacks_due=due,
        overdue=sum(1 for cb in due if cb.due_at < data.now),
        leads=[
            Lead(c.id, c.caller, c.holder, c.team)
            for c in sorted(data.cards, key=lambda c: c.id)
            if c.category == LEAD_CATEGORY or c.outcome == LEAD_OUTCOME
        ],
        hourly=_hourly(data.cards, data.zone),
    )


def _split(cards: list[DayCard], key: Callable[[DayCard], str]) -> dict[str, dict[str, int]]:
    found: dict[str, Counter[str]] = defaultdict(Counter)
    for card in cards:
        found[medium(card)][key(card)] += 1
    return {m: dict(sorted(counts.items())) for m, counts in sorted(found.items())}


def _answers(cards: list[DayCard]) -> dict[str, int]:
    counts = Counter(answer(c) for c in cards if medium(c) == CALLS)
    return {kind: counts.get(kind, 0) for kind in ANSWERS}


def _breaches(cards: list[DayCard], now: datetime) -> list[Breach]:
    found = []
    for card in sorted(cards, key=lambda c: c.id):
        if card.claim_deadline is None:
            continue
        taken_at = card.first_taken_at or now
        if taken_at > card.claim_deadline:
            late = taken_at - card.claim_deadline
            found.append(Breach(card.id, card.category, card.caller, late, card.first_taken_at is not None))
    return found


def _staff(events: list[DayEvent]) -> list[StaffLine]:
    claimed: Counter[str] = Counter()
    resolved: Counter[str] = Counter()
    done: Counter[str] = Counter()
    for event in events:
        if event.kind == "claimed":
            claimed[event.actor] += 1
        elif event.kind == "resolved":
            resolved[event.actor] += 1
        if event.kind in CALLBACK_DONE_KINDS or (event.kind == "resolved" and event.outcome == CALLED_BACK):
            done[event.actor] += 1
    people = sorted(set(claimed) | set(resolved) | set(done))
    return [StaffLine(p, claimed[p], resolved[p], done[p]) for p in people]


def _hourly(cards: list[DayCard], zone: ZoneInfo) -> dict[int, dict[str, int]]:
    hours: dict[int, dict[str, int]] = {hour: dict.fromkeys(ANSWERS, 0) for hour in range(24)}
    for card in cards:
        if medium(card) == CALLS:
            hours[card.created_at.astimezone(zone).hour][answer(card)] += 1
    return hours
