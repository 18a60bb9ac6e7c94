"""WhatsApp's 24-hour window on the card stays true while the card sits in the channel: it names the
closing date and time, and the card is rendered again, once, when the window closes (then it says so
and that only the approved template can go), after a restart too."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import FakeTwilio
from tests.support import Database, FakeClock, eventually
from tests.test_messaging import _app, _only_card, _text, _write
from tests.test_slack_actions import _close_with

CLOSED = "ventana de 24 h cerrada: solo se puede enviar la plantilla aprobada"


def _updates_saying(slack: FakeSlack, text: str) -> int:
    return sum(text in _text(call) for call in slack.of("chat.update"))


async def _shown_closed(slack: FakeSlack) -> bool:
    return _updates_saying(slack, CLOSED) > 0


async def _closings(db: Database) -> int:
    """The sweep's re-renders of the card for its window (later renders, of other changes, say it
    is closed too)."""
    return len(await db.audit("window_closed"))


async def test_the_card_names_when_the_window_closes_and_says_so_once_it_has(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        await _write(app, "Hola, ¿tienen cita mañana?")
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "puede responder hasta el 25/11 a las 10:00" in _text(post)

        clock.advance(timedelta(hours=3))
        await _write(app, "¿Por la tarde?")  # the window opens again: it closes three hours later
        assert (await _only_card(db)).window_closes_at == clock.now() + timedelta(hours=24)
        await eventually(lambda: _shown_now(slack, "puede responder hasta el 25/11 a las 13:00"))

        clock.advance(timedelta(hours=22, minutes=30))  # the first window has closed, not this one
        await asyncio.sleep(1.5)  # three beats
        assert _updates_saying(slack, CLOSED) == 0

        clock.advance(timedelta(hours=1, minutes=30))  # 24 h after the second message
        await eventually(lambda: _shown_closed(slack))
        await asyncio.sleep(1.5)
        card = await _only_card(db)
        assert card.window_closes_at is None and await _closings(db) == 1, "rendered closed once"


async def test_a_window_that_closed_while_no_server_ran_is_rendered_closed_at_the_next_start(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        await _write(app, "Hola, ¿tienen cita mañana?")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
    clock.advance(timedelta(hours=30))
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml"):
        await eventually(lambda: _shown_closed(slack))
        await asyncio.sleep(1.5)
        assert await _closings(db) == 1


async def test_a_closed_card_is_not_rendered_again_for_its_window(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        await _write(app, "Hola, ¿tienen cita mañana?")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)
        await _close_with(app, slack, card.id, "U0ANA", "resolved", "resolved")
        await eventually(lambda: _resolved(db))
        await eventually(lambda: _shown_now(slack, "Cerrada por Ana García"))
        updates = len(slack.of("chat.update"))
        clock.advance(timedelta(hours=25))
        await eventually(lambda: _window_cleared(db))
        await asyncio.sleep(1)
        assert len(slack.of("chat.update")) == updates and await db.audit("window_closed") == []


async def _shown_now(slack: FakeSlack, text: str) -> bool:
    updates = slack.of("chat.update")
    return bool(updates) and text in _text(updates[-1])


async def _resolved(db: Database) -> bool:
    return (await _only_card(db)).status == "resolved"


async def _window_cleared(db: Database) -> bool:
    return (await _only_card(db)).window_closes_at is None
