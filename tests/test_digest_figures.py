"""The daily digest's numbers, on a seeded month of cards, calls, audit events and callbacks.

Every expected figure below is counted by hand from the rows seeded here (see the comments), not by
the code under test. The day is Monday 2026-11-30 in Madrid (UTC+1): it runs from 2026-11-29 23:00
to 2026-11-30 23:00 UTC, so rows just either side of local midnight test the day's edges.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.config import load_config
from bot.domain.digest import Breach, DigestFigures, DueCallback, Lead, StaffLine
from bot.services.digest import DigestReader
from bot.services.directory import Directory
from bot.store.db import create_report_engine, session_factory
from bot.store.migrate import upgrade_async
from bot.store.models import AuditEvent, Call, Callback, Card
from tests.support import FIXTURES, Database, FakeClock

MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2026, 11, 30)
SENT_AT = datetime(2026, 12, 1, 8, 30, tzinfo=MADRID)  # the digest goes out the next morning
M = timedelta(minutes=1)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MADRID)


def card(card_id: int, at: datetime, **values: Any) -> Card:
    fields: dict[str, Any] = {
        "org_id": "default",
        "source": "call",
        "category": "general",
        "priority": "normal",
        "status": "resolved",
        "claim_deadline": at + 30 * M,
        "caller_name": f"Caller {card_id}",
        "team_id": "recepcion",
    }
    fields |= values
    return Card(id=card_id, created_at=at, **fields)


def event(card_id: int, at: datetime, actor: str, kind: str, org: str = "default", **data: Any) -> AuditEvent:
    return AuditEvent(org_id=org, card_id=card_id, at=at, actor=actor, kind=kind, data=data)


def background_month() -> list[Any]:
    """November 1-29: two calls a day at 10:00 and 15:00, claimed by Ana five minutes later and
    resolved by Luis, all on their own day: none of it is in the 30th's figures."""
    rows: list[Any] = []
    for day in range(1, 30):
        for k, hour in enumerate((10, 15)):
            card_id = day * 10 + k
            at = local(day, hour)
            rows.append(card(card_id, at, outcome="resolved", claimed_by="ana"))
            rows.append(event(card_id, at + 5 * M, "ana", "claimed"))
            rows.append(event(card_id, at + 9 * M, "luis", "resolved", outcome="resolved"))
    return rows


