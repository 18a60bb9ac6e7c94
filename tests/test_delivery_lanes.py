"""Deliveries go out per post (one card on one channel): a channel that is down or rate-limited holds
back nothing of the card on another channel, each post keeps its own order, a slow call holds back no
other post, and retries after failures are spread out and, for outages, seconds apart.

A second chat channel does not exist yet, so the card's second post is on a channel named ``second``
served by a second loopback Slack stand-in, through the real Slack publisher registered for it: the
delivery use case cannot tell it from another platform."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from adapters.slack.client import web_client
from adapters.slack.publisher import SlackPublisher
from bot.app import Services
from bot.services.calls import CallInfo
from bot.services.delivery import Delivery
from bot.services.outbox import (
    DIRECT,
    enqueue_rows,
    outbox_row,
    posts_by_card,
    render_rows,
    thread_rows,
    wall_now,
)
from bot.store.models import Card, CardPost, OutboxMessage
from cards.notice import Notice
from jobs.delivery import WakeUp
from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.support import (
    CLINIC_NUMBER,
    Centralita,
    Database,
    FakeClock,
    eventually,
    new_call_sid,
    outbox_settled,
    services_only,
)

SECOND = "second"
GENERAL = "Soy Pedro Gómez, quería pedir cita"
LEAD = "Soy Lucía Ramos, quería pedir un presupuesto"  # routed to Ventas (C0VENTAS)


@pytest.fixture
async def services(db: Database, clock: FakeClock, slack: FakeSlack) -> AsyncIterator[Services]:
    """The use cases with cards on the loopback Slack, no server and no worker: every delivery round
    is the test's own."""
    async with services_only(db, clock, slack.url) as found:  # type: ignore[attr-defined]
        yield found


@pytest.fixture
async def other() -> AsyncIterator[FakeSlack]:
    """The second channel's stand-in."""
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as url:
        fake.url = url + "/api/"  # type: ignore[attr-defined]
        yield fake


def _two_channels(services: Services, other: FakeSlack) -> Delivery:
    """The app's delivery use case with the second channel's publisher registered beside Slack's."""
    second = SlackPublisher(web_client("xoxb-second", other.url))  # type: ignore[attr-defined]
    return Delivery(services.runtime, {**services.delivery.publishers, SECOND: second})


async def _card(services: Services, db: Database, caller: str, say: str = GENERAL) -> Card:
    call = CallInfo(new_call_sid(), caller, CLINIC_NUMBER)
    await services.intake.message(call, say)
    [card] = [c for c in await db.cards() if c.call_sid == call.call_sid]
    return card


async def _posted_on_two_channels(services: Services, db: Database, delivery: Delivery) -> Card:
    """A card posted on Slack (C0RECEP) and on the second channel (C0OTRO)."""
    card = await _card(services, db, "+34600111222")
    await services.delivery.deliver_handed(_handed(services))
    await db.add(
        CardPost(
            org_id=card.org_id,
            card_id=card.id or 0,
            channel=SECOND,
            target="C0OTRO",
            created_at=card.created_at,
        )
    )
    async with services.runtime.unit_of_work() as session:
        posts = (await posts_by_card(session, [card.id or 0]))[card.id or 0]
        second = [post for post in posts if post.channel == SECOND]
        await enqueue_rows(session, render_rows(card, second, set(), services.runtime.clock.now()))
    await _drain(delivery)
    return card


def _handed(services: Services) -> list[object]:
    wake = services.runtime.signal
    assert isinstance(wake, WakeUp)
    return wake.take_handed()


async def _drain(delivery: Delivery) -> None:
    """Delivery rounds until none leases anything (rows waiting on a retry stay)."""
    while await delivery.deliver_due():
        pass


