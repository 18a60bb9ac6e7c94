"""The outbox lease: a card's deliveries go out in the order they were written, and two workers never
take the same row. Driven through the real delivery use case on a real database, on the console
channel (or the loopback Slack, where a test needs Slack to answer in some way), with no worker
running, so every delivery round is the test's own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlmodel import col, select

from bot.app import Services
from bot.services.calls import CallInfo
from bot.services.delivery import MAX_ATTEMPTS, Delivery
from bot.services.outbox import (
    DIRECT,
    HandedOver,
    enqueue_rows,
    outbox_row,
    posts_by_card,
    thread_rows,
    wall_now,
)
from bot.store.models import Card, CardPost, OutboxMessage
from cards.notice import Notice
from jobs.delivery import WakeUp
from tests.fakes.slack_api import FakeSlack
from tests.support import (
    CLINIC_NUMBER,
    Database,
    FakeClock,
    eventually,
    new_call_sid,
    services_only,
)


@pytest.fixture
async def services(db: Database, clock: FakeClock) -> AsyncIterator[Services]:
    async with services_only(db, clock, None) as found:
        yield found


@pytest.fixture
async def on_slack(db: Database, clock: FakeClock, slack: FakeSlack) -> AsyncIterator[Services]:
    """The same, with cards on the loopback Slack."""
    async with services_only(db, clock, slack.url) as found:  # type: ignore[attr-defined]
        yield found


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
    """Thread lines with a finished text each (as rows written before notices were stored)."""
    async with services.runtime.unit_of_work() as session:
        posts = (await posts_by_card(session, [card.id or 0]))[card.id or 0]
        for text in texts:
            rows = thread_rows(card, posts, Notice("thread.note"), services.runtime.clock.now())
            await enqueue_rows(session, [{**row, "payload": {"text": text}} for row in rows])


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
    await _due_at(services, wall_now() + timedelta(hours=1), first.id)  # waits on a Retry-After

    await services.delivery.deliver_due()
    assert [r.status for r in await _rows(db, held.id or 0)] == ["pending", "pending"]
    assert [r.status for r in await _rows(db, free.id or 0)] == ["sent", "sent"]

    await _due_at(services, wall_now(), first.id)  # the retry falls due
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


async def _due_at(services: Services, when: datetime, *row_ids: int | None) -> None:
    """The rows' next attempt is at ``when`` (now: their backoff has passed; later: a Retry-After)."""
    async with services.runtime.unit_of_work() as session:
        await session.exec(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(row_ids)).values(next_attempt_at=when)
        )


def _thread_posts(slack: FakeSlack) -> list[str]:
    return [c.args["text"] for c in slack.of("chat.postMessage") if "thread_ts" in c.args]


async def test_a_full_batch_of_held_back_rows_does_not_stall_the_other_cards(
    services: Services, db: Database
) -> None:
    """The lease takes a batch of 100 rows: rows kept back behind an earlier row of their card must
    not fill it, or nothing is leased and every other card waits too."""
    held = await _posted_card(services, db, "+34600111222")
    free = await _posted_card(services, db, "+34600333444")
    await _lines(services, held, *(f"line {n}" for n in range(services.delivery.batch + 5)))
    await _lines(services, free, "one")
    first = (await _rows(db, held.id or 0))[0]
    await _due_at(services, wall_now() + timedelta(hours=1), first.id)  # waits on a Retry-After

    await services.delivery.deliver_due()
    assert [r.status for r in await _rows(db, free.id or 0)] == ["sent"]
    assert {r.status for r in await _rows(db, held.id or 0)} == {"pending"}
    assert all(r.locked_until is None for r in await _rows(db, held.id or 0))


async def test_a_slack_error_not_known_to_be_temporary_is_given_up_after_a_few_attempts(
    on_slack: Services, db: Database, slack: FakeSlack
) -> None:
    """An error code Slack does not document as temporary is tried ``MAX_ATTEMPTS`` times, not
    forever: the card's later messages (here a DM) must not wait behind it for ever."""
    services = on_slack
    card = await _posted_card(services, db, "+34600111222")
    slack.refuse("chat.postMessage", "something_new", channel="C0RECEP")
    await _lines(services, card, "a line Slack will not take")
    async with services.runtime.unit_of_work() as session:
        await enqueue_rows(
            session,
            [
                outbox_row(
                    org_id=card.org_id,
                    card_id=card.id,
                    channel="slack",
                    kind=DIRECT,
                    target="U0LUIS",
                    now=services.runtime.clock.now(),
                    payload={"text": "a DM after it"},
                )
            ],
        )
    [line] = await _rows(db, card.id or 0)

    for attempt in range(1, MAX_ATTEMPTS):
        await services.delivery.deliver_due()
        [line] = await _rows(db, card.id or 0)
        assert (line.status, line.attempts) == ("pending", attempt)
        assert slack.of("chat.postMessage", channel="U0LUIS") == []  # the DM waits its turn
        await _due_at(services, wall_now(), line.id)
    await services.delivery.deliver_due()
    [line] = await _rows(db, card.id or 0)
    assert (line.status, line.attempts) == ("dead", MAX_ATTEMPTS)
    assert line.last_error and "something_new" in line.last_error
    [dm] = slack.of("chat.postMessage")[-1:]
    assert (dm.args["channel"], dm.args["text"].splitlines()[0]) == ("U0LUIS", "a DM after it")


