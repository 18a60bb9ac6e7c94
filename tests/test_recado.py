"""Reception's /recado: free text or a modal becomes a card for the person or team it names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text

from bot.store.db import create_engine
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock

FREE_TEXT = "Juan Pérez +34 600 111 222 para Ana urgente: quiere presupuesto"


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _modal_values(phone: str, reason: str = "Quiere cambiar la cita del jueves") -> dict[str, Any]:
    return {
        "name": {"name": {"type": "plain_text_input", "value": "Carmen Ruiz"}},
        "phone": {"phone": {"type": "plain_text_input", "value": phone}},
        "to": {
            "to": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Luis Martín"},
                    "value": "person:luis",
                },
            }
        },
        "urgent": {
            "urgent": {
                "type": "checkboxes",
                "selected_options": [{"text": {"type": "plain_text", "text": "Urgente"}, "value": "urgent"}],
            }
        },
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


async def _nothing_stored(db: Database) -> None:
    assert await db.count("card") == 0
    assert await db.count("outboxmessage") == 0
    assert await db.count("auditevent") == 0


async def test_free_text_recado_becomes_an_urgent_card_for_ana(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        response = await app.command(FREE_TEXT, "U0ROCIO")
        assert response.status_code == 200 and response.text == ""

        [answer] = await slack.wait_for("response_url")
        assert (answer.args["path"], answer.args["text"]) == ("cmd-1", "Recado publicado para Ana García.")
        assert answer.args["response_type"] == "ephemeral"
        [card] = await db.cards()
        assert (card.source, card.priority, card.caller_number, card.caller_name) == (
            "recado",
            "urgent",
            "+34600111222",
            "Juan Pérez",
        )
        assert (card.addressee_id, card.created_by, card.team_id, card.summary) == (
            "ana",
            "rocio",
            "recepcion",
            "quiere presupuesto",
        )
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        blocks = _text(post.args["blocks"])
        assert "Recado tomado por*\\nRocío Díaz" in blocks
        assert "Urgente" in blocks and "quiere presupuesto" in blocks and "Ana García" in blocks

        [dm] = await slack.wait_for("chat.postMessage", channel="U0ANA")
        assert dm.args["text"].startswith("Tienes un recado:") and "Juan Pérez" in dm.args["text"]
        [created] = await db.audit("created")
        assert created.actor == "rocio" and created.data["source"] == "recado"


async def test_recado_without_text_opens_a_modal_whose_submission_makes_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        response = await app.command("", "U0ROCIO")
        assert response.status_code == 200 and response.text == ""

        [opened] = await slack.wait_for("views.open")
        view = opened.args["view"]
        assert view["callback_id"] == "recado_modal"
        assert opened.args["trigger_id"].startswith("trigger-")
        assert [b["block_id"] for b in view["blocks"]] == ["name", "phone", "to", "urgent", "reason"]
        assert await db.count("card") == 0

        submitted = await app.submit(
            "recado_modal", "U0ROCIO", _modal_values("600 555 666"), view["private_metadata"]
        )
        assert submitted.status_code == 200 and "errors" not in submitted.text

        [answer] = await slack.wait_for("response_url")
        assert (answer.args["path"], answer.args["text"]) == ("cmd-1", "Recado publicado para Luis Martín.")
        assert slack.of("chat.postEphemeral") == []  # it works where the app is not in the channel
        [card] = await db.cards()
        assert (card.caller_name, card.caller_number, card.addressee_id, card.priority, card.created_by) == (
            "Carmen Ruiz",
            "+34600555666",
            "luis",
            "urgent",
            "rocio",
        )
        assert card.summary == "Quiere cambiar la cita del jueves"
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "Carmen Ruiz" in _text(post.args["blocks"])
        await slack.wait_for("chat.postMessage", channel="U0LUIS")


async def test_a_modal_with_a_bad_phone_is_sent_back_with_errors(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        metadata = json.dumps({"card": None, "channel": "C0RECEP"})
        submitted = await app.submit("recado_modal", "U0ROCIO", _modal_values("12 no es un número"), metadata)
        assert submitted.status_code == 200
        body = submitted.json()
        assert body["response_action"] == "errors"
        assert body["errors"] == {"phone": "No es un número de teléfono válido."}

        empty = await app.submit("recado_modal", "U0ROCIO", _modal_values("600 555 666", reason=""), metadata)
        assert empty.json() == {
            "response_action": "errors",
            "errors": {"reason": "Este campo es obligatorio."},
        }

        await asyncio.sleep(0.3)
        await _nothing_stored(db)
        assert slack.of("chat.postMessage") == [] and slack.of("chat.postEphemeral") == []


async def test_only_reception_may_post_a_recado(db: Database, slack: FakeSlack, clock: FakeClock) -> None:
    async with Centralita(db, clock, slack.url) as app:
        response = await app.command(FREE_TEXT, "U0ANA")
        assert response.status_code == 200
        assert response.text == "Solo recepción puede publicar recados con /recado."

        no_modal = await app.command("", "U0ANA")
        assert no_modal.text == "Solo recepción puede publicar recados con /recado."

        stranger = await app.command(FREE_TEXT, "U0STRANGER")
        assert "no está configurado como personal de Clínica Dental Sonrisa" in stranger.text

        await asyncio.sleep(0.3)
        await _nothing_stored(db)
        assert slack.of("views.open") == [] and slack.of("chat.postMessage") == []


@asynccontextmanager
async def _card_writes_held(db: Database) -> AsyncIterator[None]:
    """No card can be written while this holds (SQLite: the write lock; PostgreSQL: the table)."""
    engine = create_engine(db.url, connect_args=db.connect_args)
    try:
        async with engine.begin() as connection:
            hold = (
                "LOCK TABLE card IN EXCLUSIVE MODE" if db.name == "postgres" else "DELETE FROM card WHERE 0"
            )
            await connection.execute(text(hold))
            yield
    finally:
        await engine.dispose()


async def test_a_recado_is_acknowledged_before_its_card_is_written(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        async with _card_writes_held(db):
            response = await app.command(FREE_TEXT, "U0ROCIO")
            # Answered while no card can be written; the confirmation waits for the card.
            assert response.status_code == 200 and response.text == ""
            assert slack.of("response_url") == []
        [answer] = await slack.wait_for("response_url")
        assert answer.args["text"] == "Recado publicado para Ana García."
        assert len(await db.cards()) == 1


async def test_an_expired_response_url_falls_back_to_an_ephemeral_message(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.expire_hooks = True
    async with Centralita(db, clock, slack.url) as app:
        await app.command(FREE_TEXT, "U0ROCIO")
        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0ROCIO")
        assert (ephemeral.args["channel"], ephemeral.args["text"]) == (
            "C0RECEP",
            "Recado publicado para Ana García.",
        )


async def test_slack_mentions_name_the_addressee(db: Database, slack: FakeSlack, clock: FakeClock) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.command("Carmen 600555666 <@U0LUIS|luis>: cambiar la cita", "U0ROCIO")
        await app.command("Pepe 600777888 <#C0VENTAS|ventas>: presupuesto", "U0ROCIO")
        await slack.wait_for("response_url", count=2)
        # Both commands are acknowledged before their cards are written: either may be written first.
        by_summary = {card.summary: card for card in await db.cards()}
        assert by_summary["cambiar la cita"].addressee_id == "luis"
        second = by_summary["presupuesto"]
        assert (second.team_id, second.addressee_id) == ("ventas", None)