async def _changes(services: Services, card: Card, *lines: str) -> None:
    """Thread lines on each of the card's posts, then a DM about the card on each channel."""
    now = services.runtime.clock.now()
    async with services.runtime.unit_of_work() as session:
        posts = (await posts_by_card(session, [card.id or 0]))[card.id or 0]
        for line in lines:  # with a finished text each (as rows written before notices were stored)
            rows = thread_rows(card, posts, Notice("thread.note"), now)
            await enqueue_rows(session, [{**row, "payload": {"text": line}} for row in rows])
        dms = [
            outbox_row(
                org_id=card.org_id,
                card_id=card.id,
                channel=channel,
                kind=DIRECT,
                target="U0LUIS",
                now=now,
                payload={"text": f"a DM on {channel}"},
            )
            for channel in ("slack", SECOND)
        ]
        await enqueue_rows(session, dms)


def _seen(fake: FakeSlack, since: int = 0) -> list[tuple[str, str]]:
    """What a stand-in was sent: (channel, first line of the text) per message, in order."""
    return [
        (c.args["channel"], str(c.args["text"]).splitlines()[0])
        for c in fake.calls[since:]
        if c.method == "chat.postMessage"
    ]


def _fail(fake: FakeSlack, failure: str) -> None:
    if failure == "outage":
        fake.down = True
    else:
        fake.rate_limit("chat.postMessage", times=1000, retry_after=30)
        fake.rate_limit("chat.getPermalink", times=1000, retry_after=30)


def _recover(fake: FakeSlack) -> None:
    fake.down = False
    fake.rate_limit("chat.postMessage", times=0)
    fake.rate_limit("chat.getPermalink", times=0)


async def _lane(db: Database, card: Card, channel: str) -> list[OutboxMessage]:
    rows = [r for r in await db.outbox() if r.card_id == card.id and r.channel == channel]
    return [r for r in rows if r.kind != "card" or r.status != "sent"]  # what came after its post


async def _due_now(services: Services, rows: list[OutboxMessage]) -> None:
    """The rows' retry time has come (their Retry-After or backoff is over)."""
    async with services.runtime.unit_of_work() as session:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([r.id for r in rows]))
            .values(next_attempt_at=wall_now())
        )


@pytest.mark.parametrize("failure", ["outage", "rate_limit"])
@pytest.mark.parametrize("failing", ["slack", SECOND])
async def test_a_channel_that_fails_holds_back_nothing_of_the_card_on_the_other_channel(
    services: Services, db: Database, slack: FakeSlack, other: FakeSlack, failing: str, failure: str
) -> None:
    delivery = _two_channels(services, other)
    card = await _posted_on_two_channels(services, db, delivery)
    fakes = {"slack": slack, SECOND: other}
    broken, working = fakes[failing], fakes[SECOND if failing == "slack" else "slack"]
    working_channel = SECOND if failing == "slack" else "slack"
    marks = {name: len(fake.calls) for name, fake in fakes.items()}
    _fail(broken, failure)
    await _changes(services, card, "first", "second")

    await _drain(delivery)
    expected = {"slack": "C0RECEP", SECOND: "C0OTRO"}
    assert _seen(working, marks[working_channel]) == [
        (expected[working_channel], "first"),
        (expected[working_channel], "second"),
        ("U0LUIS", f"a DM on {working_channel}"),
    ]
    held = await _lane(db, card, failing)
    assert [(r.kind, r.status, r.attempts) for r in held] == [
        ("thread", "pending", 1),  # tried, waiting for its retry
        ("thread", "pending", 0),  # behind it, in its post's order
        ("direct", "pending", 0),
    ]
    assert _seen(broken, marks[failing]) == []

    _recover(broken)
    await _due_now(services, held)
    await _drain(delivery)
    assert _seen(broken, marks[failing]) == [
        (expected[failing], "first"),
        (expected[failing], "second"),
        ("U0LUIS", f"a DM on {failing}"),
    ]
    assert {r.status for r in await db.outbox()} == {"sent"}


