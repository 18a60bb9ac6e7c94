"""The organisation's recorded calls, as calibration rows: what callers said, replayed through the
rules. Read on the report engine; ``expected`` is the category the card was given at the time, so
the confusion matrix compares the rules then with the rules now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain.calibration import CalibrationRow
from bot.domain.digest import CALL_SOURCES
from bot.domain.org import OrgConfig
from bot.store.db import SessionFactory, execute
from bot.store.models import Card

_CARD = Card.__table__.c  # type: ignore[attr-defined]


async def recorded_calls(
    sessions: SessionFactory, config: OrgConfig, since: datetime
) -> list[CalibrationRow]:
    """The calls since ``since`` (their cards), oldest first; ``line`` is the card's id."""
    zone = ZoneInfo(config.organization.timezone)
    query = (
        select(_CARD.id, _CARD.caller_number, _CARD.summary, _CARD.created_at, _CARD.category)
        .where(
            _CARD.org_id == config.org_id, _CARD.created_at >= since, _CARD.source.in_(sorted(CALL_SOURCES))
        )
        .order_by(_CARD.created_at, _CARD.id)
    )
    async with sessions() as session:
        rows = list((await execute(session, query)).all())
    return [
        CalibrationRow(
            row.id, row.caller_number, row.summary or "", row.created_at.astimezone(zone), row.category
        )
        for row in rows
    ]