def the_day() -> list[Any]:
    """The 30th, and what surrounds it."""
    return [
        # 1001, 00:15 local (23:15 UTC the day before): in the day. Taken after 10 min; resolved.
        card(1001, local(30, 0, 15), outcome="resolved", claimed_by="ana"),
        event(1001, local(30, 0, 25), "ana", "claimed"),
        event(1001, local(30, 1, 0), "ana", "resolved", outcome="resolved"),
        # 1002, urgent: deadline 09:02, claimed 09:05 (5 min; a breach, 3 min late); called back.
        card(
            1002,
            local(30, 9),
            category="urgent",
            priority="urgent",
            claim_deadline=local(30, 9, 2),
            outcome="called_back",
            claimed_by="luis",
        ),
        event(1002, local(30, 9, 5), "luis", "claimed"),
        event(1002, local(30, 9, 30), "luis", "resolved", outcome="called_back"),
        # 1003, missed call, never taken: a breach (deadline 10:10).
        card(1003, local(30, 9, 40), source="missed", status="open"),
        # 1004, a lead Marta claimed after 4 min; still hers.
        card(
            1004,
            local(30, 10),
            category="lead",
            priority="high",
            claim_deadline=local(30, 10, 10),
            status="claimed",
            claimed_by="marta",
        ),
        event(1004, local(30, 10, 4), "marta", "claimed"),
        event(1004, local(30, 10, 6), "ana", "note", note="llamó otra vez"),
        # 1005, voicemail of a client: Ana schedules a callback after 20 min, due tomorrow 12:00.
        card(1005, local(30, 11), source="voicemail", category="client", status="callback", claimed_by="ana"),
        event(1005, local(30, 11, 20), "ana", "callback_scheduled"),
        # 1006, urgent, answered live: Luis accepted the transfer after 1 min, then resolved it.
        card(
            1006,
            local(30, 12),
            category="urgent",
            priority="urgent",
            claim_deadline=local(30, 12, 2),
            outcome="resolved",
            claimed_by="luis",
        ),
        event(1006, local(30, 12, 1), "luis", "transfer_accepted"),
        event(1006, local(30, 12, 10), "luis", "resolved", outcome="resolved"),
        # 1007, a receptionist's message Ana claimed after 45 min (15 min late), a qualified lead.
        card(1007, local(30, 16), source="recado", outcome="qualified_lead", claimed_by="ana"),
        event(1007, local(30, 16, 45), "ana", "claimed"),
        event(1007, local(30, 17), "ana", "resolved", outcome="qualified_lead"),
        # 1008, a WhatsApp message nobody took: a breach (deadline 18:30).
        card(1008, local(30, 18), source="whatsapp", status="open"),
        # 1009, missed at 23:50, its deadline tomorrow 08:40 (after the digest): no breach yet.
        card(1009, local(30, 23, 50), source="missed", status="open", claim_deadline=local(1, 8, 40, 12)),
        # Outside the day: 999 at 23:50 the day before (Luis claims and resolves it on the 30th: his
        # activity counts, the card does not); 1010 at 00:10 on the 1st (open); 900 open since the 10th.
        card(999, local(29, 23, 50), outcome="no_answer", claimed_by="luis"),
        event(999, local(30, 0, 5), "luis", "claimed"),
        event(999, local(30, 0, 20), "luis", "resolved", outcome="no_answer"),
        card(1010, local(1, 0, 10, 12), status="open"),
        event(1010, local(1, 0, 30, 12), "ana", "claimed"),  # the 1st: not the 30th's activity
        card(900, local(10, 12), status="open"),
        # 998, called back earlier; Ana marks the callback done on the 30th.
        card(998, local(28, 9), outcome="called_back", claimed_by="ana"),
        event(998, local(30, 15), "ana", "callback_done"),
        # Callbacks: 900's reminded one (overdue), 1005's (today), a cancelled one, one for the 2nd.
        Callback(
            org_id="default",
            card_id=900,
            due_at=local(28, 10),
            assignee_id="luis",
            created_by="luis",
            created_at=local(27, 10),
            status="reminded",
        ),
        Callback(
            org_id="default",
            card_id=1005,
            due_at=local(1, 12, month=12),
            assignee_id="ana",
            created_by="ana",
            created_at=local(30, 11, 20),
        ),
        Callback(
            org_id="default",
            card_id=900,
            due_at=local(29, 10),
            assignee_id="luis",
            created_by="luis",
            created_at=local(27, 10),
            status="cancelled",
        ),
        Callback(
            org_id="default",
            card_id=1005,
            due_at=local(2, 10, month=12),
            assignee_id="ana",
            created_by="ana",
            created_at=local(30, 11, 20),
        ),
        # Calls the blocked-list rejected: one on the 30th, one on the 29th.
        Call(org_id="default", call_sid="CA-rejected-30", status="rejected", started_at=local(30, 10, 30)),
        Call(org_id="default", call_sid="CA-rejected-29", status="rejected", started_at=local(29, 10, 30)),
    ]


def another_org() -> list[Any]:
    """Another organisation's rows on the same day, with a staff id that also exists here."""
    return [
        card(2001, local(30, 10), org_id="other", status="open"),
        event(2001, local(30, 10, 5), "ana", "claimed", org="other"),
        Callback(
            org_id="other",
            card_id=2001,
            due_at=local(1, 9, month=12),
            assignee_id="ana",
            created_by="ana",
            created_at=local(30, 10),
        ),
        Call(org_id="other", call_sid="CA-other-rejected", status="rejected", started_at=local(30, 11)),
    ]


async def digest_of(db: Database, day: date = DAY) -> DigestFigures:
    await upgrade_async(db.url, connect_args=db.connect_args)
    await db.add(*background_month(), *the_day(), *another_org())
    engine = create_report_engine(db.url, connect_args=db.connect_args)
    try:
        directory = Directory([load_config(FIXTURES / "clinic.yaml")])
        reader = DigestReader(session_factory(engine), directory, FakeClock(SENT_AT))
        return await reader.figures("default", day)
    finally:
        await engine.dispose()


