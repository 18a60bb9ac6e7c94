"""The weekly review's data: two weeks of one organisation's rows, read on the report engine."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.domain.digest import CALLBACK_DONE_KINDS, day_bounds
from bot.domain.weekly import Promise, WeekFigures, WeekInput, compute_week
from bot.services.digest import cards_between, fetch_rows
from bot.services.directory import Directory
from bot.store.db import SessionFactory
from bot.store.models import AuditEvent, Callback, Card

_CARD = Card.__table__.c  # type: ignore[attr-defined]
_AUDIT = AuditEvent.__table__.c  # type: ignore[attr-defined]
_CALLBACK = Callback.__table__.c  # type: ignore[attr-defined]
_CLOSING = ("resolved", *sorted(CALLBACK_DONE_KINDS))


class WeeklyReader:
    def __init__(self, sessions: SessionFactory, directory: Directory) -> None:
        self.sessions = sessions
        self.directory = directory

    async def figures(self, org_id: str, first_day: date) -> WeekFigures:
        """The seven local days from ``first_day``, against the seven before."""
        org = self.directory.get(org_id)
        zone = org.calendar.zone
        start, end = day_bounds(first_day, zone)[0], day_bounds(first_day + timedelta(days=6), zone)[1]
        before = day_bounds(first_day - timedelta(days=7), zone)[0]
        async with self.sessions() as session:
            cards = await cards_between(session, org_id, start, end)
            data = WeekInput(
                first_day=first_day,
                cards=cards,
                previous=await cards_between(session, org_id, before, start),
                rules=[rule.category for rule in org.config.triage],
                matched=await _matched(session, org_id, start, end),
                escalations=await _to_managers(session, org_id, start, end),
                promises=await _promises(session, org_id, start, end),
                closed=await _closed(session, org_id, start),
            )
        return compute_week(data)


async def _matched(session: Any, org_id: str, start: datetime, end: datetime) -> dict[int, int | None]:
    query = select(_CARD.id, _CARD.matched_rule).where(
        _CARD.org_id == org_id, _CARD.created_at >= start, _CARD.created_at < end
    )
    return {card_id: rule for card_id, rule in await fetch_rows(session, query)}


async def _to_managers(
    session: Any, org_id: str, start: datetime, end: datetime
) -> list[tuple[int, datetime]]:
    query = select(_AUDIT.card_id, _AUDIT.at).where(
        _AUDIT.org_id == org_id,
        _AUDIT.kind == "escalated",
        _AUDIT.at >= start,
        _AUDIT.at < end,
        _AUDIT.data["notify"].as_string() == "managers",
    )
    return [(card_id, at) for card_id, at in await fetch_rows(session, query)]


async def _promises(session: Any, org_id: str, start: datetime, end: datetime) -> list[Promise]:
    query = select(_CALLBACK.card_id, _CALLBACK.created_at).where(
        _CALLBACK.org_id == org_id, _CALLBACK.created_at >= start, _CALLBACK.created_at < end
    )
    return [Promise(card_id, at) for card_id, at in await fetch_rows(session, query)]


async def _closed(session: Any, org_id: str, since: datetime) -> dict[int, list[datetime]]:
    query = select(_AUDIT.card_id, _AUDIT.at).where(
        _AUDIT.org_id == org_id, _AUDIT.kind.in_(_CLOSING), _AUDIT.at >= since
    )
    found: dict[int, list[datetime]] = defaultdict(list)
    for card_id, at in await fetch_rows(session, query):
        found[card_id].append(at)
    return dict(found)
