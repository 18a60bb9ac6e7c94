"""Customers write by WhatsApp or SMS: a card; staff reply from it, explicitly, inside WhatsApp's
24-hour window (or with the approved template outside it); Twilio's delivery status shows on the card;
STOP is honoured."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import select

from adapters.slack.parse import modal_context
from bot.store.models import Card, CardPost, Conversation, Message
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilio, TwilioRequest
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, eventually, outbox_settled

CUSTOMER = "+34600111222"
WHATSAPP_FROM = f"whatsapp:{CUSTOMER}"


def _app(db: Database, clock: FakeClock, slack: FakeSlack, twilio: FakeTwilio, config: str) -> Centralita:
    return Centralita(
        db,
        clock,
        slack.url,
        config=config,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_API_BASE_URL=twilio.url,
    )


def _message(
    body: str, *, sender: str = WHATSAPP_FROM, sid: str | None = None, **extra: str
) -> dict[str, str]:
    to = f"whatsapp:{CLINIC_NUMBER}" if sender.startswith("whatsapp:") else CLINIC_NUMBER
    form = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "María",
        "WaId": sender.removeprefix("whatsapp:+"),
    }
    return form | extra


async def _write(app: Centralita, body: str, **kwargs: Any) -> dict[str, str]:
    form = _message(body, **kwargs)
    answer = await app.twilio_post("/twilio/messaging", form)
    assert answer.status_code == 200, answer.text
    assert answer.text.endswith("<Response/>")
    return form


async def _reply(app: Centralita, card_id: int, text: str, user: str = "U0ANA") -> None:
    values = {"note": {"note": {"type": "plain_text_input", "value": text}}}
    answer = await app.submit("reply_customer_modal", user, values, modal_context(card_id, "C0RECEP"))
    assert answer.status_code == 200, answer.text


async def _status(app: Centralita, sent: TwilioRequest, status: str, code: str | None = None) -> int:
    callback = urlsplit(sent.form["StatusCallback"])
    form = {"MessageSid": sent.sid or "", "MessageStatus": status, "AccountSid": ACCOUNT_SID}
    if code:
        form["ErrorCode"] = code
    answer = await app.twilio_post(f"{callback.path}?{callback.query}", form)
    return answer.status_code


def _text(call: Any) -> str:
    return json.dumps(call.args.get("blocks") or call.args.get("text"), ensure_ascii=False)


async def _only_card(db: Database) -> Card:
    [card] = await db.cards()
    return card


async def test_a_whatsapp_message_becomes_a_card_and_a_second_one_joins_it(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        photo = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        await _write(
            app,
            "Hola, quería pedir presupuesto para un implante",
            NumMedia="1",
            MediaUrl0=photo,
            MediaContentType0="image/jpeg",
        )
        [post] = await slack.wait_for("chat.postMessage", channel="C0VENTAS")
        shown = _text(post)
        assert "WhatsApp" in shown and "presupuesto para un implante" in shown and photo in shown
        assert "puede responder hasta el 25/11 a las 10:00" in shown and "reply_customer" in shown
        card = await _only_card(db)
        assert (card.source, card.category, card.caller_number, card.caller_name) == (
            "whatsapp",
            "lead",
            CUSTOMER,
            "María",
        )

        clock.advance(timedelta(hours=3))
        await _write(app, "¿Tienen cita el jueves?")
        await slack.wait_for(
            "chat.postMessage", thread_ts=await _ts(db), text="El cliente escribe: «¿Tienen cita el jueves?»"
        )
        await eventually(lambda: _shown(slack, "puede responder hasta el 25/11 a las 13:00"))
        card = await _only_card(db)
        assert card.last_inbound_at == clock.now() and len(await db.query(select(Message))) == 2


async def test_a_replayed_message_sid_changes_nothing_and_an_unsigned_one_is_refused(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        form = await _write(app, "Hola, ¿abren el sábado?")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        before = await db.outbox()
        again = await app.twilio_post("/twilio/messaging", form)
        assert again.status_code == 200
        assert len(await db.cards()) == 1 and len(await db.outbox()) == len(before)
        assert await db.count("message") == 1

        other = _message("Hola, soy otro")
        assert (await app.twilio_post("/twilio/messaging", other, sign=False)).status_code == 403
        assert (await app.twilio_post("/twilio/messaging", other, signature="Zm9yZ2Vk")).status_code == 403
        assert await db.count("message") == 1 and await db.count("conversation") == 1
        assert len(await db.cards()) == 1


async def test_an_sms_reply_goes_from_the_card_once_and_its_status_shows(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        await _write(app, "Hola, ¿abren el sábado?", sender=CUSTOMER)
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "SMS" in _text(post) and "puede responder" not in _text(post)
        card = await _only_card(db)

        await _reply(app, card.id, "Sí, de 10 a 13 h.")
        [sent] = await twilio_rest.wait_for("sms")
        assert (sent.form["To"], sent.form["From"], sent.form["Body"]) == (
            CUSTOMER,
            CLINIC_NUMBER,
            "Sí, de 10 a 13 h.",
        )
        assert sent.form["StatusCallback"].startswith(f"{app.url}/twilio/messaging/status?message=")
        line = "Ana García ha respondido al cliente por SMS: «Sí, de 10 a 13 h.»"
        await slack.wait_for("chat.postMessage", thread_ts=await _ts(db), text=line)

        assert await _status(app, sent, "sent") == 204
        assert await _status(app, sent, "delivered") == 204
        assert await _status(app, sent, "sent") == 204  # late and out of order: changes nothing
        await slack.wait_for(
            "chat.postMessage", thread_ts=await _ts(db), text="Respuesta entregada al cliente."
        )
        card = await _only_card(db)
        assert (card.reply_status, card.reply_error) == ("delivered", None)
        await eventually(lambda: _shown(slack, "Última respuesta*\\nentregada"))
        assert len(twilio_rest.of("sms")) == 1
        [message] = await db.query(select(Message).where(Message.direction == "out"))
        assert (message.sid, message.status, message.sent_by) == (sent.sid, "delivered", "ana")


async def test_a_whatsapp_reply_inside_the_window_is_free_text_and_outside_it_the_template(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_messaging.yaml") as app:
        await _write(app, "Hola, ¿tienen cita mañana?")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)

        clock.advance(timedelta(hours=21))
        await _reply(app, card.id, "Sí, a las 10.")
        [inside] = await twilio_rest.wait_for("sms")
        assert (inside.form["To"], inside.form["From"]) == (WHATSAPP_FROM, f"whatsapp:{CLINIC_NUMBER}")
        assert inside.form["Body"] == "Sí, a las 10." and "ContentSid" not in inside.form
        await eventually(lambda: _shown(slack, "puede responder hasta el 25/11 a las 10:00"))

        clock.advance(timedelta(hours=4))
        await _reply(app, card.id, "¿Le viene bien?")
        [_, outside] = await twilio_rest.wait_for("sms", 2)
        assert (
            outside.form["ContentSid"] == "HX0123456789abcdef0123456789abcdef" and "Body" not in outside.form
        )
        assert json.loads(outside.form["ContentVariables"]) == {
            "1": "Clínica Dental Sonrisa",
            "2": "¿Le viene bien?",
        }
        await slack.wait_for(
            "chat.postMessage",
            text="Ana García ha respondido al cliente por WhatsApp con la plantilla aprobada (ventana de 24 h cerrada): «¿Le viene bien?»",
        )

        assert await _status(app, outside, "failed", "63016") == 204
        await eventually(lambda: _shown(slack, "la ventana de 24 h de WhatsApp está cerrada"))
        await slack.wait_for(
            "chat.postMessage",
            text="La respuesta no se ha enviado: la ventana de 24 h de WhatsApp está cerrada.",
        )


async def test_outside_the_window_with_no_template_a_reply_is_refused_and_nothing_is_sent(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        await _write(app, "Hola, ¿tienen cita mañana?")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)
        clock.advance(timedelta(hours=25))
        await _reply(app, card.id, "Sí, a las 10.")
        [refusal] = await slack.wait_for("chat.postEphemeral", user="U0ANA")
        assert "más de 24 h" in refusal.args["text"]
        assert twilio_rest.requests == [] and await db.audit("replied") == []
        assert [row for row in await db.outbox() if row.kind == "customer"] == []
        assert (await _only_card(db)).reply_status is None


async def test_stop_and_the_configured_word_unsubscribe_and_nothing_more_is_sent(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_messaging.yaml") as app:
        await _write(app, "Hola, quería información")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        await _write(app, "BAJA")
        await slack.wait_for(
            "chat.postMessage",
            thread_ts=await _ts(db),
            text="El cliente se ha dado de baja («BAJA»): no se le enviará nada más.",
        )
        [update] = await slack.wait_for("chat.update")
        assert "se ha dado de baja" in _text(update) and "reply_customer" not in _text(update)
        card = await _only_card(db)
        assert card.opted_out
        [conversation] = await db.query(select(Conversation))
        assert conversation.opted_out_at is not None

        await _reply(app, card.id, "¿Seguro?")
        [refusal] = await slack.wait_for("chat.postEphemeral", user="U0ANA")
        assert "se ha dado de baja" in refusal.args["text"]
        assert twilio_rest.requests == []

        await _write(app, "STOP", sender="+34600333444")  # a new customer's STOP opens no card
        assert len(await db.cards()) == 1
        stopped = await db.query(select(Conversation).where(Conversation.customer == "+34600333444"))
        assert stopped[0].opted_out_at is not None

        await _write(
            app, "Perdón, sí quería algo", sender="+34600333444"
        )  # still opted out: no reply offered
        [_, second] = await slack.wait_for("chat.postMessage", 2, channel="C0RECEP")
        assert "se ha dado de baja" in _text(second) and "reply_customer" not in _text(second)
        await _write(app, "ALTA", sender="+34600333444")
        stopped = await db.query(select(Conversation).where(Conversation.customer == "+34600333444"))
        assert stopped[0].opted_out_at is None


async def test_twilio_refusing_an_unsubscribed_number_says_so_on_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        await _write(app, "Hola", sender=CUSTOMER)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)
        twilio_rest.fail("sms", 400, code=21610)
        await _reply(app, card.id, "Buenos días")
        await twilio_rest.wait_for("sms-refused")
        await eventually(lambda: _shown(slack, "el cliente se ha dado de baja (STOP)"))
        card = await _only_card(db)
        assert (card.reply_status, card.reply_error, card.opted_out) == ("failed", "21610", True)
        assert len(twilio_rest.requests) == 1  # refused once, never retried


async def _ts(db: Database) -> str:
    """The ts of the card's post in Slack, once posted."""

    async def ref() -> str | None:
        rows = await db.query(select(CardPost))
        return rows[0].external_ref.partition(":")[2] if rows and rows[0].external_ref else None

    found: str = await eventually(ref)
    return found


