"""The outbox lease: a card's deliveries go out in the order they were written, and two workers never
take the same row. Driven through the real delivery use case on a real database, on the console
channel, with no worker running, so every delivery round is the test's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.app import Services, create_app
from bot.config import load_config
from bot.services.calls import CallInfo
from bot.services.outbox import enqueue_rows, posts_by_card, thread_rows, wall_now
from bot.services.sync import sync_config
from bot.store.migrate import upgrade_async
from bot.store.models import Card, CardPost, OutboxMessage
from jobs.delivery import WakeUp
from tests.support import CLINIC_NUMBER, FIXTURES, Database, FakeClock, new_call_sid, settings_for


@pytest.fixture
async def services(db: Database, clock: FakeClock) -> AsyncIterator[Services]:
    app = create_app(
        settings_for(db, "http://127.0.0.1:9", None),
        configs=[load_config(FIXTURES / "clinic.yaml")],
        clock=clock,
        connect_args=db.connect_args,
    )
    await upgrade_async(db.url, connect_args=db.connect_args)
    found: Services = app.state.services
    await sync_config(found.runtime)
    yield found
    await found.runtime.sessions.kw["bind"].dispose()  # no lifespan ran, so nobody else closes it


async def _posted_card(services: Services, db: Database, caller: str) -> Card:
    """A card from a call, already posted (its first deliveries sent)."""
    call = CallInfo(new_call_sid(), caller, CLINIC_NUMBER)
    await services.intake.message(call, "Soy Pedro Gómez, quería pedir cita")
    await services.delivery.deliver_handed(_handed(services))  # the card's first post, sent at once
    while await services.delivery.deliver_due():
        pass
    [card] = [c for c in await db.cards() if c.call_sid == call.call_sid]
    return card


def _handed(services: Services) -> list[object]:
    """What the use cases handed to this process's delivery worker (none runs here) since last asked."""
    wake = services.runtime.signal
    assert isinstance(wake, WakeUp)
    return wake.take_handed()


async def _lines(services: Services, card: Card, *texts: str) -> None:
    async with services.runtime.unit_of_work() as session:
        posts = (await posts_by_card(session, [card.id or 0]))[card.id or 0]
        for text in texts:
            await enqueue_rows(session, thread_rows(card, posts, text, services.runtime.clock.now()))


async def _posts(db: Database) -> list[CardPost]:
    return await db.query(select(CardPost))


async def _rows(db: Database, card_id: int) -> list[OutboxMessage]:
    return [r for r in await db.outbox() if r.card_id == card_id and r.kind == "thread"]


async def test_a_cards_later_rows_wait_while_an_earlier_one_waits_for_its_retry(
    services: Services, db: Database
) -> None:
    held = await _posted_card(services, db, "+34600111222")
    free = await _posted_card(services, db, "+34600333444")
    await _lines(services, held, "first", "second")
    await _lines(services, free, "one", "two")
    first = (await _rows(db, held.id or 0))[0]
    async with services.runtime.unit_of_work() as session:  # the first line waits on a Retry-After
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == first.id)
            .values(next_attempt_at=wall_now() + timedelta(hours=1))
        )

    await services.delivery.deliver_due()
    assert [r.status for r in await _rows(db, held.id or 0)] == ["pending", "pending"]
    assert [r.status for r in await _rows(db, free.id or 0)] == ["sent", "sent"]

    async with services.runtime.unit_of_work() as session:  # the retry falls due
        await session.exec(
            update(OutboxMessage).where(col(OutboxMessage.id) == first.id).values(next_attempt_at=wall_now())
        )
    await services.delivery.deliver_due()
    rows = await _rows(db, held.id or 0)
    assert [r.status for r in rows] == ["sent", "sent"]
    assert rows[0].sent_at is not None and rows[1].sent_at is not None
    assert rows[0].sent_at <= rows[1].sent_at


async def test_two_delivery_rounds_at_once_send_each_row_once_and_in_order(
    services: Services, db: Database
) -> None:
    cards = [await _posted_card(services, db, f"+3460011{index:04d}") for index in range(6)]
    for card in cards:
        await _lines(services, card, "a", "b", "c")

    for _ in range(4):  # two workers' rounds racing, until nothing is left
        await asyncio.gather(services.delivery.deliver_due(), services.delivery.deliver_due())
    for card in cards:
        rows = await _rows(db, card.id or 0)
        assert [(r.payload["text"], r.status, r.attempts) for r in rows] == [
            ("a", "sent", 1),
            ("b", "sent", 1),
            ("c", "sent", 1),
        ]
        sent = [r.sent_at for r in rows]
        assert sent == sorted(sent)  # type: ignore[type-var]


async def test_a_new_cards_post_handed_to_a_worker_that_died_is_sent_when_its_lease_runs_out(
    services: Services, db: Database
) -> None:
    """A new card's first post is written leased to this process and handed to its worker. If the
    process stops before sending it, any worker sends it once the lease has run out."""
    call = CallInfo(new_call_sid(), "+34600555666", CLINIC_NUMBER)
    await services.intake.message(call, "Soy Pedro Gómez, quería pedir cita")
    assert len(_handed(services)) == 1  # … and the process dies with it

    [row] = await db.outbox()
    assert (row.kind, row.status) == ("card", "pending")
    assert await services.delivery.deliver_due() == 0  # still leased: nobody else takes it yet

    async with services.runtime.unit_of_work() as session:  # the lease runs out
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row.id)
            .values(locked_until=wall_now() - timedelta(seconds=1))
        )
    assert await services.delivery.deliver_due() == 1
    [row] = await db.outbox()
    assert (row.status, row.attempts) == ("sent", 1)
    [post] = await _posts(db)
    assert post.external_ref is not None
