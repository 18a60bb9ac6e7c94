"""The weekly review: the week of 2026-11-23 (Monday) to 29th against the week before, on the seeded
month of ``test_digest_figures`` plus the rows below, every figure counted by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import load_config
from bot.domain.weekly import Escalated, WeekFigures
from bot.services.digest_message import weekly_message
from bot.services.digest_sending import due_week
from bot.services.directory import Directory
from bot.services.weekly import WeeklyReader
from bot.store.db import create_report_engine, session_factory
from bot.store.migrate import upgrade_async
from bot.store.models import Callback
from tests.support import FIXTURES, Database
from tests.test_digest_figures import background_month, card, event, local

MADRID = ZoneInfo("Europe/Madrid")
WEEK = date(2026, 11, 23)
M = timedelta(minutes=1)
ORG = Directory([load_config(FIXTURES / "clinic_digest.yaml")]).default


def the_weeks() -> list[Any]:
    """This week: three leads rule 3 opened, claimed after 20 min (5001 escalated to managers after 30
    min, and to the team before that); a receptionist's message nobody claimed; two callbacks promised
    on the 25th, 5002's done on the 26th. The week before: an urgent call claimed after 1 min, and a
    callback promised (not this week's)."""
    rows: list[Any] = []
    for card_id, day in ((5001, 24), (5002, 25), (5003, 26)):
        at = local(day, 10)
        rows += [
            card(
                card_id,
                at,
                category="lead",
                priority="high",
                matched_rule=2,
                status="claimed",
                claimed_by="marta",
            ),
            event(card_id, at + 20 * M, "marta", "claimed"),
        ]
    rows += [
        event(5001, local(24, 10, 10), "system", "escalated", level=1, notify="team"),
        event(5001, local(24, 10, 30), "system", "escalated", level=2, notify="managers"),
        card(5004, local(27, 12), source="recado", status="open"),
        card(5005, local(18, 9), category="urgent", priority="urgent", matched_rule=1, claimed_by="luis"),
        event(5005, local(18, 9, 1), "luis", "claimed"),
        event(5005, local(18, 9, 30), "system", "escalated", level=2, notify="managers"),  # last week
        Callback(
            org_id="default",
            card_id=5002,
            due_at=local(26, 9),
            assignee_id="marta",
            created_by="marta",
            created_at=local(25, 10, 30),
        ),
        Callback(
            org_id="default",
            card_id=5003,
            due_at=local(27, 9),
            assignee_id="marta",
            created_by="marta",
            created_at=local(25, 11),
        ),
        Callback(
            org_id="default",
            card_id=5005,
            due_at=local(21, 9),
            assignee_id="luis",
            created_by="luis",
            created_at=local(20, 11),
        ),
        event(5002, local(26, 9, 15), "marta", "resolved", outcome="called_back"),
    ]
    return rows


async def review_of(db: Database) -> WeekFigures:
    await upgrade_async(db.url, connect_args=db.connect_args)
    await db.add(*background_month(), *the_weeks())
    engine = create_report_engine(db.url, connect_args=db.connect_args)
    try:
        return await WeeklyReader(session_factory(engine), Directory([ORG.config])).figures("default", WEEK)
    finally:
        await engine.dispose()


async def test_the_weekly_review_compares_the_week_with_the_one_before(db: Database) -> None:
    figures = await review_of(db)
    cards = await db.query_text("SELECT id, created_at, source FROM card WHERE id < 10 OR id > 291")
    assert await db.count("card") == 29 * 2 + 5, cards  # the background month and this test's five

    # Background: two general calls a day claimed after 5 minutes, 14 a week.
    assert figures.totals == {"calls": (17, 15), "messages": (1, 0)}
    assert figures.categories == {"general": (15, 14), "lead": (3, 0), "urgent": (0, 1)}
    # This week 14 × 5 min and 3 × 20 min: median the 9th (5), p90 the 16th (20). Before: 1, 14 × 5.
    assert figures.claim_median == (5 * M, 5 * M)
    assert figures.claim_p90 == (20 * M, 5 * M)
    assert figures.rules_most == [(3, "lead", 3), (1, "blocked", 0), (2, "urgent", 0)]
    assert figures.rules_least == [(1, "blocked", 0), (2, "urgent", 0), (4, "client", 0)]
    assert figures.escalated == [Escalated(5001, "lead", "Caller 5001", 30 * M)]
    assert (figures.callbacks_promised, figures.callbacks_done) == (2, 1)


async def test_the_weekly_review_reads_in_spanish(db: Database) -> None:
    marta = ORG.config.staff_member("marta")
    assert marta is not None
    message = weekly_message(ORG, marta, await review_of(db))
    lines = message.plain.splitlines()

    assert (
        message.subject
        == "Clínica Dental Sonrisa · revisión semanal de recepción, 23 nov 2026 al 29 nov 2026"
    )
    for expected in (
        "• Llamadas: 17 (semana anterior 15, +13 %)",
        "• Mensajes: 1 (semana anterior 0, —)",
        "• p90: 20 minutos (semana anterior 5 minutos)",
        "• Regla 3 (Cliente potencial): 3 tarjetas",
        "• #5001 Cliente potencial · Caller 5001: nadie la reclamó en 30 minutos",
        "• Prometidas: 2 · Hechas: 1",
    ):
        assert expected in lines, (expected, lines)
    assert message.hourly == {}, "no chart: none is rendered, uploaded or inlined"


def test_the_review_is_due_on_its_weekday_at_the_digest_time() -> None:
    assert due_week(ORG, datetime(2026, 11, 30, 8, 29, tzinfo=MADRID)) is None
    assert due_week(ORG, datetime(2026, 11, 30, 8, 31, tzinfo=MADRID)) == WEEK
    assert due_week(ORG, datetime(2026, 12, 1, 9, 0, tzinfo=MADRID)) is None  # a Tuesday