async def _shown(slack: FakeSlack, text: str) -> bool:
    return any(text in _text(call) for call in slack.of("chat.update"))


async def test_staff_claim_from_their_phone_and_a_second_one_is_told_who_has_it(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_messaging.yaml") as app:
        await _write(app, "Es urgente, me duele mucho la muela")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)
        assert card.priority == "urgent"

        clock.advance(timedelta(minutes=2, seconds=1))
        [to_luis] = await twilio_rest.wait_for("sms")
        assert (to_luis.form["To"], to_luis.form["From"]) == (
            "whatsapp:+34600000002",
            f"whatsapp:{CLINIC_NUMBER}",
        )
        assert (
            to_luis.form["ContentSid"] == "HXfedcba9876543210fedcba9876543210" and "Body" not in to_luis.form
        )
        assert "Tarjeta sin reclamar" in json.loads(to_luis.form["ContentVariables"])["1"]
        clock.advance(timedelta(minutes=3))
        [_, to_ana] = await twilio_rest.wait_for("sms", 2)
        assert (to_ana.form["To"], to_ana.form["From"]) == ("+34600000001", CLINIC_NUMBER)
        assert to_ana.form["Body"].endswith("Responda: 1 = Reclamar")  # SMS: the codes
        await eventually(lambda: _sent_to(db, 2))

        await _write(
            app, "Reclamar", sender="whatsapp:+34600000002", ButtonText="Reclamar", ButtonPayload="claim"
        )
        await slack.wait_for("chat.postMessage", text="Luis Martín ha reclamado la tarjeta.")
        card = await _only_card(db)
        assert (card.status, card.claimed_by) == ("claimed", "luis")
        [*_, done] = await twilio_rest.wait_for("sms", 3)
        assert done.form["To"] == "whatsapp:+34600000002" and done.form["Body"].startswith(
            "Hecho: la tarjeta es suya"
        )

        await _write(app, "1", sender="+34600000001")
        [*_, refused] = await twilio_rest.wait_for("sms", 4)
        assert (refused.form["To"], refused.form["Body"]) == (
            "+34600000001",
            "Ya la ha reclamado Luis Martín.",
        )
        assert (await _only_card(db)).claimed_by == "luis"
        assert len(await db.cards()) == 1  # staff answers open no card


