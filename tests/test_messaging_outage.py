"""A database outage, for the messaging webhooks: PostgreSQL cut off by the loopback proxy. Twilio is
answered as ever, a customer's message and a delivery status are spooled (keyed on the MessageSid),
and once the database is back they are on the cards exactly once, with the time they came."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import select

from bot.store.models import Message
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled
from tests.test_messaging import CUSTOMER, _message, _reply, _status, _ts
from tests.test_outage import postgres_port, serve_through, spooled_lines, through

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
NEWCOMER = "+34600999888"


def _app(db: Database, clock: FakeClock, slack: FakeSlack, twilio: FakeTwilio, spool: Path) -> Centralita:
    return Centralita(
        db,
        clock,
        slack.url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_API_BASE_URL=twilio.url,
        CENTRALITA_SPOOL_DIR=str(spool),
    )


async def _messages(db: Database, direction: str) -> list[Message]:
    return list(await db.query(select(Message).where(Message.direction == direction)))


async def test_messages_and_statuses_are_spooled_through_an_outage_and_land_once(
    postgres: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    async with (
        TcpProxy(postgres_port(postgres)) as proxy,
        _app(through(postgres, proxy), clock, slack, twilio_rest, spool) as app,
    ):
        first = await app.twilio_post("/twilio/messaging", _message("Hola, ¿abren el sábado?"))
        assert first.status_code == 200
        [card] = await eventually(postgres.cards)
        await _reply(app, card.id, "Sí, de 10 a 13 h.")
        [sent] = await twilio_rest.wait_for("sms")
        await outbox_settled(postgres)

        proxy.cut()
        clock.advance(timedelta(hours=1))
        wrote_at = clock.now()
        assert await _status(app, sent, "delivered") == 204
        again = await app.twilio_post("/twilio/messaging", _message("¿Y el domingo?"))
        assert (again.status_code, again.text) == (200, EMPTY)
        newcomer = _message("Buenas, quería pedir cita", sender=NEWCOMER)
        for _ in range(2):  # Twilio sends it again: one more line, the same MessageSid
            answer = await app.twilio_post("/twilio/messaging", newcomer)
            assert (answer.status_code, answer.text) == (200, EMPTY)
        unknown = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
        assert (await app.twilio_post("/twilio/messaging/status?message=999999", unknown)).status_code == 204
        assert (await app.twilio_post("/twilio/messaging", _message("Hola"), sign=False)).status_code == 403

        lines = spooled_lines(spool)
        assert len(lines) == 5 and sum(newcomer["MessageSid"] in line for line in lines) == 2
        health = await app.http.get("/healthz")
        assert health.status_code == 503
        assert "5 webhooks spooled, waiting for the database" in health.json()["reason"]
        clock.advance(timedelta(hours=2))  # the replay comes later: the messages keep their own time

        proxy.restore()

        async def recovered() -> bool:
            health = await app.http.get("/healthz")
            return health.status_code == 200 and not spooled_lines(spool) and len(await postgres.cards()) == 2

        await eventually(recovered, timeout=15)
        ours, new = sorted(await postgres.cards(), key=lambda c: c.id)
        assert (ours.id, ours.reply_status, ours.last_inbound_at) == (card.id, "delivered", wrote_at)
        assert (new.caller_number, new.summary, new.created_at) == (
            NEWCOMER,
            "Buenas, quería pedir cita",
            wrote_at,
        )
        inbound = await _messages(postgres, "in")
        assert sorted((m.card_id, m.body) for m in inbound) == [
            (ours.id, "Hola, ¿abren el sábado?"),
            (ours.id, "¿Y el domingo?"),
            (new.id, "Buenas, quería pedir cita"),
        ]
        [reply] = await _messages(postgres, "out")
        assert (reply.status, reply.updated_at) == ("delivered", wrote_at)
        thread = await _ts(postgres)
        await slack.wait_for(
            "chat.postMessage", thread_ts=thread, text="El cliente escribe: «¿Y el domingo?»"
        )
        await slack.wait_for("chat.postMessage", thread_ts=thread, text="Respuesta entregada al cliente.")
        await eventually(lambda: _card_posts(slack, 2), timeout=10)
        counts = await _settled_counts(postgres)

        # The same lines replayed again (a process died after replaying them, before removing its
        # file): nothing changes.
        (spool / "00000000000000000001-elsewhere-1.jsonl").write_text("\n".join(lines) + "\n")
        await eventually(lambda: _no_spool(spool), timeout=10)
        await asyncio.sleep(0.5)
        assert await _counts(postgres) == counts
        assert len(await postgres.cards()) == 2 and await _card_posts(slack, 2)
        assert len(twilio_rest.of("sms")) == 1
        assert not (spool / "failed.txt").exists()


async def test_a_message_that_can_be_spooled_nowhere_is_refused_with_503(
    postgres: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio, tmp_path: Path
) -> None:
    """Twilio then tries the number's fallback URL, and its debugger shows the error."""
    spool = tmp_path / "spool"
    spool.write_text("a file where the spool directory should be\n")
    async with (
        TcpProxy(postgres_port(postgres)) as proxy,
        _app(through(postgres, proxy), clock, slack, twilio_rest, spool) as app,
    ):
        proxy.cut()
        answer = await app.twilio_post("/twilio/messaging", _message("Hola"))
        assert answer.status_code == 503 and "spool" in answer.json()["detail"]
        status = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent", "AccountSid": ACCOUNT_SID}
        refused = await app.twilio_post("/twilio/messaging/status?message=1", status)
        assert refused.status_code == 503
        proxy.restore()
        await eventually(lambda: _healthy(app), timeout=15)
        assert await postgres.count("message") == 0 and await postgres.count("card") == 0


