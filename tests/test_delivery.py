"""Deliveries to Slack survive rate limits and outages, and a card's messages arrive in order."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.store.models import CardPost, OutboxMessage
from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled

SAY = "Hola, soy Pedro Gómez, quería una consulta"
URGENT = "Soy María Ruiz, es urgente, me duele mucho"


class HeldSlack:
    """ASGI wrapper around FakeSlack: while ``hold`` is set, ``chat.postMessage`` waits at the door."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()
        self.released.set()

    def hold(self) -> None:
        self.released.clear()
        self.arrived.clear()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].endswith("/chat.postMessage")
            and not self.released.is_set()
        ):
            self.arrived.set()
            await self.released.wait()
        await self.fake.app(scope, receive, send)


@pytest.fixture
async def held() -> AsyncIterator[HeldSlack]:
    fake = FakeSlack()
    gate = HeldSlack(fake)
    async with LoopbackServer(gate) as url:
        fake.url = url + "/api/"  # type: ignore[attr-defined]
        yield gate


def _card_posts(slack: FakeSlack) -> list[SlackCall]:
    return [c for c in slack.of("chat.postMessage") if "blocks" in c.args and "thread_ts" not in c.args]


async def _card_row(db: Database) -> OutboxMessage:
    [row] = [r for r in await db.outbox() if r.kind == "card"]
    return row