async def _sent_to(db: Database, count: int) -> bool:
    rows = [r for r in await db.outbox() if r.channel in ("whatsapp", "sms") and r.status == "sent"]
    return len(rows) >= count


async def test_a_message_is_stored_clean_and_media_of_any_type_is_kept_as_a_link(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic.yaml") as app:
        odd = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME2"
        await _write(
            app, "Hola\x00, ¿abren?", NumMedia="1", MediaUrl0=odd, MediaContentType0="application/x-unknown"
        )
        [post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "Hola, ¿abren?" in _text(post) and odd in _text(post)
        card = await _only_card(db)
        assert (card.summary, card.media) == ("Hola, ¿abren?", [odd])
        assert twilio_rest.requests == []  # nothing fetched, nothing sent


async def test_a_customer_is_told_their_message_was_received_unless_they_opted_out(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_confirm.yaml") as app:
        await _write(app, "Hola, ¿abren el sábado?")
        [told] = await twilio_rest.wait_for("sms")
        assert (told.form["To"], told.form["From"]) == (WHATSAPP_FROM, f"whatsapp:{CLINIC_NUMBER}")
        assert told.form["Body"] == (
            "Clínica Dental Sonrisa: hemos recibido su mensaje y le responderemos lo antes posible."
        )
        await _write(app, "Otra cosa más")  # joins the card: told once
        await _write(app, "STOP", sender="+34600555666")
        await _write(app, "Hola", sender="+34600555666")  # opted out: a card, and no message
        await eventually(lambda: _cards(db, 2))
        await outbox_settled(db)
        assert len(twilio_rest.of("sms")) == 1


async def _cards(db: Database, count: int) -> bool:
    return len(await db.cards()) >= count


async def test_without_twilio_rest_a_reply_fails_once_and_the_card_says_why(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:  # no TWILIO_ACCOUNT_SID
        await _write(app, "Hola", sender=CUSTOMER)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)
        await _reply(app, card.id, "Buenos días")
        await eventually(lambda: _shown(slack, "Twilio no está configurado"))
        [row] = [r for r in await outbox_settled(db) if r.kind == "customer"]
        assert (row.status, row.attempts) == ("dead", 1)


async def test_a_callback_reminder_reaches_the_assignee_by_sms_and_their_answer_closes_the_card(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_messaging.yaml") as app:
        await _write(app, "Hola, llámenme por favor", sender=CUSTOMER)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        card = await _only_card(db)
        due = clock.now() + timedelta(hours=2)
        values = {
            "when": {"when": {"type": "datetimepicker", "selected_date_time": int(due.timestamp())}},
            "assignee": {"assignee": {"type": "users_select", "selected_user": "U0ANA"}},
            "note": {"note": {"type": "plain_text_input", "value": "Confirmar la cita"}},
        }
        metadata = modal_context(card.id, "C0RECEP")
        assert (await app.submit("schedule_callback_modal", "U0LUIS", values, metadata)).status_code == 200
        await eventually(lambda: _status_is(db, "callback"))

        clock.advance(timedelta(hours=2, seconds=1))
        [reminder] = await twilio_rest.wait_for("sms")
        assert (
            reminder.form["To"] == "+34600000001"
            and "Es hora de devolver la llamada" in reminder.form["Body"]
        )
        assert reminder.form["Body"].endswith("Responda: 2 = Llamar ahora · 3 = Hecho")
        await eventually(lambda: _sent_to(db, 1))

        await _write(app, "3", sender="+34600000001")
        await eventually(lambda: _status_is(db, "resolved"))
        card = await _only_card(db)
        assert (card.outcome, card.resolved_by) == ("called_back", "ana")


async def _status_is(db: Database, status: str) -> bool:
    return (await _only_card(db)).status == status