async def test_a_dm_about_a_card_goes_after_the_cards_first_post_on_its_channel_and_links_to_it(
    services: Services, db: Database, slack: FakeSlack
) -> None:
    """The DM to the person a call was for is written with the card. It goes on Slack, where the card
    is posted, so it waits for that post (and links to it) even when the post is slow to go."""
    card = await _card(services, db, "+34911222333", "Quería hablar con Ana sobre la obra")
    handed = _handed(services)  # the card's post, not sent yet

    assert await services.delivery.deliver_due() == 0  # the DM waits for it
    assert slack.of("chat.postMessage", channel="U0ANA") == []

    await services.delivery.deliver_handed(handed)
    assert await services.delivery.deliver_due() == 1
    [post] = slack.of("chat.postMessage", channel="C0RECEP")
    [dm] = slack.of("chat.postMessage", channel="U0ANA")
    assert slack.calls.index(post) < slack.calls.index(dm)
    ts = await _post_ts(db, card)
    assert f"/archives/C0RECEP/p{ts.replace('.', '')}" in dm.args["text"]  # the card's permalink


async def test_a_post_that_finished_is_saved_while_a_slow_post_of_its_round_is_still_sending(
    services: Services, db: Database, slack: FakeSlack
) -> None:
    """Two new cards in one round; Slack keeps the first one's post waiting. The other is posted,
    its result written, and its next message sent by another round, while the first still waits."""
    with slack.hold("chat.postMessage", channel="C0VENTAS") as held:
        slow = await _card(services, db, "+34600111222", LEAD)
        fast = await _card(services, db, "+34600333444")
        round_ = asyncio.create_task(services.delivery.deliver_handed(_handed(services)))
        await asyncio.wait_for(held.arrived.wait(), timeout=5)

        async def fast_saved() -> bool:
            return [r.status for r in await db.outbox() if r.card_id == fast.id] == ["sent"]

        await eventually(fast_saved)
        async with services.runtime.unit_of_work() as session:
            posts = (await posts_by_card(session, [fast.id or 0]))[fast.id or 0]
            rows = thread_rows(fast, posts, Notice("thread.note"), services.runtime.clock.now())
            await enqueue_rows(session, [{**row, "payload": {"text": "a line"}} for row in rows])
        assert await services.delivery.deliver_due() == 1  # the slow card's post is still leased
        ts = await _post_ts(db, fast)
        assert [c.args["text"] for c in slack.of("chat.postMessage", thread_ts=ts)] == ["a line"]
        assert not round_.done()

        held.release()
        assert (await round_).sent == 2
        assert [r.status for r in await db.outbox() if r.card_id == slow.id] == ["sent"]
        assert len(slack.of("chat.postMessage", channel="C0VENTAS")) == 1


async def _post_ts(db: Database, card: Card) -> str:
    """The ts Slack answered for the card's post, as the app stored it."""
    statement = select(CardPost.external_ref).where(CardPost.card_id == card.id, CardPost.channel == "slack")
    [ref] = await db.query(statement)
    return str(ref).partition(":")[2]