async def test_a_rate_limited_post_is_delayed_by_retry_after_but_not_lost(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    async with Centralita(db, clock, slack.url) as app:
        started = time.monotonic()
        await app.call("+34600111222", SAY)

        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP", timeout=6)
        waited = time.monotonic() - started
        assert 1.8 <= waited <= 5.5, waited  # two Retry-After: 1 waits, and not much more
        assert "Pedro Gómez" in json.dumps(post.args["blocks"], ensure_ascii=False)

        [row] = await outbox_settled(db)
        assert (row.kind, row.status, row.attempts, row.last_error) == ("card", "sent", 3, None)
        await asyncio.sleep(0.3)
        assert len(slack.of("chat.postMessage")) == 1
        assert len(await db.cards()) == 1


async def test_a_slack_outage_keeps_the_card_pending_until_slack_is_back(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        slack.down = True
        await app.call("+34600111222", SAY)

        async def failed_once() -> OutboxMessage | None:
            row = await _card_row(db)
            return row if row.attempts >= 1 else None

        row = await eventually(failed_once)
        assert row.status == "pending" and row.locked_until is None
        assert row.last_error and "503" in row.last_error

        async def failed_twice() -> OutboxMessage | None:
            row = await _card_row(db)
            return row if row.attempts >= 2 else None

        row = await eventually(failed_twice)
        backoff = (row.next_attempt_at - datetime.now(UTC)).total_seconds()
        # Backing off (0.5 s, 1 s, 2 s, ...), not spinning: nothing is tried again before the wait is over.
        assert row.status == "pending" and 0 < backoff <= 0.5 * 2 ** (row.attempts - 1)
        failures = row.attempts
        await asyncio.sleep(backoff / 2)
        assert (await _card_row(db)).attempts == failures
        assert slack.of("chat.postMessage") == []

        slack.down = False
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP", timeout=5)
        assert "Pedro Gómez" in post.args["text"]
        [row] = await outbox_settled(db)
        # One more failed try may have been on its way when Slack came back (retries are jittered).
        assert (row.status, row.last_error) == ("sent", None) and row.attempts in (failures + 1, failures + 2)
        assert (await db.cards())[0].status == "open"
        await asyncio.sleep(0.3)
        assert len(slack.of("chat.postMessage")) == 1


async def test_a_claim_while_the_card_is_being_posted_updates_it_after_the_post(
    db: Database, held: HeldSlack, clock: FakeClock
) -> None:
    slack = held.fake
    async with Centralita(db, clock, slack.url) as app:  # type: ignore[attr-defined]
        held.hold()
        await app.call("+34600111222", SAY)
        await asyncio.wait_for(held.arrived.wait(), timeout=5)  # the post is on its way to Slack
        [card] = await db.cards()
        claimed = await app.claim(card.id, "U0ANA")
        assert claimed.status_code == 200

        async def claim_committed() -> bool:
            return len(await db.audit("claimed")) == 1

        await eventually(claim_committed)
        held.released.set()

        [update] = await slack.wait_for("chat.update")
        [post] = _card_posts(slack)
        ts = await _post_ts(db, post)
        assert update.args["ts"] == ts and update.args["channel"] == "C0RECEP"
        assert slack.calls.index(post) < slack.calls.index(update)
        assert "Pendiente: nadie la ha reclamado" in json.dumps(post.args["blocks"], ensure_ascii=False)
        assert "Reclamada por Ana García" in json.dumps(update.args["blocks"], ensure_ascii=False)
        [line] = await slack.wait_for("chat.postMessage", thread_ts=ts)
        assert line.args["text"] == "Ana García ha reclamado la tarjeta."
        assert slack.calls.index(post) < slack.calls.index(line)
        await outbox_settled(db)
        assert len(_card_posts(slack)) == 1 and len(slack.of("chat.update")) == 1


async def test_a_claim_right_after_the_call_is_shown_after_the_card_is_posted(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        for caller in ("+34600111222", "+34600333444", "+34600555666"):
            await app.call(caller, SAY)
            card = (await db.cards())[-1]
            await app.claim(card.id, "U0ANA")
        # Slack gets its 200 before the claim commits, so wait for the claims' thread lines first.
        await slack.wait_for("chat.postMessage", count=3, text="Ana García ha reclamado la tarjeta.")
        await outbox_settled(db)

        posts = _card_posts(slack)
        assert len(posts) == 3
        for post in posts:
            ts = await _post_ts(db, post)
            updates = [u for u in slack.of("chat.update") if u.args["ts"] == ts]
            # Every update of the card comes after its post and shows the claim, which the card ends up showing.
            for update in updates:
                assert slack.calls.index(post) < slack.calls.index(update)
            final = (updates or [post])[-1]
            assert "Reclamada por Ana García" in json.dumps(final.args["blocks"], ensure_ascii=False)
            [line] = [c for c in slack.of("chat.postMessage") if c.args.get("thread_ts") == ts]
            assert line.args["text"] == "Ana García ha reclamado la tarjeta."
            assert slack.calls.index(post) < slack.calls.index(line)


async def test_a_card_slack_would_not_post_still_escalates_to_the_person_on_call(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """The card's post is refused for good (the app is not in the channel), so its thread lines can
    never be posted: they give up too, and the escalation's DM behind them still goes out."""
    slack.refuse("chat.postMessage", "not_in_channel", channel="C0RECEP")
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", URGENT)

        async def post_gave_up() -> bool:
            return (await _card_row(db)).status == "dead"

        await eventually(post_gave_up)
        clock.advance(timedelta(minutes=2, seconds=1))

        [dm] = await slack.wait_for("chat.postMessage", channel="U0LUIS", timeout=5)
        assert "María Ruiz" in dm.args["text"] and "https://" not in dm.args["text"]  # no card to link
        rows = await outbox_settled(db)
        assert [(r.kind, r.status) for r in rows] == [
            ("card", "dead"),  # the post
            ("card", "dead"),  # the escalation's render, which would post it
            ("thread", "dead"),
            ("direct", "sent"),
        ]
        assert rows[2].last_error and "never posted" in rows[2].last_error


async def test_a_dm_goes_out_without_the_link_when_slack_gives_no_link(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.refuse("chat.getPermalink", "message_not_found")
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", URGENT)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        clock.advance(timedelta(minutes=2, seconds=1))

        [dm] = await slack.wait_for("chat.postMessage", channel="U0LUIS", timeout=5)
        assert "María Ruiz" in dm.args["text"] and "https://" not in dm.args["text"]
        assert len(slack.refused) == 1
        assert {r.status for r in await outbox_settled(db)} == {"sent"}


async def test_a_card_waiting_on_retry_after_does_not_make_the_worker_spin(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """While a card's post waits out a Retry-After, the claim's thread line waits behind it. The
    worker looks again when the post is due, or at its poll interval (0.2 s here), not every 10 ms."""
    slack.rate_limit("chat.postMessage", times=1, retry_after=2)
    async with Centralita(db, clock, slack.url) as app:
        leases = _lease_rounds(app)
        await app.call("+34600111222", SAY)

        async def rate_limited() -> bool:
            return (await _card_row(db)).attempts == 1

        await eventually(rate_limited, interval=0.01)
        [card] = await db.cards()
        assert (await app.claim(card.id, "U0ANA")).status_code == 200

        async def line_written() -> bool:
            return any(r.kind == "thread" for r in await db.outbox())

        await eventually(line_written, interval=0.01)
        before = len(leases)
        await asyncio.sleep(1)
        assert len(leases) - before <= 10, len(leases) - before  # about 5 at 0.2 s; it was 70 or so

        await slack.wait_for("chat.postMessage", text="Ana García ha reclamado la tarjeta.", timeout=5)
        assert {r.status for r in await outbox_settled(db)} == {"sent"}


def _lease_rounds(app: Centralita) -> list[str]:
    """Every lease statement the server runs from now on (seen on its engine)."""
    engine = app.app.state.services.runtime.sessions.kw["bind"]
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "candidates" in statement:
            seen.append(statement)

    return seen


async def _post_ts(db: Database, post: SlackCall) -> str:
    """The ts Slack answered for a posted card, as the app stored it."""
    card_id = int(post.args["blocks"][0]["block_id"].split("-")[1])
    refs = await db.query(select(CardPost.external_ref).where(CardPost.card_id == card_id))
    assert refs and refs[0], refs
    return str(refs[0]).partition(":")[2]
