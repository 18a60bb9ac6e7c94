"""Staff handle cards from Slack: release, resolve, reassign, notes, callbacks, and claim races."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from bot.store.models import Callback, Card
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.support import (
    Centralita,
    Database,
    FakeClock,
    button,
    click_with_trigger,
    eventually,
)

STAFF_SLACK = {"ana": "U0ANA", "luis": "U0LUIS", "marta": "U0MARTA", "rocio": "U0ROCIO"}
STAFF_NAME = {"ana": "Ana García", "luis": "Luis Martín", "marta": "Marta López", "rocio": "Rocío Díaz"}


def _text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _card_posts(slack: FakeSlack) -> list[SlackCall]:
    """The card messages themselves (not thread replies, not DMs)."""
    return [c for c in slack.of("chat.postMessage") if "blocks" in c.args and "thread_ts" not in c.args]


async def _open_card(app: Centralita, slack: FakeSlack, db: Database, say: str) -> tuple[Card, str]:
    """A call that becomes a general card in #recepción; the card row and the posted message's ts."""
    await app.call("+34600111222", say)
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    [card] = await db.cards()
    assert card.status == "open"
    ts = await _posted_ts(db, card.id)
    return card, ts


async def _posted_ts(db: Database, card_id: int | None) -> str:
    from bot.store.models import CardPost

    async def ref() -> str | None:
        rows = await db.query(select(CardPost).where(CardPost.card_id == card_id))
        return rows[0].external_ref.partition(":")[2] if rows and rows[0].external_ref else None

    ts: str = await eventually(ref)
    return ts


async def _card(db: Database) -> Card:
    [card] = await db.cards()
    return card


async def _callbacks(db: Database) -> list[Callback]:
    return await db.query(select(Callback).order_by(Callback.id))


def _callback_values(when: datetime) -> dict[str, Any]:
    """The callback modal's fields: ``when``, for Ana, with a note."""
    return {
        "when": {"when": {"type": "datetimepicker", "selected_date_time": int(when.timestamp())}},
        "assignee": {"assignee": {"type": "users_select", "selected_user": "U0ANA"}},
        "note": {"note": {"type": "plain_text_input", "value": "Confirmar la cita"}},
    }


def _select_outcome(card_id: int, outcome: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "resolve",
        "block_id": f"card-{card_id}-r1-actions",
        "selected_option": {"text": {"type": "plain_text", "text": outcome}, "value": f"{card_id}:{outcome}"},
        "action_ts": str(time.time()),
    }


def _select_user(card: Card, user: str) -> dict[str, Any]:
    return {
        "type": "users_select",
        "action_id": "reassign",
        "block_id": f"card-{card.id}-r{card.version}-actions",
        "selected_user": user,
        "action_ts": str(time.time()),
    }


