"""What the database says about reception, for ``GET /metrics``: read at each scrape on the report
engine, for the organisations this deployment serves. Every replica reports the same figures (they
are the database's), so a dashboard takes one replica's, or ``max`` over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select

from bot.ports import Clock
from bot.store.db import SessionFactory, execute
from bot.store.models import AuditEvent, Callback, Card, OutboxMessage

CLAIM_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 28800.0)
"""Seconds: time-to-claim histogram bounds (the +Inf bucket is added)."""
_CARD = Card.__table__.c  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__.c  # type: ignore[attr-defined]
_CALLBACK = Callback.__table__.c  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClaimHistogram:
    org_id: str
    buckets: list[tuple[float, int]]
    """(upper bound, cumulative count); the last bound is +Inf."""
    total: float


@dataclass
class MetricsSnapshot:
    cards: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    """(org, category, priority, outcome or state, count)."""
    claims: list[ClaimHistogram] = field(default_factory=list)
    escalations: list[tuple[str, str, int]] = field(default_factory=list)
    """(org, step's notify, count)."""
    callbacks: list[tuple[str, str, int]] = field(default_factory=list)
    """(org, ``scheduled`` or ``overdue``, count)."""
    backlog: list[tuple[str, int, float]] = field(default_factory=list)
    """(channel, pending deliveries, seconds the oldest has waited)."""


class MetricsReader:
    def __init__(self, sessions: SessionFactory, org_ids: list[str], clock: Clock) -> None:
        self.sessions = sessions
        self.org_ids = org_ids
        self.clock = clock

    async def snapshot(self) -> MetricsSnapshot:
        now = self.clock.now()
        async with self.sessions() as session:
            self._dialect = session.bind.dialect.name if session.bind else "sqlite"
            return MetricsSnapshot(
                cards=[tuple(r) for r in await self._rows(session, self._cards())],
                claims=await self._claims(session),
                escalations=[tuple(r) for r in await self._rows(session, self._escalations())],
                callbacks=await self._callbacks(session, now),
                backlog=await self._backlog(session),
            )

    @staticmethod
    async def _rows(session: Any, query: Any) -> list[Any]:
        return list((await execute(session, query)).all())

    def _cards(self) -> Any:
        outcome = func.coalesce(_CARD.outcome, _CARD.status)
        return (
            select(_CARD.org_id, _CARD.category, _CARD.priority, outcome, func.count())
            .where(_CARD.org_id.in_(self.org_ids))
            .group_by(_CARD.org_id, _CARD.category, _CARD.priority, outcome)
        )

    def _seconds(self, start: Any, end: Any) -> Any:
        if self._dialect == "sqlite":
            return (func.julianday(end) - func.julianday(start)) * 86400.0
        return func.extract("epoch", end - start)

    async def _claims(self, session: Any) -> list[ClaimHistogram]:
        wait = self._seconds(_CARD.created_at, _CARD.claimed_at)
        counts = [func.sum(case((wait <= bound, 1), else_=0)) for bound in CLAIM_BUCKETS]
        query = (
            select(_CARD.org_id, func.count(), func.coalesce(func.sum(wait), 0.0), *counts)
            .where(_CARD.org_id.in_(self.org_ids), _CARD.claimed_at.is_not(None))
            .group_by(_CARD.org_id)
        )
        found = []
        for org_id, total, seconds, *cumulative in await self._rows(session, query):
            buckets = [(bound, int(n or 0)) for bound, n in zip(CLAIM_BUCKETS, cumulative, strict=True)]
            found.append(ClaimHistogram(org_id, [*buckets, (float("inf"), int(total))], float(seconds)))
        return found

    def _escalations(self) -> Any:
        notify = _AUDIT.data["notify"].as_string()
        return (
            select(_AUDIT.org_id, notify, func.count())
            .where(_AUDIT.org_id.in_(self.org_ids), _AUDIT.kind == "escalated")
            .group_by(_AUDIT.org_id, notify)
        )

    async def _callbacks(self, session: Any, now: datetime) -> list[tuple[str, str, int]]:
        state = case((_CALLBACK.due_at < now, "overdue"), else_="scheduled")
        query = (
            select(_CALLBACK.org_id, state, func.count())
            .where(_CALLBACK.org_id.in_(self.org_ids), _CALLBACK.status.in_(("scheduled", "reminded")))
            .group_by(_CALLBACK.org_id, state)
        )
        return [(org, str(kind), int(n)) for org, kind, n in await self._rows(session, query)]

    async def _backlog(self, session: Any) -> list[tuple[str, int, float]]:
        query = (
            select(_OUTBOX.channel, func.count(), func.min(_OUTBOX.next_attempt_at))
            .where(_OUTBOX.status == "pending")
            .group_by(_OUTBOX.channel)
        )
        wall = datetime.now(UTC)  # the outbox runs on the wall clock (see outbox.wall_now)
        found = []
        for channel, count, oldest in await self._rows(session, query):
            age = 0.0 if oldest is None else max(0.0, (wall - _aware(oldest)).total_seconds())
            found.append((channel, int(count), age))
        return found


def _aware(value: Any) -> datetime:
    """``min()`` of a UTC column, as aware UTC whatever form the driver gives it in."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
