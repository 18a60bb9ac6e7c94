"""An organisation removed from the configuration: its cards and callbacks stay in the database,
are left alone (with a warning), and block nobody else's escalations or reminders."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.services.outbox import CARD, outbox_row, wall_now
from bot.store.models import Callback, CardPost, OutboxMessage
from tests.fakes.slack_api import FakeSlack
from tests.support import (
    FIXTURES,
    Centralita,
    Database,
    FakeClock,
    button,
    click_with_trigger,
    outbox_settled,
)


async def _card(app: Centralita, slack: FakeSlack, number: str, say: str) -> int:
    """A card from a call, posted in #recepción; its id."""
    await app.call(number, say)
    cards = await app.db.cards()
    await slack.wait_for("chat.postMessage", count=len(cards), channel="C0RECEP")
    return cards[-1].id or 0


async def _callback_for_ana(app: Centralita, slack: FakeSlack, card_id: int, due: datetime) -> None:
    response, trigger = await click_with_trigger(app, button("schedule_callback", card_id), "U0LUIS")
    assert response.status_code == 200
    [opened] = await slack.wait_for("views.open", trigger_id=trigger)
    values = {
        "when": {"when": {"type": "datetimepicker", "selected_date_time": int(due.timestamp())}},
        "assignee": {"assignee": {"type": "users_select", "selected_user": "U0ANA"}},
        "note": {"note": {"type": "plain_text_input", "value": ""}},
    }
    metadata = opened.args["view"]["private_metadata"]
    answer = await app.submit("schedule_callback_modal", "U0LUIS", values, metadata)
    assert answer.status_code == 200 and "errors" not in answer.text


async def _both(app: Centralita, slack: FakeSlack, urgent: str, callback: str, due: datetime) -> None:
    """An urgent card left open, and a card with a callback for Ana at ``due``."""
    await _card(app, slack, "+34600111222", f"Soy {urgent}, es urgente, me duele mucho")
    card_id = await _card(app, slack, "+34600333444", f"Hola, soy {callback}, quería una consulta")
    await _callback_for_ana(app, slack, card_id, due)
    await outbox_settled(app.db)


def _texts(slack: FakeSlack, channel: str) -> list[str]:
    return [c.args.get("text", "") for c in slack.of("chat.postMessage") if c.args["channel"] == channel]


async def test_the_rows_of_a_removed_organisation_are_left_alone_and_block_nobody(
    db: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    due = clock.now() + timedelta(minutes=1)
    async with Centralita(db, clock, slack.url) as app:  # the clinic as organisation "default"
        await _both(app, slack, "María Ruiz", "Juana Gil", due)

    renamed = tmp_path / "renamed.yaml"  # the same clinic, now configured as organisation "otra"
    text = (FIXTURES / "clinic.yaml").read_text(encoding="utf-8")
    renamed.write_text(text.replace("organization:\n", "organization:\n  id: otra\n"), encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="centralita")
    async with Centralita(db, clock, slack.url, config=str(renamed)) as app:
        await _both(app, slack, "Pablo Sanz", "Pedro Gómez", due)
        clock.advance(timedelta(minutes=2, seconds=1))  # both urgent cards and both callbacks are due

        await slack.wait_for("chat.postMessage", channel="U0LUIS", timeout=3)
        await slack.wait_for("chat.postMessage", channel="U0ANA", timeout=3)
        await outbox_settled(db)
    assert [("Pablo Sanz" in t, "María Ruiz" in t) for t in _texts(slack, "U0LUIS")] == [(True, False)]
    assert [("Pedro Gómez" in t, "Juana Gil" in t) for t in _texts(slack, "U0ANA")] == [(True, False)]

    cards = {card.caller_name: card for card in await db.cards()}
    assert (cards["María Ruiz"].org_id, cards["María Ruiz"].escalation_level) == ("default", 0)
    assert cards["Pablo Sanz"].escalation_level >= 1
    callbacks = await db.query(select(Callback).order_by(Callback.id))
    assert [(c.org_id, c.status) for c in callbacks] == [("default", "scheduled"), ("otra", "reminded")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        warnings.count("1 open card(s) of organisation 'default', no longer configured, will not escalate")
        == 1
    )
    assert (
        warnings.count("1 callback(s) of organisation 'default', no longer configured, will not be reminded")
        == 1
    )


async def test_a_pending_render_of_a_removed_organisations_card_is_given_up(
    db: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    """Its card cannot be rendered without its organisation: the row goes dead at once instead of
    being retried for ever."""
    async with Centralita(db, clock, slack.url) as app:
        card_id = await _card(app, slack, "+34600111222", "Hola, soy María Ruiz, quería una consulta")
        await outbox_settled(db)
    [post] = await db.query(select(CardPost).where(CardPost.card_id == card_id))
    render = outbox_row(
        org_id="default", card_id=card_id, channel="slack", kind=CARD, target=str(post.id), now=wall_now()
    )
    await db.add(OutboxMessage(**render))

    renamed = tmp_path / "renamed.yaml"
    text = (FIXTURES / "clinic.yaml").read_text(encoding="utf-8")
    renamed.write_text(text.replace("organization:\n", "organization:\n  id: otra\n"), encoding="utf-8")
    async with Centralita(db, clock, slack.url, config=str(renamed)):
        await outbox_settled(db)
    [render] = [r for r in await db.outbox() if r.card_id == card_id and r.status != "sent"]
    assert (render.status, render.attempts) == ("dead", 1)
    assert render.last_error == "organisation 'default' is no longer configured"