async def test_release_reopens_the_card_and_restarts_its_escalation_clock(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")
        first_deadline = card.claim_deadline
        assert first_deadline is not None

        await app.claim(card.id, "U0ANA")
        await slack.wait_for("chat.update", ts=ts)
        clock.advance(timedelta(minutes=10))

        not_theirs = await app.click(button("release", card.id), "U0LUIS")
        assert not_theirs.status_code == 200
        [refused] = await slack.wait_for("chat.postEphemeral", user="U0LUIS")
        assert refused.args["text"] == "Solo Ana García, que la tiene reclamada, puede liberarla."
        assert (await _card(db)).claimed_by == "ana"

        response = await app.click(button("release", card.id), "U0ANA")
        assert response.status_code == 200

        [_, update] = await slack.wait_for("chat.update", count=2, ts=ts)
        assert "Pendiente: nadie la ha reclamado" in _text(update.args["blocks"])
        assert _action_ids(update.args["blocks"])[0] == "claim"
        await slack.wait_for("chat.postMessage", thread_ts=ts, text="Ana García ha liberado la tarjeta.")

        card = await _card(db)
        assert (card.status, card.claimed_by, card.escalation_level) == ("open", None, 0)
        assert card.escalation_started_at == clock.now()
        assert card.claim_deadline == clock.now() + timedelta(minutes=30) > first_deadline
        assert card.escalate_at == card.claim_deadline
        assert [e.actor for e in await db.audit("released")] == ["ana"]

        # Past the old deadline nothing escalates; past the new one the first step fires.
        clock.current = first_deadline + timedelta(minutes=5)
        await asyncio.sleep(0.4)  # a few heartbeats (every 0.1 s)
        assert (await _card(db)).escalation_level == 0
        clock.current = card.claim_deadline + timedelta(seconds=1)

        async def escalated() -> bool:
            return (await _card(db)).escalation_level == 1

        await eventually(escalated)


async def _close_with(
    app: Centralita, slack: FakeSlack, card_id: int, user: str, picked: str, submitted: str, note: str = ""
) -> dict[str, Any]:
    """Pick an outcome on the card, then submit the closing modal; the modal as Slack got it."""
    response, trigger = await click_with_trigger(app, _select_outcome(card_id, picked), user)
    assert response.status_code == 200
    [opened] = await slack.wait_for("views.open", trigger_id=trigger)
    view: dict[str, Any] = opened.args["view"]
    values = {
        "outcome": {"outcome": {"type": "static_select", "selected_option": {"value": submitted}}},
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }
    answer = await app.submit("resolve_modal", user, values, view["private_metadata"])
    assert answer.status_code == 200 and "errors" not in answer.text
    return view


async def test_resolve_asks_for_the_outcome_and_an_optional_note_then_closes_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")

        view = await _close_with(
            app, slack, card.id, "U0ANA", "called_back", "called_back", " Cita el jueves "
        )
        assert view["callback_id"] == "resolve_modal"
        [outcome_block] = [b for b in view["blocks"] if b["block_id"] == "outcome"]
        assert outcome_block["element"]["initial_option"]["value"] == "called_back"
        assert len(outcome_block["element"]["options"]) == 5

        [update] = await slack.wait_for("chat.update", ts=ts)
        blocks = update.args["blocks"]
        assert [b for b in blocks if b["type"] == "actions"] == []
        assert "Cerrada por Ana García: Llamada devuelta" in _text(blocks)
        await slack.wait_for(
            "chat.postMessage",
            thread_ts=ts,
            text="Ana García la ha cerrado: Llamada devuelta. Nota: Cita el jueves",
        )
        [event] = await db.audit("resolved")
        assert event.data == {"outcome": "called_back", "note": "Cita el jueves"}

        await _close_with(app, slack, card.id, "U0LUIS", "spam", "spam")
        [refused] = await slack.wait_for("chat.postEphemeral", user="U0LUIS")
        assert "ya no está disponible" in refused.args["text"]
        card = await _card(db)
        assert (card.status, card.outcome, card.claimed_by) == ("resolved", "called_back", "ana")
        assert card.resolved_at == clock.now() and card.escalate_at is None


async def test_the_closing_modal_refuses_a_missing_outcome_and_changes_nothing(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, _ = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")
        metadata = json.dumps({"card": card.id, "channel": "C0RECEP"})
        values = {"outcome": {"outcome": {"type": "static_select", "selected_option": None}}}
        answer = await app.submit("resolve_modal", "U0ANA", values, metadata)
        assert answer.status_code == 200
        assert answer.json() == {"response_action": "errors", "errors": {"outcome": "Elige un resultado."}}
        await asyncio.sleep(0.2)
        assert (await _card(db)).status == "open" and await db.audit("resolved") == []


async def test_reassign_gives_the_card_to_the_selected_person_and_tells_them(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")

        stranger = await app.click(_select_user(card, "U0STRANGER"), "U0ANA")
        assert stranger.status_code == 200
        [refused] = await slack.wait_for("chat.postEphemeral", user="U0ANA")
        assert refused.args["text"] == "No encuentro a esa persona entre el personal configurado."
        unchanged = await _card(db)
        assert (unchanged.status, unchanged.version) == ("open", 1)

        response = await app.click(_select_user(card, "U0LUIS"), "U0ANA")
        assert response.status_code == 200

        [dm] = await slack.wait_for("chat.postMessage", channel="U0LUIS")
        assert "Ana García te ha asignado una tarjeta" in dm.args["text"] and "Pedro Gómez" in dm.args["text"]
        [update] = await slack.wait_for("chat.update", ts=ts)
        assert "Reclamada por Luis Martín" in _text(update.args["blocks"])
        card = await _card(db)
        assert (card.status, card.claimed_by) == ("claimed", "luis")
        [event] = await db.audit("reassigned")
        assert (event.actor, event.data) == ("ana", {"to": "luis"})


async def test_add_note_opens_a_modal_and_the_note_goes_into_the_thread(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")

        response, trigger = await click_with_trigger(app, button("add_note", card.id), "U0ANA")
        assert response.status_code == 200
        [opened] = await slack.wait_for("views.open", trigger_id=trigger)
        view = opened.args["view"]
        assert view["callback_id"] == "add_note_modal" and view["type"] == "modal"

        values = {
            "note": {"note": {"type": "plain_text_input", "value": "  Prefiere que le llamen por la tarde "}}
        }
        submitted = await app.submit("add_note_modal", "U0ANA", values, view["private_metadata"])
        assert submitted.status_code == 200

        expected = "Nota de Ana García: Prefiere que le llamen por la tarde"
        await slack.wait_for("chat.postMessage", thread_ts=ts, text=expected)
        [event] = await db.audit("note")
        assert event.data == {"note": "Prefiere que le llamen por la tarde"}
        assert (await _card(db)).status == "open"


async def test_schedule_callback_refuses_the_past_then_reminds_the_assignee_once(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")

        response, trigger = await click_with_trigger(app, button("schedule_callback", card.id), "U0LUIS")
        assert response.status_code == 200
        [opened] = await slack.wait_for("views.open", trigger_id=trigger)
        view = opened.args["view"]
        assert view["callback_id"] == "schedule_callback_modal"
        metadata = view["private_metadata"]

        past = await app.submit(
            "schedule_callback_modal", "U0LUIS", _callback_values(clock.now() - timedelta(hours=1)), metadata
        )
        assert past.status_code == 200
        body = past.json()
        assert body["response_action"] == "errors" and "ya ha pasado" in body["errors"]["when"]
        assert await _callbacks(db) == [] and (await _card(db)).status == "open"

        due = (clock.now() + timedelta(hours=2)).replace(microsecond=0)
        future = await app.submit("schedule_callback_modal", "U0LUIS", _callback_values(due), metadata)
        assert future.status_code == 200 and "errors" not in future.text
        [update] = await slack.wait_for("chat.update", ts=ts)
        assert "Devolución programada: Ana García, hoy 12:00" in _text(update.args["blocks"])

        card = await _card(db)
        assert (card.status, card.claimed_by, card.callback_at) == ("callback", "ana", due.astimezone(UTC))
        [callback] = await _callbacks(db)
        assert (
            callback.assignee_id,
            callback.due_at,
            callback.status,
            callback.note,
            callback.created_by,
        ) == (
            "ana",
            due.astimezone(UTC),
            "scheduled",
            "Confirmar la cita",
            "luis",
        )

        clock.advance(timedelta(hours=1))
        await asyncio.sleep(0.3)  # a few heartbeats: not due yet
        assert slack.of("chat.postMessage") and not [
            c for c in slack.of("chat.postMessage") if c.args["channel"] == "U0ANA"
        ]

        clock.current = due + timedelta(minutes=1)
        [reminder] = await slack.wait_for("chat.postMessage", channel="U0ANA")
        assert "devolver la llamada: Pedro Gómez" in reminder.args["text"]
        assert "Confirmar la cita" in reminder.args["text"]
        await asyncio.sleep(0.5)  # several more heartbeats
        assert len([c for c in slack.of("chat.postMessage") if c.args["channel"] == "U0ANA"]) == 1
        [callback] = await _callbacks(db)
        assert callback.status == "reminded"
        assert len(await db.audit("callback_due")) == 1


async def test_someone_who_is_not_staff_cannot_claim(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, _ = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")

        response = await app.claim(card.id, "U0STRANGER")
        assert response.status_code == 200

        [ephemeral] = await slack.wait_for("chat.postEphemeral", user="U0STRANGER")
        assert ephemeral.args["channel"] == "C0RECEP"
        assert "no está configurado como personal" in ephemeral.args["text"]
        card = await _card(db)
        assert (card.status, card.claimed_by, card.version) == ("open", None, 1)
        assert await db.audit("claimed") == []
        assert slack.of("chat.update") == []


async def test_a_claim_that_fails_after_its_acknowledgement_is_reported_to_the_clicker(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    """Slack got its 200 before the claim ran; if the claim then fails (here the database lost a
    table), the person is told so instead of believing the card is theirs."""
    async with Centralita(db, clock, slack.url) as app:
        card, _ = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")
        await db.run("DROP TABLE auditevent")

        response = await app.claim(card.id, STAFF_SLACK["ana"])
        assert response.status_code == 200
        [notice] = await slack.wait_for("chat.postEphemeral")
        assert notice.args["user"] == STAFF_SLACK["ana"]
        assert notice.args["text"].startswith("No se ha podido completar la acción")
        card = await _card(db)
        assert (card.status, card.claimed_by) == ("open", None)


async def test_ten_simultaneous_claims_make_exactly_one_winner(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")
        users = [list(STAFF_SLACK.values())[i % 4] for i in range(10)]

        responses = await asyncio.gather(*(app.claim(card.id, user) for user in users))
        assert [r.status_code for r in responses] == [200] * 10

        ephemerals = await slack.wait_for("chat.postEphemeral", count=9)
        [claimed] = await db.audit("claimed")
        card = await _card(db)
        winner = claimed.actor
        assert (card.status, card.claimed_by) == ("claimed", winner)
        losers = Counter(users)
        losers[STAFF_SLACK[winner]] -= 1
        assert Counter(e.args["user"] for e in ephemerals) == +losers
        assert {e.args["text"] for e in ephemerals} == {f"Ya la ha reclamado {STAFF_NAME[winner]}."}

        [update] = await slack.wait_for("chat.update", ts=ts)
        assert f"Reclamada por {STAFF_NAME[winner]}" in _text(update.args["blocks"])
        await asyncio.sleep(0.2)
        assert len(slack.of("chat.postEphemeral")) == 9
        assert len(_card_posts(slack)) == 1


async def test_reassigning_a_card_with_a_callback_moves_the_reminder_to_the_new_assignee(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        card, ts = await _open_card(app, slack, db, "Hola, soy Pedro Gómez, quería una consulta")
        response, trigger = await click_with_trigger(app, button("schedule_callback", card.id), "U0ANA")
        assert response.status_code == 200
        [opened] = await slack.wait_for("views.open", trigger_id=trigger)
        due = (clock.now() + timedelta(hours=2)).replace(microsecond=0)
        submitted = await app.submit(
            "schedule_callback_modal", "U0ANA", _callback_values(due), opened.args["view"]["private_metadata"]
        )
        assert submitted.status_code == 200 and "errors" not in submitted.text
        await slack.wait_for("chat.update", ts=ts)

        card = await _card(db)
        assert (await app.click(_select_user(card, "U0LUIS"), "U0ANA")).status_code == 200
        await slack.wait_for("chat.postMessage", channel="U0LUIS")  # "Ana García te ha asignado…"
        card = await _card(db)
        assert (card.status, card.claimed_by) == ("callback", "luis")
        [callback] = await _callbacks(db)
        assert (callback.assignee_id, callback.status) == ("luis", "scheduled")

        clock.current = due + timedelta(minutes=1)
        [_, reminder] = await slack.wait_for("chat.postMessage", count=2, channel="U0LUIS")
        assert "devolver la llamada: Pedro Gómez" in reminder.args["text"]
        await asyncio.sleep(0.5)  # several more heartbeats
        assert not [c for c in slack.of("chat.postMessage") if c.args["channel"] == "U0ANA"]
        [event] = await db.audit("reassigned")
        assert event.data == {"to": "luis", "callbacks_moved": 1}
