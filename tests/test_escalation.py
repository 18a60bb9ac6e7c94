"""Cards nobody claims escalate on time, exactly once per step, across restarts and workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store.models import Card
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, button, eventually

URGENT = "Soy María Ruiz, es urgente, me duele mucho"


async def _urgent_card(app: Centralita, slack: FakeSlack) -> Card:
    await app.call("+34600111222", URGENT)
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    [card] = await app.db.cards()
    assert card.priority == "urgent" and card.escalate_at is not None
    return card


async def _no_more(slack: FakeSlack, method: str, expected: int, **match: object) -> None:
    """After the heartbeat has had several chances, still exactly ``expected`` matching calls."""
    await asyncio.sleep(0.6)
    found = [c for c in slack.of(method) if all(c.args.get(k) == v for k, v in match.items())]
    assert len(found) == expected, [c.args for c in found]


async def test_an_unclaimed_urgent_card_escalates_on_time_and_stops_after_a_claim(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card = await _urgent_card(app, slack)
        clock.advance(timedelta(minutes=1, seconds=59))
        await _no_more(slack, "chat.postMessage", 0, channel="U0LUIS")

        clock.advance(timedelta(seconds=2))
        [dm] = await slack.wait_for("chat.postMessage", channel="U0LUIS", timeout=2)
        assert (
            "María Ruiz" in dm.args["text"]
            and "https://clinica.slack.com/archives/C0RECEP/" in dm.args["text"]
        )
        updates = await slack.wait_for("chat.update", timeout=2)
        assert "Escalada a Luis Martín" in str(updates[-1].args["blocks"])
        [event] = await db.audit("escalated")
        assert event.data["level"] == 1 and event.data["to"] == ["luis"]
        assert card.escalate_at is not None and event.data["due_at"] == card.escalate_at.isoformat()
        assert event.data["fired_at"] == clock.now().isoformat()

        await app.claim(card.id, "U0ANA")
        await slack.wait_for("chat.update", count=2)
        clock.advance(timedelta(minutes=30))
        await _no_more(slack, "chat.postMessage", 0, channel="U0MARTA")
        assert len(await db.audit("escalated")) == 1


async def test_a_restart_neither_loses_nor_repeats_an_escalation(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await _urgent_card(app, slack)
        clock.advance(timedelta(minutes=2, seconds=1))
        await slack.wait_for("chat.postMessage", channel="U0LUIS", timeout=2)

    clock.advance(timedelta(minutes=3))  # the second step fell due while the server was down
    async with Centralita(db, clock, slack.url):
        [dm] = await slack.wait_for("chat.postMessage", channel="U0MARTA", timeout=3)
        assert "María Ruiz" in dm.args["text"]
        await _no_more(slack, "chat.postMessage", 1, channel="U0LUIS")
    levels = [e.data["level"] for e in await db.audit("escalated")]
    assert levels == [1, 2]
    await _no_more(slack, "chat.postMessage", 1, channel="U0MARTA")


async def test_two_workers_on_one_database_escalate_each_card_once(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as first, Centralita(db, clock, slack.url) as second:
        for n in range(10):
            await (first if n % 2 else second).call(f"+3460011120{n}", URGENT)
        await slack.wait_for("chat.postMessage", count=10, channel="C0RECEP")
        clock.advance(timedelta(minutes=2, seconds=1))
        await slack.wait_for("chat.postMessage", count=10, channel="U0LUIS", timeout=5)
        clock.advance(timedelta(minutes=3))
        await slack.wait_for("chat.postMessage", count=10, channel="U0MARTA", timeout=5)
        await _no_more(slack, "chat.postMessage", 10, channel="U0LUIS")
        await _no_more(slack, "chat.postMessage", 10, channel="U0MARTA")
    events = await db.audit("escalated")
    assert sorted((e.card_id, e.data["level"]) for e in events) == sorted(
        (card_id, level) for card_id in range(1, 11) for level in (1, 2)
    )


async def test_office_time_only_priorities_wait_for_opening_hours(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    clock.advance(timedelta(hours=9, minutes=50))  # Tuesday 19:50; the clinic closes at 20:00
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", "Quería información general")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        [card] = await db.cards()
        assert card.priority == "normal"
        # 30 minutes of office time: 10 before closing, 20 after opening at 08:00 → 08:20 Madrid = 07:20 UTC
        assert card.escalate_at is not None and card.escalate_at.isoformat() == "2026-11-25T07:20:00+00:00"
        clock.advance(timedelta(hours=1))
        await _no_more(slack, "chat.postMessage", 1)
        assert len(await db.audit("escalated")) == 0


async def test_a_card_released_after_escalating_escalates_again_and_blocks_no_other_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card = await _urgent_card(app, slack)
        clock.advance(timedelta(minutes=2, seconds=1))
        await slack.wait_for("chat.postMessage", channel="U0LUIS", timeout=2)

        await app.claim(card.id, "U0ANA")
        await app.click(button("release", card.id), "U0ANA")

        async def reopened() -> bool:
            [again] = await db.cards()
            return again.status == "open" and again.escalation_level == 0

        await eventually(reopened)
        await app.call("+34600333444", "Soy Pablo Sanz, es urgente")  # due in the same sweep
        await slack.wait_for("chat.postMessage", count=2, channel="C0RECEP")
        clock.advance(timedelta(minutes=2, seconds=1))
        dms = await slack.wait_for("chat.postMessage", count=3, channel="U0LUIS", timeout=3)
        assert sum("María Ruiz" in dm.args["text"] for dm in dms) == 2
        assert sum("Pablo Sanz" in dm.args["text"] for dm in dms) == 1
        await _no_more(slack, "chat.postMessage", 3, channel="U0LUIS")
    escalated = sorted((e.card_id, e.data["level"]) for e in await db.audit("escalated"))
    assert escalated == [(1, 1), (1, 1), (2, 1)]