async def test_a_slow_post_holds_back_no_other_cards_post_nor_its_updates(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """With the worker running: while Slack keeps one card's post waiting, the next card is posted,
    claimed and updated; the slow card is posted once Slack answers."""
    async with Centralita(db, clock, slack.url) as app:
        with slack.hold("chat.postMessage", channel="C0VENTAS") as held:
            await app.call("+34600111222", LEAD)
            await asyncio.wait_for(held.arrived.wait(), timeout=5)
            await app.call("+34600333444", GENERAL)
            await slack.wait_for("chat.postMessage", channel="C0RECEP")
            [card] = [c for c in await db.cards() if c.team_id == "recepcion"]
            assert (await app.claim(card.id or 0, "U0ANA")).status_code == 200
            await slack.wait_for("chat.update", channel="C0RECEP")
            await slack.wait_for("chat.postMessage", text="Ana García ha reclamado la tarjeta.")
            assert slack.of("chat.postMessage", channel="C0VENTAS") == []  # still waiting

            held.release()
            await slack.wait_for("chat.postMessage", channel="C0VENTAS")
            rows = await outbox_settled(db)
            assert {r.status for r in rows} == {"sent"} and all(r.attempts == 1 for r in rows)
            assert len(slack.of("chat.postMessage", channel="C0VENTAS")) == 1


async def test_a_slow_update_holds_back_no_other_cards_update(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """With the worker running: while Slack keeps one card's update waiting (its lease round still
    sending), a claim on another card is shown on Slack: the next lease round does not wait for it."""
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", LEAD)
        await app.call("+34600333444", GENERAL)
        await slack.wait_for("chat.postMessage", channel="C0VENTAS")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        await outbox_settled(db)
        [slow] = [c for c in await db.cards() if c.team_id == "ventas"]
        [other] = [c for c in await db.cards() if c.team_id == "recepcion"]
        with slack.hold("chat.update", channel="C0VENTAS") as held:
            assert (await app.claim(slow.id or 0, "U0ANA")).status_code == 200
            await asyncio.wait_for(held.arrived.wait(), timeout=5)
            assert (await app.claim(other.id or 0, "U0ANA")).status_code == 200
            [update] = await slack.wait_for("chat.update", channel="C0RECEP")
            assert "Reclamada por Ana García" in json.dumps(update.args["blocks"], ensure_ascii=False)
            assert slack.of("chat.update", channel="C0VENTAS") == []  # still waiting
        await slack.wait_for("chat.update", channel="C0VENTAS")
        await slack.wait_for("chat.postMessage", count=2, text="Ana García ha reclamado la tarjeta.")
        rows = await outbox_settled(db)
        assert {r.status for r in rows} == {"sent"} and all(r.attempts == 1 for r in rows)


async def _failed_together(
    services: Services, db: Database, count: int, attempts: int
) -> tuple[datetime, datetime, list[OutboxMessage]]:
    """``count`` new cards whose posts fail in one round, after ``attempts`` earlier failures each;
    the moments just before and after the round, and the rows."""
    for index in range(count):
        await _card(services, db, f"+3460011{index:04d}")
    handed = _handed(services)
    for item in handed:
        item.row.attempts = attempts  # type: ignore[attr-defined]
    before = wall_now()
    await services.delivery.deliver_handed(handed)
    after = wall_now()
    return before, after, [r for r in await db.outbox() if r.kind == "card"]


def _waits_within(
    rows: list[OutboxMessage], before: datetime, after: datetime, low: float, high: float
) -> None:
    for row in rows:
        assert before + timedelta(seconds=low) <= row.next_attempt_at <= after + timedelta(seconds=high)


def _spread(rows: list[OutboxMessage]) -> timedelta:
    times = [r.next_attempt_at for r in rows]
    return max(times) - min(times)


async def test_posts_that_failed_together_in_an_outage_retry_spread_out_and_seconds_apart(
    services: Services, db: Database, slack: FakeSlack
) -> None:
    """However long Slack has been down (here: the posts' twelfth failure), the next try is at most
    3 s away, and the rows do not all come back at the same moment."""
    slack.down = True
    before, after, rows = await _failed_together(services, db, 30, attempts=11)

    assert [(r.status, r.attempts) for r in rows] == [("pending", 12)] * 30
    _waits_within(rows, before, after, 1.5, 3.0)
    assert _spread(rows) > after - before  # more than the round's own spread: jitter


async def test_a_rate_limited_post_waits_its_retry_after_and_a_little_more(
    services: Services, db: Database, slack: FakeSlack
) -> None:
    slack.rate_limit("chat.postMessage", times=30, retry_after=20)
    before, after, rows = await _failed_together(services, db, 30, attempts=0)

    _waits_within(rows, before, after, 20.0, 24.0)
    assert _spread(rows) > after - before


async def test_a_refusal_not_known_to_be_temporary_backs_off_for_minutes_not_seconds(
    services: Services, db: Database, slack: FakeSlack
) -> None:
    slack.refuse("chat.postMessage", "something_new")
    before, after, rows = await _failed_together(services, db, 3, attempts=8)

    _waits_within(rows, before, after, 64.0, 128.0)


async def test_a_slack_that_hangs_up_without_answering_is_an_outage_too(
    db: Database, clock: FakeClock
) -> None:
    """A connection closed before any answer (a proxy restarting) is retried seconds apart, like a 503."""

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with services_only(db, clock, f"http://127.0.0.1:{port}/api/") as services:
            before, after, rows = await _failed_together(services, db, 2, attempts=11)
    finally:
        server.close()
        await server.wait_closed()

    assert all(r.last_error and "Slack unreachable" in r.last_error for r in rows)
    _waits_within(rows, before, after, 1.5, 3.0)
