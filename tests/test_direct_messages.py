"""Direct messages are small cards: an escalation DM carries Claim, a callback reminder Call now
and Done, and a click on them in Slack acts on the card like the card's own buttons."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bot.services.handling import Requester
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.support import Centralita, Database, FakeClock, eventually

URGENT = "Soy María Ruiz, es urgente, me duele mucho"


def _buttons(dm: SlackCall) -> dict[str, dict[str, Any]]:
    blocks = dm.args["blocks"]
    actions = [b for b in blocks if b["type"] == "actions"]
    return {e["action_id"]: {**e, "block_id": actions[0]["block_id"]} for a in actions for e in a["elements"]}


def _clicked(button: dict[str, Any]) -> dict[str, Any]:
    return {**button, "action_ts": str(time.time())}


async def test_an_escalation_dm_has_a_claim_button_that_claims_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", URGENT)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        [card] = await db.cards()
        clock.advance(timedelta(minutes=2, seconds=1))
        [dm] = await slack.wait_for("chat.postMessage", channel="U0LUIS")
        assert dm.args["text"].startswith("Tarjeta sin reclamar:")  # the notification's text, as before
        buttons = _buttons(dm)
        assert list(buttons) == ["claim"] and buttons["claim"]["value"] == str(card.id)
        assert buttons["claim"]["text"]["text"] == "Reclamar"

        answer = await app.click(_clicked(buttons["claim"]), "U0LUIS", channel="D0LUIS")
        assert answer.status_code == 200

        async def claimed() -> bool:
            [now] = await db.cards()
            return now.claimed_by == "luis"

        await eventually(claimed)


async def test_a_dm_about_a_card_claimed_meanwhile_offers_no_claim(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", "Hola, soy Pedro Gómez, quería pedir cita")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        [card] = await db.cards()
        handling = app.app.state.services.handling
        assert (await handling.reassign(card.id, Requester("slack", "U0ANA"), "U0LUIS")).ok
        [dm] = await slack.wait_for("chat.postMessage", channel="U0LUIS")
        assert dm.args["text"].startswith("Ana García te ha asignado una tarjeta:")
        assert "blocks" not in dm.args  # nothing to do from it: the card is Luis's already


async def test_a_callback_reminder_has_call_now_and_done_and_done_closes_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", "Hola, soy Pedro Gómez, quería pedir cita")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        [card] = await db.cards()
        handling = app.app.state.services.handling
        due = clock.now() + timedelta(hours=1)
        assert (
            await handling.schedule_callback(card.id, Requester("slack", "U0ANA"), due, None, "presupuesto")
        ).ok
        clock.advance(timedelta(hours=1, seconds=1))
        [dm] = await slack.wait_for("chat.postMessage", channel="U0ANA")
        assert dm.args["text"].startswith("Es hora de devolver la llamada: Pedro Gómez. presupuesto")
        buttons = _buttons(dm)
        assert [(k, b["text"]["text"]) for k, b in buttons.items()] == [
            ("call_now", "Llamar ahora"),
            ("reschedule_callback", "Reprogramar"),
            ("callback_done", "Hecho"),
        ]

        await app.click(_clicked(buttons["callback_done"]), "U0ANA", channel="D0ANA")

        async def resolved() -> bool:
            [now] = await db.cards()
            return now.status == "resolved" and now.outcome == "called_back"

        await eventually(resolved)
