"""An erasure reaches the customer's SMS and WhatsApp messages at Twilio: every stored MessageSid of
the number, inbound and outbound, has its body redacted (an update with ``Body=""``) and is deleted,
through the outbox (a Twilio outage is retried, a refusal given up and shown as dead)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from adapters.slack.parse import modal_context
from bot.app import Services
from bot.store.models import Message, OutboxMessage
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, eventually, outbox_settled

CUSTOMER = "+34600111222"


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, slack: FakeSlack, twilio_rest: FakeTwilio
) -> AsyncIterator[Centralita]:
    """A WhatsApp conversation: the customer wrote, staff answered from the card."""
    server = Centralita(
        db, clock, slack.url, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_API_BASE_URL=twilio_rest.url
    )
    async with server:
        form = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{CUSTOMER}",
            "To": f"whatsapp:{CLINIC_NUMBER}",
            "Body": "Hola, ¿abren el sábado? Soy Pedro Gómez",
            "NumMedia": "0",
            "ProfileName": "Pedro",
            "WaId": CUSTOMER.removeprefix("+"),
        }
        assert (await server.twilio_post("/twilio/messaging", form)).status_code == 200
        [card] = await eventually(db.cards)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        values = {"note": {"note": {"type": "plain_text_input", "value": "Sí, de 10 a 13"}}}
        answer = await server.submit(
            "reply_customer_modal", "U0ANA", values, modal_context(card.id, "C0RECEP")
        )
        assert answer.status_code == 200, answer.text
        await twilio_rest.wait_for("sms")
        await eventually(lambda: _sids(db, 2))
        await outbox_settled(db)
        yield server


async def _sids(db: Database, count: int) -> list[str]:
    sids = [m.sid for m in await db.query(select(Message)) if m.sid]
    return sids if len(sids) >= count else []


def _privacy(app: Centralita) -> Services:
    services: Services = app.app.state.services
    return services


async def test_an_erasure_redacts_and_deletes_every_message_of_the_number_at_twilio(
    app: Centralita, db: Database, twilio_rest: FakeTwilio
) -> None:
    sids = set(await _sids(db, 2))  # the customer's message and the staff's answer
    done = await _privacy(app).privacy.erase(CUSTOMER, "cli")
    assert done.cards == 1 and done.messages >= 2
    redacted = await twilio_rest.wait_for("redact", count=2)
    assert {r.call_sid for r in redacted} == sids and all(r.form == {"Body": ""} for r in redacted)
    deleted = await twilio_rest.wait_for("delete", count=2)
    assert {r.call_sid for r in deleted} == sids
    rows = await outbox_settled(db)
    assert all(r.status == "sent" for r in rows if r.kind == "erase")
    assert await db.count("message") == 0 and await db.count("conversation") == 0


async def test_a_twilio_outage_during_the_redaction_is_retried_and_a_refusal_is_shown_dead(
    app: Centralita, db: Database, twilio_rest: FakeTwilio
) -> None:
    sids = set(await _sids(db, 2))
    twilio_rest.fail("redact", 503, times=1)
    await _privacy(app).privacy.erase(CUSTOMER, "cli")
    redacted = await twilio_rest.wait_for("redact", count=2, timeout=30)
    assert {r.call_sid for r in redacted} == sids  # the refused one went again
    assert len(twilio_rest.of("redact-refused")) == 1
    assert len(await twilio_rest.wait_for("delete", count=2, timeout=30)) == 2

    twilio_rest.fail("redact", 400, times=1, code=20404)
    await _forget_again(app, db)
    dead = await eventually(lambda: _erase_rows(db, "dead"), timeout=30)
    assert dead and "Twilio 400" in (dead[0].last_error or "")


async def _forget_again(app: Centralita, db: Database) -> None:
    """A second conversation of the same customer, erased while Twilio refuses its redaction."""
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": f"whatsapp:{CUSTOMER}",
        "To": f"whatsapp:{CLINIC_NUMBER}",
        "Body": "Otra vez yo",
        "NumMedia": "0",
        "WaId": CUSTOMER.removeprefix("+"),
    }
    assert (await app.twilio_post("/twilio/messaging", form)).status_code == 200
    await eventually(db.cards)
    await outbox_settled(db)
    await _privacy(app).privacy.erase(CUSTOMER, "cli")


async def _erase_rows(db: Database, status: str) -> list[OutboxMessage]:
    return [
        r for r in await db.outbox() if r.kind == "erase" and r.channel == "whatsapp" and r.status == status
    ]
