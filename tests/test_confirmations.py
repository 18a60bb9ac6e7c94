"""Confirmations to callers and customers (``messaging.confirm``): "message taken" and "callback
scheduled", by SMS for a call (or WhatsApp when configured, with the approved template), on the
channel a customer wrote on, in their contact's language, and never to someone who opted out."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.config import load_config
from bot.store.models import Message
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio
from tests.support import (
    CLINIC_NUMBER,
    Centralita,
    Database,
    FakeClock,
    button,
    eventually,
    new_call_sid,
    outbox_settled,
)
from tests.test_callbacks_kept import _values
from tests.test_config import MINIMAL, issues_of, write
from tests.test_messaging import WHATSAPP_FROM, _write

JUAN = "+34911222333"
SARAH = "+447911123456"
TAKEN_ES = "Clínica Dental Sonrisa: hemos recibido su mensaje y le responderemos lo antes posible."
TAKEN_EN = "Clínica Dental Sonrisa: we have received your message and will answer as soon as we can."
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1"


def _app(db: Database, clock: FakeClock, slack: FakeSlack, twilio: FakeTwilio, config: str) -> Centralita:
    return Centralita(
        db, clock, slack.url, config=config, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_API_BASE_URL=twilio.url
    )


async def _schedule(app: Centralita, slack: FakeSlack, card_id: int, due: datetime, *, tell: bool) -> None:
    await app.click(button("schedule_callback", card_id), "U0ANA")
    opened = await slack.wait_for("views.open")
    metadata = opened[-1].args["view"]["private_metadata"]
    submitted = await app.submit("schedule_callback_modal", "U0ANA", _values(due, tell=tell), metadata)
    assert submitted.status_code == 200 and "errors" not in submitted.text


async def _outbound(db: Database) -> list[Message]:
    return list(await db.query(select(Message).where(Message.direction == "out").order_by(Message.id)))


async def test_a_caller_who_leaves_a_message_is_told_by_sms_in_their_language(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_confirm_calls.yaml") as app:
        await app.call(JUAN, "Soy Juan Pérez, quería hablar de la obra")
        [sms] = await twilio_rest.wait_for("sms")
        assert (sms.form["To"], sms.form["From"], sms.form["Body"]) == (JUAN, CLINIC_NUMBER, TAKEN_ES)
        assert sms.form["StatusCallback"].startswith(f"{app.url}/twilio/messaging/status?message=")

        await app.call(SARAH, "Hi, this is Sarah Jones, about my appointment")
        english = (await twilio_rest.wait_for("sms", 2))[1]
        assert (english.form["To"], english.form["Body"]) == (SARAH, TAKEN_EN)

        missed = await app.call("+34600333444", None)
        await eventually(lambda: _cards(db, 3))
        await outbox_settled(db)
        assert len(twilio_rest.of("sms")) == 2, "a missed call left no message"
        left = {"CallSid": missed, "From": "+34600333444", "To": CLINIC_NUMBER, "RecordingUrl": RECORDING}
        assert (await app.twilio_post("/twilio/voice/recording", left)).status_code == 204
        late = (await twilio_rest.wait_for("sms", 3))[2]
        assert (late.form["To"], late.form["Body"]) == ("+34600333444", TAKEN_ES)

        again = {"CallSid": missed, "From": "+34600333444", "To": CLINIC_NUMBER, "RecordingUrl": RECORDING}
        assert (await app.twilio_post("/twilio/voice/recording", again)).status_code == 204
        await outbox_settled(db)
        assert len(twilio_rest.of("sms")) == 3, "a recording reported again is not told again"
        sent = await _outbound(db)
        assert [(m.customer, m.channel, m.sent_by) for m in sent] == [
            (JUAN, "sms", "system"),
            (SARAH, "sms", "system"),
            ("+34600333444", "sms", "system"),
        ]


async def test_a_callback_for_a_customer_who_wrote_on_whatsapp_is_confirmed_there(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_confirm_calls.yaml") as app:
        await _write(app, "Hola, ¿me pueden llamar para una cita?")
        [taken] = await twilio_rest.wait_for("sms")
        assert (taken.form["To"], taken.form["Body"]) == (WHATSAPP_FROM, TAKEN_ES)
        [card] = await eventually(db.cards)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")

        await _schedule(app, slack, card.id, clock.now() + timedelta(hours=1), tell=False)
        told = (await twilio_rest.wait_for("sms", 2))[1]
        assert (told.form["To"], told.form["From"], told.form["Body"]) == (
            WHATSAPP_FROM,
            f"whatsapp:{CLINIC_NUMBER}",
            "Clínica Dental Sonrisa: le llamaremos el martes 24 a las 11:00.",
        )
        assert "ContentSid" not in told.form, "inside the 24-hour window: free text"


async def test_a_caller_who_opted_out_is_told_nothing(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_confirm_calls.yaml") as app:
        await _write(app, "STOP", sender=JUAN)
        await app.call(JUAN, "Soy Juan Pérez, quería hablar de la obra")
        [card] = await eventually(db.cards)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        await _schedule(app, slack, card.id, clock.now() + timedelta(hours=1), tell=True)
        await eventually(lambda: _audited(db, "callback_scheduled"))
        await outbox_settled(db)
        assert twilio_rest.of("sms") == [] and await _outbound(db) == []


async def test_callers_told_on_whatsapp_get_the_approved_template(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_confirm_whatsapp.yaml") as app:
        await app.call(JUAN, "Soy Juan Pérez, quería hablar de la obra")
        [sent] = await twilio_rest.wait_for("sms")
        assert (sent.form["To"], sent.form["From"]) == (f"whatsapp:{JUAN}", f"whatsapp:{CLINIC_NUMBER}")
        assert sent.form["ContentSid"] == "HX" + "c" * 32
        assert json.loads(sent.form["ContentVariables"]) == {"1": TAKEN_ES}
        [message] = await _outbound(db)
        assert (message.channel, message.template, message.body) == ("whatsapp", True, TAKEN_ES)


async def test_a_call_replayed_is_confirmed_once(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_confirm_calls.yaml") as app:
        sid = new_call_sid()
        for _ in range(2):  # Twilio sends the same webhooks again
            await app.call(JUAN, "Soy Juan Pérez, quería hablar de la obra", sid=sid)
        await twilio_rest.wait_for("sms")
        await outbox_settled(db)
        assert len(twilio_rest.of("sms")) == 1


def test_whatsapp_for_callers_needs_a_template_and_true_is_short_for_message_taken(tmp_path: Path) -> None:
    issues = issues_of(write(tmp_path, MINIMAL + "messaging: {confirm: {calls_via: whatsapp}}\n"))
    assert "needs a template" in issues["messaging.confirm.template"]

    config = load_config(write(tmp_path, MINIMAL + "messaging: {confirm: true}\n"))
    assert (config.messaging.confirm.message_taken, config.messaging.confirm.callback_scheduled) == (
        True,
        False,
    )
    assert config.messaging.confirm.calls_via == "sms"


async def _cards(db: Database, count: int) -> bool:
    return len(await db.cards()) >= count


async def _audited(db: Database, kind: str) -> bool:
    return bool(await db.audit(kind))