async def test_the_digest_counts_the_day_as_counted_by_hand(db: Database) -> None:
    figures = await digest_of(db)

    # Calls: 1001, 1002, 1003, 1004, 1005, 1006, 1009; messages: 1007 (recado), 1008 (WhatsApp).
    assert figures.totals == {"calls": 7, "messages": 2}
    assert figures.by_category == {
        "calls": {"client": 1, "general": 3, "lead": 1, "urgent": 2},
        "messages": {"general": 2},
    }
    assert figures.by_outcome == {
        "calls": {"callback": 1, "called_back": 1, "claimed": 1, "open": 2, "resolved": 2},
        "messages": {"open": 1, "qualified_lead": 1},
    }
    assert figures.answers == {"live": 1, "message": 4, "missed": 2}
    assert figures.rejected_calls == 1
    # Times to claim: 1, 4, 5, 10, 20, 45 minutes. Nearest rank: median the 3rd, p90 the 6th.
    assert (figures.claim_median, figures.claim_p90) == (5 * M, 45 * M)
    assert figures.breaches == [
        Breach(1002, "urgent", "Caller 1002", 3 * M, taken=True),
        Breach(1003, "general", "Caller 1003", SENT_AT - local(30, 10, 10), taken=False),
        Breach(1007, "general", "Caller 1007", 15 * M, taken=True),
        Breach(1008, "general", "Caller 1008", SENT_AT - local(30, 18, 30), taken=False),
    ]
    assert figures.staff == [
        StaffLine("ana", claimed=2, resolved=2, callbacks_done=1),
        StaffLine("luis", claimed=2, resolved=3, callbacks_done=1),
        StaffLine("marta", claimed=1, resolved=0, callbacks_done=0),
    ]
    # Open now: 1003, 1004, 1005, 1008, 1009, 1010 and 900 (the other organisation's 2001 is not ours).
    assert figures.open_now == 7
    assert figures.callbacks_due == [
        DueCallback(900, local(28, 10), "luis", "Caller 900"),
        DueCallback(1005, local(1, 12, month=12), "ana", "Caller 1005"),
    ]
    assert figures.overdue == 1
    assert figures.leads == [
        Lead(1004, "Caller 1004", "marta", "recepcion"),
        Lead(1007, "Caller 1007", "ana", "recepcion"),
    ]
    calls_by_hour = {hour: counts for hour, counts in figures.hourly.items() if any(counts.values())}
    assert calls_by_hour == {
        0: {"live": 0, "message": 1, "missed": 0},
        9: {"live": 0, "message": 1, "missed": 1},
        10: {"live": 0, "message": 1, "missed": 0},
        11: {"live": 0, "message": 1, "missed": 0},
        12: {"live": 1, "message": 0, "missed": 0},
        23: {"live": 0, "message": 0, "missed": 1},
    }


async def test_a_quiet_day_of_the_month_has_its_two_calls(db: Database) -> None:
    figures = await digest_of(db, date(2026, 11, 12))

    assert figures.totals == {"calls": 2}
    assert figures.answers == {"live": 0, "message": 2, "missed": 0}
    assert (figures.claim_median, figures.claim_p90) == (5 * M, 5 * M)
    assert figures.breaches == [] and figures.leads == []
    assert figures.staff == [StaffLine("ana", claimed=2), StaffLine("luis", resolved=2)]


async def test_the_report_engine_cannot_write(db: Database) -> None:
    await upgrade_async(db.url, connect_args=db.connect_args)
    engine = create_report_engine(db.url, connect_args=db.connect_args)
    try:
        async with engine.connect() as connection:
            try:
                await connection.execute(text("DELETE FROM card"))
            except Exception as error:
                refused = str(error).lower()
            else:
                refused = ""
    finally:
        await engine.dispose()
    assert "read-only" in refused or "readonly" in refused


def test_the_days_queries_use_the_new_indexes() -> None:
    """SQLite's plan (EXPLAIN QUERY PLAN) for the day's cards, events and rejected calls."""
    import sqlite3
    import tempfile

    from bot.store.migrate import upgrade

    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/plan.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        connection = sqlite3.connect(path)
        plans = {
            index: " ".join(str(row[-1]) for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for index, sql in (
                (
                    "ix_card_org_created",
                    "SELECT id FROM card WHERE org_id = 'a' AND created_at >= 'x' AND created_at < 'y'",
                ),
                (
                    "ix_auditevent_org_at",
                    "SELECT kind FROM auditevent WHERE org_id = 'a' AND at >= 'x' AND at < 'y'",
                ),
                (
                    "ix_call_org_started",
                    "SELECT count(*) FROM call WHERE org_id = 'a' AND started_at >= 'x' AND started_at < 'y'",
                ),
            )
        }
        connection.close()
    for index, plan in plans.items():
        assert index in plan, plan