async def test_rows_whose_lease_ran_low_during_a_slow_round_are_left_for_the_next_lease(
    on_slack: Services, db: Database, slack: FakeSlack
) -> None:
    """Results are saved when the round ends. A round still sending when its lease runs out would
    have its rows leased and sent again by another worker, so a row is sent only while enough of its
    lease is left; the rest wait for the next lease. (A lease of 1.5 s stands in for the 60 s one.)"""
    services = on_slack
    card = await _posted_card(services, db, "+34600111222")
    await _lines(services, card, "a", "b")
    slack.slow("chat.postMessage", 1.2)  # a Slack call takes most of the lease
    delivery = Delivery(services.runtime, services.delivery.publishers, lease=timedelta(seconds=1.5))

    first_round = asyncio.create_task(delivery.deliver_due())

    async def leased() -> bool:
        return all(r.locked_until is not None for r in await _rows(db, card.id or 0))

    await eventually(leased, interval=0.01)

    async def both_sent() -> bool:  # another worker's rounds, meanwhile
        await delivery.deliver_due()
        return {r.status for r in await _rows(db, card.id or 0)} == {"sent"}

    await eventually(both_sent, timeout=8, interval=0.1)
    await first_round
    assert _thread_posts(slack) == ["a", "b"]  # each once, in order
    assert [(r.payload["text"], r.attempts) for r in await _rows(db, card.id or 0)] == [("a", 1), ("b", 1)]


async def test_a_row_handed_over_is_not_sent_once_its_lease_has_run_out(
    on_slack: Services, db: Database, slack: FakeSlack
) -> None:
    """A new card's first post is handed to this process's worker, leased for 60 s. A worker that
    gets to it only after that (a long round) must not post it: another worker may have already."""
    services = on_slack
    call = CallInfo(new_call_sid(), "+34600555666", CLINIC_NUMBER)
    await services.intake.message(call, "Soy Pedro Gómez, quería pedir cita")
    handed = _handed(services)
    [row] = await db.outbox()
    expired = wall_now() - timedelta(seconds=1)  # the minute passes …
    async with services.runtime.unit_of_work() as session:
        await session.exec(
            update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(locked_until=expired)
        )
    for item in handed:  # … for the copy the worker holds too (it was written with the row's values)
        assert isinstance(item, HandedOver)
        item.row.locked_until = expired
    assert await services.delivery.deliver_due() == 1  # another worker leases and posts it

    result = await services.delivery.deliver_handed(handed)  # then this one gets to it
    assert result.sent == 0
    assert len([c for c in slack.of("chat.postMessage") if "blocks" in c.args]) == 1
    [row] = await db.outbox()
    assert (row.status, row.attempts) == ("sent", 1)


async def test_results_are_saved_after_a_database_blip(
    services: Services, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """If writing a round's results fails, it is tried again shortly: dropping them would send every
    row of the round a second time once the lease runs out."""
    card = await _posted_card(services, db, "+34600111222")
    await _lines(services, card, "a")
    async with services.runtime.sessions() as session, session.begin():
        for statement in _BLIP[db.name]:
            await session.exec(text(statement))
    caplog.set_level(logging.WARNING, "centralita.delivery")

    round_ = asyncio.create_task(services.delivery.deliver_due())

    async def save_failed() -> bool:
        return any("saving" in r.getMessage() for r in caplog.records)

    await eventually(save_failed, interval=0.01)
    async with services.runtime.sessions() as session, session.begin():  # the database is back
        await session.exec(text("DELETE FROM blip"))
    assert await round_ == 1
    [row] = await _rows(db, card.id or 0)
    assert (row.status, row.attempts, row.locked_until) == ("sent", 1, None)


# While ``blip`` has a row, marking an outbox row sent fails.
_BLIP = {
    "sqlite": [
        "CREATE TABLE blip (x INTEGER)",
        "INSERT INTO blip VALUES (1)",
        "CREATE TRIGGER blip_sent BEFORE UPDATE ON outboxmessage"
        " WHEN NEW.status = 'sent' AND EXISTS (SELECT 1 FROM blip)"
        " BEGIN SELECT RAISE(ABORT, 'database blip'); END",
    ],
    "postgres": [
        "CREATE TABLE blip (x INTEGER)",
        "INSERT INTO blip VALUES (1)",
        "CREATE FUNCTION blip_sent() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF EXISTS (SELECT 1 FROM blip) THEN RAISE EXCEPTION 'database blip'; END IF;"
        " RETURN NEW; END $$",
        "CREATE TRIGGER blip_sent BEFORE UPDATE ON outboxmessage FOR EACH ROW"
        " WHEN (NEW.status = 'sent') EXECUTE FUNCTION blip_sent()",
    ],
}