async def test_a_process_killed_during_an_outage_leaves_its_messages_to_the_next_start(
    postgres: Database, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    async with TcpProxy(postgres_port(postgres)) as proxy, httpx.AsyncClient(timeout=15) as http:
        first, second = (serve_through(postgres, proxy, spool, tmp_path) for _ in range(2))
        try:
            await first.start(http, until="healthy")
            proxy.cut()
            forms = [_message(text) for text in ("Hola, quería pedir cita", "Mejor por la tarde")]
            forms.append(_message("Buenas", sender=NEWCOMER))
            for form in forms:
                answer = await first.post(http, "/twilio/messaging", form)
                assert (answer.status_code, answer.text) == (200, EMPTY)
            assert len(spooled_lines(spool)) == 3
            first.kill()
            proxy.restore()
            assert await postgres.count("message") == 0

            await second.start(http, until="healthy")

            async def replayed() -> bool:
                return not spooled_lines(spool) and await postgres.count("message") == 3

            await eventually(replayed, timeout=20)
            cards = {c.caller_number: c for c in await postgres.cards()}
            assert sorted(cards) == sorted([CUSTOMER, NEWCOMER])
            assert (cards[CUSTOMER].source, cards[NEWCOMER].source) == ("whatsapp", "sms")
            inbound = await _messages(postgres, "in")
            assert sorted((m.customer, m.card_id) for m in inbound) == sorted(
                [(CUSTOMER, cards[CUSTOMER].id)] * 2 + [(NEWCOMER, cards[NEWCOMER].id)]
            )
            assert {m.sid for m in inbound} == {form["MessageSid"] for form in forms}
            assert (await http.get(f"{second.url}/healthz")).status_code == 200
        finally:
            first.stop()
            second.stop()


async def _counts(db: Database) -> list[int]:
    return [await db.count(table) for table in ("outboxmessage", "auditevent", "message")]


async def _settled_counts(db: Database) -> list[int]:
    """The rows once the sweeps have caught up: the clock moved two hours, so the escalations that
    fell due meanwhile are written by the next beats, not by the replay."""

    async def unchanged() -> list[int] | None:
        before = await _counts(db)
        await asyncio.sleep(0.6)  # several beats and delivery rounds
        await outbox_settled(db)
        return before if await _counts(db) == before else None

    settled: list[int] = await eventually(unchanged)
    return settled


async def _card_posts(slack: FakeSlack, count: int) -> bool:
    posts = [
        c
        for c in slack.of("chat.postMessage")
        if c.args["channel"] == "C0RECEP" and "thread_ts" not in c.args
    ]
    return len(posts) == count


async def _no_spool(spool: Path) -> bool:
    return not spooled_lines(spool)


async def _healthy(app: Centralita) -> bool:
    return (await app.http.get("/healthz")).status_code == 200
