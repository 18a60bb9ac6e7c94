"""The daily digest's data: the rows of one organisation's local day, read on the report engine.

Reads run on the read-only report engine (``bot.store.db.create_report_engine``), never on the
request path's connection; the counting is ``bot.domain.digest.compute``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.digest import (
    CALLBACK_DONE_KINDS,
    LIVE_KINDS,
    TAKING_KINDS,
    DayCard,
    DayEvent,
    DigestFigures,
    DigestInput,
    DueCallback,
    compute,
    day_bounds,
)
from bot.ports import Clock
from bot.services.directory import Directory
from bot.store.db import SessionFactory, execute
from bot.store.models import AuditEvent, Call, Callback, Card

# Core tables (not the ORM classes): plain rows, typed columns.
_CARD_TABLE = Card.__table__  # type: ignore[attr-defined]
_CARD = _CARD_TABLE.c
_AUDIT = AuditEvent.__table__.c  # type: ignore[attr-defined]
_CALLBACK = Callback.__table__.c  # type: ignore[attr-defined]
_CALL = Call.__table__.c  # type: ignore[attr-defined]
OPEN_STATES = ("open", "claimed", "callback")
PENDING_CALLBACKS = ("scheduled", "reminded")
_PEOPLE_KINDS = ("claimed", "resolved", *sorted(CALLBACK_DONE_KINDS))


class DigestReader:
    """Loads what the digest counts. ``sessions`` are the report engine's."""

    def __init__(self, sessions: SessionFactory, directory: Directory, clock: Clock) -> None:
        self.sessions = sessions
        self.directory = directory
        self.clock = clock

    async def figures(self, org_id: str, day: date) -> DigestFigures:
        """The figures of ``day`` (local to the organisation), as of now."""
        org = self.directory.get(org_id)
        zone = org.calendar.zone
        start, end = day_bounds(day, zone)
        today_end = day_bounds(day + timedelta(days=1), zone)[1]
        now = self.clock.now()
        async with self.sessions() as session:
            data = DigestInput(
                day=day,
                zone=zone,
                now=now,
                cards=await cards_between(session, org_id, start, end),
                events=await _day_events(session, org_id, start, end),
                callbacks=await _callbacks_due(session, org_id, today_end),
                open_now=await _open_now(session, org_id),
                rejected_calls=await _rejected_calls(session, org_id, start, end),
            )
        return compute(data)


async def fetch_rows(session: AsyncSession, query: Any) -> list[Any]:
    return list((await execute(session, query)).all())


def _in_day(column: Any, start: datetime, end: datetime) -> Any:
    return (column >= start) & (column < end)


async def cards_between(session: AsyncSession, org_id: str, start: datetime, end: datetime) -> list[DayCard]:
    of_day = (_CARD.org_id == org_id) & _in_day(_CARD.created_at, start, end)
    taken = await _taken(session, of_day)
    query = select(
        _CARD.id,
        _CARD.source,
        _CARD.category,
        _CARD.status,
        _CARD.outcome,
        _CARD.created_at,
        _CARD.claim_deadline,
        _CARD.caller_name,
        _CARD.caller_number,
        _CARD.claimed_by,
        _CARD.team_id,
    ).where(of_day)
    cards = []
    for row in await fetch_rows(session, query):
        first, live = taken.get(row.id or 0, (None, False))
        cards.append(
            DayCard(
                id=row.id or 0,
                source=row.source,
                category=row.category,
                status=row.status,
                outcome=row.outcome,
                created_at=row.created_at,
                claim_deadline=row.claim_deadline,
                caller=row.caller_name or row.caller_number or "",
                holder=row.claimed_by,
                team=row.team_id,
                first_taken_at=first,
                live=live,
            )
        )
    return cards


async def _taken(session: AsyncSession, of_day: Any) -> dict[int, tuple[datetime | None, bool]]:
    """Per card of the day: when it was first taken, and whether its call was answered live."""
    first = func.min(case((_AUDIT.kind.in_(TAKING_KINDS), _AUDIT.at)))
    live = func.max(case((_AUDIT.kind.in_(LIVE_KINDS), 1), else_=0))
    query = (
        select(_AUDIT.card_id, first, live)
        .join(_CARD_TABLE, _CARD.id == _AUDIT.card_id)
        .where(of_day, _AUDIT.kind.in_(TAKING_KINDS | LIVE_KINDS))
        .group_by(_AUDIT.card_id)
    )
    return {card_id: (at, bool(is_live)) for card_id, at, is_live in await fetch_rows(session, query)}


async def _day_events(session: AsyncSession, org_id: str, start: datetime, end: datetime) -> list[DayEvent]:
    query = select(_AUDIT.actor, _AUDIT.kind, _AUDIT.data).where(
        _AUDIT.org_id == org_id,
        _in_day(_AUDIT.at, start, end),
        _AUDIT.kind.in_(_PEOPLE_KINDS),
    )
    return [
        DayEvent(actor, kind, (data or {}).get("outcome"))
        for actor, kind, data in await fetch_rows(session, query)
    ]


async def _callbacks_due(session: AsyncSession, org_id: str, until: datetime) -> list[DueCallback]:
    query = (
        select(
            _CALLBACK.card_id, _CALLBACK.due_at, _CALLBACK.assignee_id, _CARD.caller_name, _CARD.caller_number
        )
        .join(_CARD_TABLE, _CARD.id == _CALLBACK.card_id)
        .where(
            _CALLBACK.org_id == org_id,
            _CALLBACK.status.in_(PENDING_CALLBACKS),
            _CALLBACK.due_at < until,
        )
    )
    return [
        DueCallback(card_id, due_at, assignee, name or number or "")
        for card_id, due_at, assignee, name, number in await fetch_rows(session, query)
    ]


async def _open_now(session: AsyncSession, org_id: str) -> int:
    query = select(func.count()).where(_CARD.org_id == org_id, _CARD.status.in_(OPEN_STATES))
    return int((await execute(session, query)).scalar_one())


async def _rejected_calls(session: AsyncSession, org_id: str, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(
        _CALL.org_id == org_id, _in_day(_CALL.started_at, start, end), _CALL.status == "rejected"
    )
    return int((await execute(session, query)).scalar_one())
